//go:build !js

package bench

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"median odd", []float64{3, 1, 2}, 0.5, 2},
		{"median even", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"p99 interpolates", []float64{0, 100}, 0.99, 99},
		{"min", []float64{5, 4}, 0, 4},
		{"max", []float64{5, 4}, 1, 5},
		{"one value", []float64{7}, 0.99, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, quantile(tt.xs, tt.q), 1e-9)
		})
	}
	assert.True(t, math.IsNaN(median(nil)))
	in := []float64{3, 1, 2}
	median(in)
	assert.Equal(t, []float64{3, 1, 2}, in, "quantile must not sort its input")
}

func TestRatio(t *testing.T) {
	assert.InDelta(t, 1.5, ratio(3, 2), 1e-9)
	assert.True(t, math.IsNaN(ratio(0, 2)))
	assert.True(t, math.IsNaN(ratio(2, math.NaN())))
	assert.Equal(t, "1.50×", times(3, 2))
	assert.Equal(t, "-", times(3, 0))
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Quick().validate())
	require.NoError(t, Full().validate())
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no versions", func(c *Config) { c.Versions = nil }},
		{"unknown version", func(c *Config) { c.Versions = []int{2} }},
		{"no burst", func(c *Config) { c.BurstEvents = 0 }},
		{"no rate", func(c *Config) { c.SteadyRate = 0 }},
		{"no cold rounds", func(c *Config) { c.ColdRounds = 0 }},
		{"no memory events", func(c *Config) { c.MemoryEvents = 1 }},
		{"unknown workload", func(c *Config) { c.Workloads = []string{"stream"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Quick()
			tt.edit(&cfg)
			assert.Error(t, cfg.validate())
		})
	}
}

func TestHandler(t *testing.T) {
	jsDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(jsDir, "b24pull.wasm"), []byte("\x00asm"), 0o644))
	variantDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(variantDir, "b24pull.js"), []byte("// variant"), 0o644))
	webDir := t.TempDir()
	sdk := filepath.Join(webDir, "node_modules", "@bitrix24", "b24jssdk", "dist", "umd")
	require.NoError(t, os.MkdirAll(sdk, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sdk, "index.min.js"), []byte("var B24Js={}"), 0o644))
	h := newHandler(jsDir, webDir)
	h.variantDir = variantDir
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		path, status, ctype, body string
	}{
		{"/bench/bench.html", "200", "text/html", "harness.js"},
		{"/bench/harness.js", "200", "text/javascript", "window.bench"},
		{"/bench/raw.js", "200", "text/javascript", "class RawClient"},
		{"/b24pull/b24pull.wasm", "200", "application/wasm", "\x00asm"},
		{"/b24pull-variant/b24pull.js", "200", "text/javascript", "// variant"},
		{webdeps.SDKBundleURL, "200", "text/javascript", "B24Js"},
		{"/bench/../go.mod", "404", "", ""},
		{"/b24pull/missing.js", "404", "", ""},
		{"/rest/pull.application.config.get.json", "404", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, strings.Fields(resp.Status)[0])
			if tt.status == "200" {
				assert.Contains(t, resp.Header.Get("Content-Type"), tt.ctype)
				assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
				assert.Contains(t, string(body), tt.body)
			}
		})
	}
	data, ok := h.fileFor("/b24pull/b24pull.wasm", webDir)
	assert.True(t, ok)
	assert.Equal(t, []byte("\x00asm"), data)
	_, ok = h.fileFor("/rest/x.json", webDir)
	assert.False(t, ok)
}

func TestSizeOf(t *testing.T) {
	jsDir := t.TempDir()
	payload := bytes.Repeat([]byte("b24pull "), 4096)
	require.NoError(t, os.WriteFile(filepath.Join(jsDir, "b24pull.wasm"), payload, 0o644))
	r := &runner{h: newHandler(jsDir, t.TempDir())}
	s, err := r.sizeOf(B24Pull, []string{"/b24pull/b24pull.wasm", "/b24pull/b24pull.wasm", "/rest/x.json"})
	require.NoError(t, err)
	require.Len(t, s.Files, 1, "duplicates and unknown paths are dropped")
	assert.Equal(t, int64(len(payload)), s.Raw)
	assert.Positive(t, s.Gzip)
	assert.Less(t, s.Gzip, s.Raw)
	assert.LessOrEqual(t, s.Brotli, s.Gzip, "brotli is 0 when missing, else smaller than gzip here")
}

func TestWriteTable(t *testing.T) {
	rep := &Report{
		Preset: "quick", Clients: Clients, Config: Quick().summary(),
		Burst: []BurstResult{
			{Version: 4, Client: Raw, Median: 9000, CPUMedian: 20},
			{Version: 4, Client: Official, Median: 6000, CPUMedian: 40},
			{Version: 4, Client: B24Pull, Median: 3000, CPUMedian: 80},
		},
		Steady: []SteadyResult{{Version: 4, Client: Official, P99: 4}, {Version: 4, Client: B24Pull, P99: 2}},
		Cold:   []ColdResult{{Client: Official, Median: 100}, {Client: B24Pull, Median: 150}},
		Size:   []SizeResult{{Client: B24Pull, Raw: 10, Gzip: 5, Brotli: 4, Files: []FileSize{{Path: "b24pull.wasm", Raw: 10}}}},
		Memory: []MemoryResult{{Client: B24Pull, HeapBase: 100, HeapHalf: 300, HeapFull: 300, WasmHalf: 1000, WasmFull: 1000}},
	}
	var buf bytes.Buffer
	rep.WriteTable(&buf)
	out := buf.String()
	for _, want := range []string{"protobuf (v4)", "0.50×", "0.33×", "0.50×", "0.25×", "1.50×", "b24pull.wasm", "+0"} {
		assert.Contains(t, out, want)
	}
}

//go:build !js

package webdeps

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
)

// fakeWeb lays out a small e2e/web tree in a temp dir.
func fakeWeb(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"node_modules/pkg/index.mjs":      "export const x = 1;",
		"node_modules/pkg/index.js":       "module.exports = 1;",
		"node_modules/pkg/index.js.map":   "{}",
		"node_modules/pkg/data.wasm":      "\x00asm",
		"node_modules/pkg/sub/readme.txt": "text",
		"pages/page.html":                 "<head>" + ImportMapMarker + "</head>",
		"pages/plain.css":                 "body{}",
		"secret.txt":                      "outside",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestHandler(t *testing.T) {
	h := NewHandlerAt(fakeWeb(t))
	tests := []struct {
		name, method, path string
		status             int
		ctype              string
		body               string
	}{
		{"esm", "GET", "/node_modules/pkg/index.mjs", 200, "text/javascript; charset=utf-8", "export const x = 1;"},
		{"js", "GET", "/node_modules/pkg/index.js", 200, "text/javascript; charset=utf-8", ""},
		{"map", "GET", "/node_modules/pkg/index.js.map", 200, "application/json", "{}"},
		{"wasm", "GET", "/node_modules/pkg/data.wasm", 200, "application/wasm", ""},
		{"head", "HEAD", "/node_modules/pkg/index.mjs", 200, "text/javascript; charset=utf-8", ""},
		{"css page", "GET", "/pages/plain.css", 200, "text/css; charset=utf-8", "body{}"},
		{"page gets import map", "GET", "/pages/page.html", 200, "text/html; charset=utf-8", `<script type="importmap">`},
		{"directory", "GET", "/node_modules/pkg/", 404, "", ""},
		{"directory no slash", "GET", "/node_modules/pkg", 404, "", ""},
		{"missing", "GET", "/node_modules/pkg/nope.js", 404, "", ""},
		{"traversal", "GET", "/node_modules/../secret.txt", 404, "", ""},
		{"encoded traversal", "GET", "/pages/%2e%2e/secret.txt", 404, "", ""},
		{"other prefix", "GET", "/secret.txt", 404, "", ""},
		{"post", "POST", "/node_modules/pkg/index.mjs", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
			if strings.Contains(tt.path, "%2e") {
				req.URL.Path = "/pages/../secret.txt"
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.status, rec.Code)
			if tt.ctype != "" {
				assert.Equal(t, tt.ctype, rec.Header().Get("Content-Type"))
				assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			}
			if tt.body != "" {
				assert.Contains(t, rec.Body.String(), tt.body)
			}
			assert.NotContains(t, rec.Body.String(), "outside")
		})
	}
}

func TestImportMap(t *testing.T) {
	s := ImportMapScript()
	require.True(t, strings.HasPrefix(s, `<script type="importmap">`))
	var m struct {
		Imports map[string]string `json:"imports"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(s, `<script type="importmap">`), `</script>`)), &m))
	for _, spec := range []string{SDKModule, "axios", "luxon", "qs-esm"} {
		assert.True(t, strings.HasPrefix(m.Imports[spec], NodeModulesPrefix), spec)
	}
	cp := ImportMap()
	cp["axios"] = "changed"
	assert.NotEqual(t, "changed", ImportMap()["axios"], "ImportMap must return a copy")
}

func TestContentType(t *testing.T) {
	assert.Equal(t, "text/javascript; charset=utf-8", ContentType("a.MJS"))
	assert.Equal(t, "application/octet-stream", ContentType("noext"))
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	web, err := WebDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "e2e", "web"), web)

	t.Chdir(t.TempDir())
	_, err = RepoRoot()
	require.ErrorIs(t, err, ErrNoRepoRoot)
	require.Error(t, Check())
}

func TestCheckMissing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644))
	t.Chdir(dir)
	err := Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "npm ci --prefix e2e/web")
}

// TestSDKLoadsInChromium loads the pinned SDK from the real node_modules both
// as ES modules through the import map and as the UMD bundle.
func TestSDKLoadsInChromium(t *testing.T) {
	Require(t)
	browser.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	h, err := NewHandler()
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL + SDKBundleURL)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	p, err := b.NewPage(ctx, srv.URL+PagesPrefix+"sdk-smoke.html")
	require.NoError(t, err)
	require.NoError(t, p.WaitFor(ctx, `window.__smoke !== undefined`, 20*time.Second))
	var got struct {
		ESM    bool   `json:"esm"`
		Online string `json:"esmStatusOnline"`
		UMD    bool   `json:"umd"`
	}
	require.NoError(t, p.Eval(ctx, `window.__smoke`, &got))
	assert.True(t, got.ESM, "ESM import of %s through the import map", SDKModule)
	assert.Equal(t, "online", got.Online)
	assert.True(t, got.UMD, "UMD bundle defines B24Js.B24PullClientManager")
	assert.Empty(t, p.Exceptions())
}

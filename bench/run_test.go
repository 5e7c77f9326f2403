//go:build !js

package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunSmall runs every workload once, tiny, against the three clients in Chromium: the page,
// the clients and the driver fit together, every event arrives exactly once, and the report holds a
// sane number in every cell. It needs Chromium, the pinned npm packages and js/ built
// (scripts/build-wasm.sh), as make test provides.
func TestRunSmall(t *testing.T) {
	browser.Require(t)
	webdeps.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := webdeps.RepoRoot()
	require.NoError(t, err)
	profiles := t.TempDir()
	cfg := Config{
		Preset:      "test",
		Versions:    []int{4, 5},
		Coalesce:    []time.Duration{0},
		BurstEvents: 300, WarmupEvents: 50, BurstRounds: 1,
		SteadyRate: 50, SteadyDuration: 400 * time.Millisecond,
		ColdRounds:   1,
		MemoryEvents: 200,
		// The current build once more as the variant: the same code under another URL.
		VariantDir: filepath.Join(root, "js"),
		ProfileDir: profiles,
		Logf:       t.Logf,
	}
	rep, err := Run(ctx, cfg)
	require.NoError(t, err)

	kinds := append(append([]string(nil), Clients...), Variant)
	assert.Equal(t, kinds, rep.Clients)
	require.Len(t, rep.Burst, 2*len(kinds))
	for _, b := range rep.Burst {
		assert.Positive(t, b.Median, "%s v%d rate", b.Client, b.Version)
		assert.Positive(t, b.CPUMedian, "%s v%d CPU per event", b.Client, b.Version)
	}
	for _, workload := range []string{"burst", "steady"} {
		profs, err := filepath.Glob(filepath.Join(profiles, workload+"-*.cpuprofile"))
		require.NoError(t, err)
		assert.Len(t, profs, 2*len(kinds), "one %s profile per client and mode", workload)
	}
	require.Len(t, rep.Steady, 2*len(kinds))
	for _, s := range rep.Steady {
		assert.Equal(t, 20, s.Events)
		assert.Positive(t, s.P50, "%s v%d p50", s.Client, s.Version)
		assert.Less(t, s.P50, 1000.0, "%s v%d p50", s.Client, s.Version)
		assert.LessOrEqual(t, s.P99, s.Max)
		assert.GreaterOrEqual(t, s.ClientP50, 0.0, "%s v%d time in the page", s.Client, s.Version)
		assert.Less(t, s.ClientP50, s.P50, "%s v%d: the page's share is part of the whole", s.Client, s.Version)
	}
	require.Len(t, rep.Cold, len(kinds))
	require.Len(t, rep.Size, len(kinds))
	for i, kind := range kinds {
		assert.Positive(t, rep.Cold[i].Median, kind)
		assert.Positive(t, rep.Size[i].Raw, kind)
		assert.Contains(t, rep.Cold[i].Phases, "online", kind)
	}
	assert.Contains(t, rep.Cold[2].Phases, "goReady", "b24pull's cold start shows the Go runtime's start")
	require.Len(t, rep.Memory, len(Clients))
	assert.Positive(t, rep.Memory[2].WasmFull, "b24pull's wasm memory")
	assert.Zero(t, rep.Memory[1].WasmFull, "the official client has no wasm")
	for _, off := range rep.ClockOffsets {
		assert.Less(t, off*off, 25.0, "page and driver read the same clock: offset %.2f ms", off)
	}
	var out bytes.Buffer
	rep.WriteTable(&out)
	assert.Contains(t, out.String(), "JSON-RPC (v5)")
}

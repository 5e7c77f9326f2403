//go:build !js

package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/standin"
)

// Leak test sizes and tolerances. The Go heap of the module grows in steps and never returns memory
// to the browser, so wasm memory may grow by a few heap steps between samples; a leak of one
// connection's worth per cycle (tens of kilobytes) would exceed relMemorySlack many times over. The
// live heap (what the last collection kept, about 0.3 MB here) is the finer measure: it is compared
// between the two halves of the start/stop cycles, so that the baseline comes after collections
// too. A sample may fall in the middle of a cycle and hold one running client; a leak of 512 bytes
// per cycle would still exceed relHeapSlack over the second half.
const (
	relStartStopCycles = 1000
	relClientCycles    = 100
	relWarmup          = 20
	relMemorySlack     = 8 << 20
	relHeapSlack       = 256 << 10
	relTimerSlack      = 2 // the Go scheduler's own wake-up timer may be pending at a sample
)

// TestReliabilityNoLeaks runs 1,000 start()/stop() cycles on one client and 100
// createPullClient()/start()/destroy() cycles in the same page, and checks that nothing grows:
// goroutines (the client's and the program's), live js.Funcs, pending JavaScript timers, the
// client's timers, listeners on window/document/navigator, the Go heap left live by a collection, and
// wasm memory beyond a fixed slack.
func TestReliabilityNoLeaks(t *testing.T) {
	b := relBrowser(t, false)
	r := relStart(t, b, relOptions{
		standin: standin.Options{Version: 4},
		client:  map[string]any{"debug": false},
	})
	opts := relJSON(t, map[string]any{"token": r.token, "timing": relTiming})

	// Warm up: the first cycles load the module and grow the heap to its working size.
	var res struct {
		Done  int        `json:"done"`
		Error *relResult `json:"error"`
	}
	r.eval(t, `soak.cycles(`+strconv.Itoa(relWarmup)+`)`, &res)
	require.Equal(t, relWarmup, res.Done, "warm-up start/stop cycles failed: %+v", res.Error)
	r.eval(t, `soak.clients(`+strconv.Itoa(relWarmup/4)+`, `+opts+`)`, &res)
	require.Equal(t, relWarmup/4, res.Done, "warm-up client cycles failed: %+v", res.Error)
	before := relSettled(t, r)
	t.Logf("before: %+v", before)

	began := time.Now()
	r.eval(t, `soak.cycles(`+strconv.Itoa(relStartStopCycles/2)+`)`, &res)
	require.Equal(t, relStartStopCycles/2, res.Done, "start/stop cycles failed: %+v", res.Error)
	half := relSettled(t, r)
	t.Logf("after %d start/stop cycles (%v): %+v", relStartStopCycles/2, time.Since(began).Round(time.Millisecond), half)
	r.eval(t, `soak.cycles(`+strconv.Itoa(relStartStopCycles/2)+`)`, &res)
	require.Equal(t, relStartStopCycles/2, res.Done, "start/stop cycles failed: %+v", res.Error)
	mid := relSettled(t, r)
	t.Logf("after %d start/stop cycles (%v): %+v", relStartStopCycles, time.Since(began).Round(time.Millisecond), mid)

	began = time.Now()
	r.eval(t, `soak.clients(`+strconv.Itoa(relClientCycles)+`, `+opts+`)`, &res)
	require.Equal(t, relClientCycles, res.Done, "client cycles failed: %+v", res.Error)
	after := relSettled(t, r)
	t.Logf("after %d client cycles (%v): %+v", relClientCycles, time.Since(began).Round(time.Millisecond), after)

	for _, p := range []relProbe{mid, after} {
		assert.Zero(t, p.ClientGoroutines, "goroutines of the stopped client")
		assert.Zero(t, p.ClientTimers, "timers of the stopped client")
		assert.LessOrEqual(t, p.RuntimeGoroutines, before.RuntimeGoroutines, "goroutines of the Go program")
		assert.LessOrEqual(t, p.RuntimeJSFuncs, before.RuntimeJSFuncs, "live js.Funcs of the module")
		assert.LessOrEqual(t, p.JSFuncs, before.JSFuncs, "live js.Funcs reported by getStats()")
		assert.LessOrEqual(t, p.Timers, before.Timers+relTimerSlack, "pending JavaScript timers")
		assert.LessOrEqual(t, p.Listeners, before.Listeners, "listeners on window, document or navigator")
		assert.LessOrEqual(t, p.WasmMemory, before.WasmMemory+relMemorySlack, "wasm memory")
		assert.LessOrEqual(t, p.HeapLive, half.HeapLive+relHeapSlack, "Go heap live after a collection, against the first half's")
	}
	assert.Greater(t, half.GCCycles, before.GCCycles, "a collection ran during the first half: the baseline")
	assert.Greater(t, mid.GCCycles, half.GCCycles, "a collection ran during the second half")
	assert.Greater(t, after.GCCycles, mid.GCCycles, "a collection ran during the client cycles")
	assert.GreaterOrEqual(t, after.Sockets-before.Sockets, relStartStopCycles+relClientCycles,
		"every cycle opened a websocket: the cycles did connect")
	assert.Zero(t, r.srv.Stats().ConnectionsOpen, "connections left open on the push server")
	assert.Empty(t, r.page.Exceptions())
}

// relSettled samples the probe once the runtime has had a moment to let finished goroutines go: it
// takes the lowest goroutine count of a few samples 100 ms apart.
func relSettled(t *testing.T, r *relRun) relProbe {
	best := r.probe(t)
	for range 10 {
		timer := time.NewTimer(100 * time.Millisecond)
		<-timer.C
		p := r.probe(t)
		if p.RuntimeGoroutines < best.RuntimeGoroutines || p.Timers < best.Timers {
			best.RuntimeGoroutines = min(best.RuntimeGoroutines, p.RuntimeGoroutines)
			best.Timers = min(best.Timers, p.Timers)
		}
		best.WasmMemory, best.Sockets, best.Listeners = p.WasmMemory, p.Sockets, p.Listeners
		best.HeapLive, best.GCCycles = p.HeapLive, p.GCCycles
		best.RuntimeJSFuncs, best.JSFuncs = p.RuntimeJSFuncs, p.JSFuncs
		best.ClientGoroutines, best.ClientTimers = p.ClientGoroutines, p.ClientTimers
	}
	return best
}

//go:build !js

package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchRecorder keeps, for each OnEvents call, the params.n of the server events it carried.
type batchRecorder struct {
	mu    sync.Mutex
	calls [][]int
}

func (r *batchRecorder) onEvents(batch []byte) {
	var evs []struct {
		Type   string `json:"type"`
		Params struct {
			N int `json:"n"`
		} `json:"params"`
	}
	if err := json.Unmarshal(batch, &evs); err != nil {
		panic(fmt.Sprintf("OnEvents got invalid JSON: %v", err))
	}
	var ns []int
	for _, e := range evs {
		if e.Type == "server" {
			ns = append(ns, e.Params.N)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(ns) > 0 {
		r.calls = append(r.calls, ns)
	}
}

func (r *batchRecorder) snapshot() (calls int, ns []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		ns = append(ns, c...)
	}
	return len(r.calls), ns
}

// TestBackToBackFramesDeliveredTogether checks that a burst of frames (one message each) reaches
// OnEvents in fewer calls than frames, every event once and in order, and that a lone frame after a
// pause is delivered on its own.
func TestBackToBackFramesDeliveredTogether(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	rec := &batchRecorder{}
	c := client.New(client.Options{
		REST:     &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(1, false)},
		OnEvents: rec.onEvents,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() { _ = c.Destroy(context.Background()) })
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen == 1 }, 5*time.Second, 5*time.Millisecond)

	const n = 400
	for i := 0; i < n; i++ {
		require.NoError(t, srv.Publish([]int{1}, "application", "burst", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))))
	}
	require.Eventually(t, func() bool { _, ns := rec.snapshot(); return len(ns) == n }, 10*time.Second, 5*time.Millisecond)
	calls, ns := rec.snapshot()
	for i, v := range ns {
		require.Equal(t, i, v, "events in order, each once")
	}
	assert.Less(t, calls, n, "back-to-back frames share OnEvents calls")
	assert.Eventually(t, func() bool { return c.Stats().Messages == n }, 5*time.Second, time.Millisecond, "the counters catch up")
	assert.EqualValues(t, n, srv.Stats().Frames, "one frame per message")

	// After a pause longer than the batch window, a lone frame is delivered at once, on its own. The
	// window runs on the wall clock, so the pause is real time.
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, srv.Publish([]int{1}, "application", "lone", json.RawMessage(`{"n":400}`)))
	require.Eventually(t, func() bool { _, ns := rec.snapshot(); return len(ns) == n+1 }, 5*time.Second, time.Millisecond)
	rec.mu.Lock()
	last := rec.calls[len(rec.calls)-1]
	rec.mu.Unlock()
	assert.Equal(t, []int{n}, last)
}

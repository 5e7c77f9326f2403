//go:build !js

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// alignWithTick returns the time of the client's last config load, after
// waiting, if needed, until the rotation can happen confExpireAfter after it:
// from then on the channels the client holds end before its next tick, and
// the rotated ones after it. When that moment has passed by more than 15 s,
// it waits for the next tick's reload and aligns with that one.
func (r *confRun) alignWithTick(t *testing.T) time.Time {
	for range 3 {
		loaded := r.lastConfigLoad(t)
		at := loaded.Add(confExpireAfter)
		switch wait := time.Until(at); {
		case wait > 0:
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-r.ctx.Done():
				timer.Stop()
				require.NoError(t, r.ctx.Err())
			}
			return loaded
		case wait > -15*time.Second:
			return loaded
		default:
			n := r.configLoads(t)
			require.NoError(t, r.page.WaitFor(r.ctx, fmt.Sprintf(`window.conformance.configLoads() > %d`, n),
				time.Until(loaded.Add(confCheck))+confLive), "waiting for the config tick")
			r.waitOnline(t, confLive)
		}
	}
	require.FailNow(t, "could not align the rotation with the client's config tick")
	return time.Time{}
}

// publish sends one event with pull.application.event.add as an admin: to the
// user when toUser, else to the app's shared channel. It returns its number.
func (r *confRun) publish(t *testing.T, toUser bool) int {
	n := r.next
	r.next++
	params := map[string]any{
		"COMMAND": confCommand,
		"PARAMS":  map[string]any{"n": n, "step": t.Name(), "to_user": toUser},
	}
	if toUser {
		params["USER_ID"] = confUserID
	}
	var ok bool
	require.NoError(t, callREST(r.ctx, r.srv.PortalURL(), "pull.application.event.add", r.admin, params, &ok))
	require.True(t, ok, "pull.application.event.add result")
	return n
}

// waitFor waits until every event number in ns has been delivered.
func (r *confRun) waitFor(t *testing.T, timeout time.Duration, ns ...int) {
	list, err := json.Marshal(ns)
	require.NoError(t, err)
	expr := fmt.Sprintf(`%s.every(n => window.conformance.ns().includes(n))`, list)
	if err := r.page.WaitFor(r.ctx, expr, timeout); err != nil {
		require.NoError(t, err, "events %v not delivered; delivered: %v", ns, r.ns(t))
	}
}

func (r *confRun) waitOnline(t *testing.T, timeout time.Duration) {
	require.NoError(t, r.page.WaitFor(r.ctx,
		`window.__pull && window.__pull.isConnected() && window.__status.at(-1) === 'online'`, timeout),
		"the official client is not online")
}

func (r *confRun) state(t *testing.T) confState {
	var st confState
	require.NoError(t, r.page.Eval(r.ctx, `window.conformance.state()`, &st))
	return st
}

func (r *confRun) events(t *testing.T) []confEvent {
	var evs []confEvent
	require.NoError(t, r.page.Eval(r.ctx, `window.__events`, &evs))
	return evs
}

func (r *confRun) ns(t *testing.T) []int {
	var ns []int
	require.NoError(t, r.page.Eval(r.ctx, `window.conformance.ns()`, &ns))
	return ns
}

func (r *confRun) closes(t *testing.T, code int) int {
	var n int
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`window.conformance.closes(%d)`, code), &n))
	return n
}

func (r *confRun) configLoads(t *testing.T) int {
	var n int
	require.NoError(t, r.page.Eval(r.ctx, `window.conformance.configLoads()`, &n))
	return n
}

// lastConfigLoad is when the client's last successful config call answered.
func (r *confRun) lastConfigLoad(t *testing.T) time.Time {
	var ms int64
	require.NoError(t, r.page.Eval(r.ctx, `window.conformance.lastConfigLoad()`, &ms))
	require.Positive(t, ms, "no config load recorded")
	return time.UnixMilli(ms)
}

func count(ns []int, n int) int {
	c := 0
	for _, x := range ns {
		if x == n {
			c++
		}
	}
	return c
}

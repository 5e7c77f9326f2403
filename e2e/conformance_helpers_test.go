//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
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

// confCall is how one call of the official client settled, as
// window.conformance.call records it: Type is JavaScript's typeof of what it
// resolved with, Value a JSON copy (null for undefined).
type confCall struct {
	OK    bool            `json:"ok"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
	Error *confCallError  `json:"error"`
}

// confCallError is what a call rejected with: an Error (Kind "Error", Name,
// Message) or any other value as JSON (Kind its typeof).
type confCallError struct {
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
	Message string          `json:"message"`
	JSON    json.RawMessage `json:"json"`
}

// call runs window.__pull[method](...args) in the page.
func (r *confRun) call(t *testing.T, method string, args ...any) confCall {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	list, err := json.Marshal(args)
	require.NoError(t, err)
	return r.evalCall(t, fmt.Sprintf(`window.conformance.call(%q, %s)`, method, list))
}

// evalCall evaluates a window.conformance function that answers a confCall.
func (r *confRun) evalCall(t *testing.T, expr string) confCall {
	t.Helper()
	var c confCall
	require.NoError(t, r.page.Eval(r.ctx, expr, &c))
	return c
}

// clientEvents returns the client events the page recorded.
func (r *confRun) clientEvents(t *testing.T) []confEvent {
	var evs []confEvent
	require.NoError(t, r.page.Eval(r.ctx, `window.__clientEvents`, &evs))
	return evs
}

func (r *confRun) clientNs(t *testing.T) []int {
	var ns []int
	require.NoError(t, r.page.Eval(r.ctx, `window.conformance.clientNs()`, &ns))
	return ns
}

// clientEvent returns the client event numbered n, waiting for it up to
// timeout, then a further confSettle, so that a second copy would be there
// too.
func (r *confRun) clientEvent(t *testing.T, timeout time.Duration, n int) confEvent {
	t.Helper()
	expr := fmt.Sprintf(`window.conformance.clientNs().includes(%d)`, n)
	if err := r.page.WaitFor(r.ctx, expr, timeout); err != nil {
		require.NoError(t, err, "client event %d not delivered; delivered: %v", n, r.clientNs(t))
	}
	r.pause(t, confSettle)
	ns := r.clientNs(t)
	require.Equal(t, 1, count(ns, n), "client event %d delivered %d times (all: %v)", n, count(ns, n), ns)
	for _, ev := range r.clientEvents(t) {
		if v, ok := ev.Data.Params["n"].(float64); ok && int(v) == n {
			return ev
		}
	}
	require.FailNow(t, "client event not found", "n=%d", n)
	return confEvent{}
}

// sendClient publishes {n} as the official client with sendMessage to
// users. It returns the number and how the call settled.
func (r *confRun) sendClient(t *testing.T, users ...int) (int, confCall) {
	t.Helper()
	n := r.nextClient
	r.nextClient++
	if users == nil {
		users = []int{}
	}
	return n, r.call(t, "sendMessage", users, confModule, confClientCommand, map[string]any{"n": n})
}

// restCalls counts the client's successful REST calls of method.
func (r *confRun) restCalls(t *testing.T, method string) int {
	var n int
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`window.conformance.restCalls(%q)`, method), &n))
	return n
}

// statusCalls returns the user status callbacks the page recorded.
func (r *confRun) statusCalls(t *testing.T) []confStatus {
	var calls []confStatus
	require.NoError(t, r.page.Eval(r.ctx, `window.__userStatus`, &calls))
	return calls
}

// confStatus is one call of a user status callback.
type confStatus struct {
	UserID   any  `json:"userId"`
	IsOnline bool `json:"isOnline"`
}

// pause sleeps d, or fails the test when the run's context ends first.
func (r *confRun) pause(t *testing.T, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.ctx.Done():
		require.NoError(t, r.ctx.Err())
	}
}

// waitStats polls the stand-in's counters until cond holds, up to timeout.
func (r *confRun) waitStats(t *testing.T, timeout time.Duration, what string, cond func(standin.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(r.srv.Stats()) {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting for the stand-in", "%s (stats %+v)", what, r.srv.Stats())
		}
		r.pause(t, 20*time.Millisecond)
	}
}

// nativeConn is a websocket to the stand-in opened from Go with a user's
// config, as a second client of the portal would open it. Its messages are
// decoded in the framing of the config's version.
type nativeConn struct {
	ws   *websocket.Conn
	msgs chan protocol.Message
	done chan struct{}
}

// dialNative loads a config with method (pull.application.config.get or
// pull.config.get) and auth, opens its websocket and returns once the
// stand-in has subscribed it. The connection is closed at the end of the
// test unless closed before.
func (r *confRun) dialNative(t *testing.T, method, auth string) *nativeConn {
	t.Helper()
	var answer json.RawMessage
	require.NoError(t, callREST(r.ctx, r.srv.PortalURL(), method, auth, map[string]any{"CACHE": "N"}, &answer))
	cfg, err := protocol.ParseConfig(answer, time.Now())
	require.NoError(t, err)
	u, err := cfg.ConnectionURL(protocol.TransportWebSocket, false, protocol.Resume{})
	require.NoError(t, err)
	total := r.srv.Stats().ConnectionsTotal
	ctx, cancel := context.WithTimeout(r.ctx, confLive)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, nil)
	if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
		err = uerr.Err // the URL carries the channel ids or the JWT: keep it out of the report
	}
	require.NoError(t, err, "native websocket")
	ws.SetReadLimit(1 << 20)
	c := &nativeConn{ws: ws, msgs: make(chan protocol.Message, 64), done: make(chan struct{})}
	version := r.version
	go func() {
		defer close(c.done)
		for {
			_, data, err := ws.Read(r.ctx)
			if err != nil {
				return
			}
			var batch protocol.Batch
			switch version {
			case 5:
				batch = protocol.DecodeJSONRPC(data).Batch
			case 4:
				batch = protocol.DecodeProtobuf(data)
			default:
				batch = protocol.DecodeText(data)
			}
			for _, m := range batch.Messages {
				select {
				case c.msgs <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(c.close)
	r.waitStats(t, confLive, "the native connection subscribed", func(s standin.Stats) bool {
		return s.ConnectionsTotal > total
	})
	return c
}

// close closes the connection with 1000 and waits until its reader ended.
func (c *nativeConn) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// next returns the next message with command, skipping others, or fails
// after timeout.
func (c *nativeConn) next(t *testing.T, timeout time.Duration, command string) protocol.Message {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case m := <-c.msgs:
			if m.Command == command {
				return m
			}
		case <-c.done:
			require.FailNow(t, "the native connection ended", "waiting for %s", command)
		case <-timer.C:
			require.FailNow(t, "no message on the native connection", "waiting for %s", command)
		}
	}
}

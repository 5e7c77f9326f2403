package session

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A start whose config loads fail in a way a moment may mend keeps trying on the reconnect backoff,
// reporting connect and telling why, and goes online once a load succeeds.
func TestStartSurvivesTransientConfigFailures(t *testing.T) {
	failures := []error{
		&protocol.RESTError{Code: "INTERNAL_SERVER_ERROR", Status: 500},
		errors.New("the rest function threw: 502 Bad Gateway"),
		&protocol.RESTError{Code: "SOMETHING_NEW", Status: 503},
		&protocol.RESTError{Code: "UNKNOWN_BUT_5XX", Status: 500},
	}
	h := newHarness(t, Options{})
	requireAction[LoadConfig](t, h.rec(h.m.Start(h.now)))
	var waits []time.Duration
	for i, err := range failures {
		acts := h.rec(h.m.ConfigFailed(err, h.now))
		requireNo[StartDone](t, acts)
		evs := eventsOf(t, acts)
		require.Len(t, evs, 1, "failure %d", i)
		assert.Equal(t, "retry", evs[0]["type"])
		assert.Equal(t, errorCode(err), evs[0]["code"])
		assert.Equal(t, err.Error(), evs[0]["description"])
		assert.Equal(t, StatusConnect, h.m.Status(), "still connecting")
		waits = append(waits, h.deadline("reload").Sub(h.now))
		assert.InDelta(t, waits[i].Seconds(), evs[0]["retryIn"], 0.001)
		requireAction[LoadConfig](t, h.advanceTo("reload"))
	}
	tm := DefaultTiming()
	assert.Equal(t, []time.Duration{tm.Backoff[0], tm.Backoff[1], tm.Backoff[1], tm.Backoff[2]}, waits, "the reconnect backoff")
	c := requireAction[Connect](t, h.answer(defaultSpec()))
	acts := h.open(c.Gen)
	assert.NoError(t, requireAction[StartDone](t, acts).Err)
	assert.Equal(t, StatusOnline, h.m.Status())

	// The count starts again for the next start.
	h.m.Stop(h.now)
	h.m.Start(h.now)
	h.m.ConfigFailed(failures[0], h.now)
	assert.Equal(t, tm.Backoff[0], h.deadline("reload").Sub(h.now))
}

// Errors that retrying cannot mend end the start at once, with the error.
func TestStartFailsAtOnceOnLastingErrors(t *testing.T) {
	for _, err := range []error{
		&protocol.RESTError{Code: "WRONG_AUTH_TYPE", Status: 403},
		&protocol.RESTError{Code: "SERVER_ERROR", Status: 500},
		&protocol.RESTError{Code: "expired_token", Status: 401},
		&protocol.RESTError{Code: "ACCESS_DENIED", Status: 403},
		&protocol.RESTError{Code: "PORTAL_DELETED", Status: 500},
		&protocol.RESTError{Code: "SOMETHING_NEW", Status: 400},
		&protocol.ConfigError{Field: "server.version", Reason: "missing"},
	} {
		h := newHarness(t, Options{})
		h.m.Start(h.now)
		acts := h.m.ConfigFailed(err, h.now)
		done := requireAction[StartDone](t, acts)
		assert.ErrorIs(t, done.Err, err, "%v", err)
		assert.False(t, h.m.Running())
		assert.Equal(t, StatusOffline, h.m.Status())
	}
}

// A start that never gets a config ends at StartTimeout with the last load error, so the app sees
// the Bitrix code.
func TestStartTimeoutCarriesTheLastLoadError(t *testing.T) {
	tm := DefaultTiming()
	tm.StartTimeout = 20 * time.Second
	h := newHarness(t, Options{Timing: &tm})
	h.m.Start(h.now)
	last := &protocol.RESTError{Code: "INTERNAL_SERVER_ERROR", Status: 500}
	var done *StartDone
	for done == nil {
		acts := h.rec(h.m.ConfigFailed(last, h.now))
		if d, ok := find[StartDone](acts); ok {
			done = &d
			break
		}
		acts = h.advance(h.deadline("reload").Sub(h.now))
		if d, ok := find[StartDone](acts); ok {
			done = &d
		}
		require.Less(t, h.now.Sub(t0), time.Minute)
	}
	assert.ErrorIs(t, done.Err, ErrStartTimeout)
	rest, ok := protocol.AsRESTError(done.Err)
	require.True(t, ok, "%v", done.Err)
	assert.Equal(t, "INTERNAL_SERVER_ERROR", rest.Code)
	assert.False(t, h.m.Running())
}

// StartWith connects with the config it is given, without loading one.
func TestStartWithAConfig(t *testing.T) {
	h := newHarness(t, Options{})
	acts := h.rec(h.m.StartWith(h.config(defaultSpec()), h.now))
	requireNo[LoadConfig](t, acts)
	c := requireAction[Connect](t, acts)
	assert.Equal(t, StatusConnect, h.m.Status())
	assert.NoError(t, requireAction[StartDone](t, h.open(c.Gen)).Err)
	assert.NotZero(t, h.deadline("renew"), "renewal is planned from the given config")
	assert.Empty(t, all[StartDone](h.rec(h.m.StartWith(h.config(defaultSpec()), h.now)))[1:], "an online machine settles at once")
}

// Restart closes with the code asked, loads the config again and connects; Reconnect closes with the
// code and dials again after the delay with the config in use; StopWith closes with the code.
func TestRestartReconnectStopWithCodes(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	acts := h.rec(h.m.Restart(3004, "manual restart", h.now))
	d := requireAction[Disconnect](t, acts)
	assert.Equal(t, Disconnect{Gen: gen, Code: 3004, Reason: "manual restart"}, d)
	requireAction[LoadConfig](t, acts)
	c := requireAction[Connect](t, h.answer(defaultSpec()))
	h.open(c.Gen)
	assert.Equal(t, StatusOnline, h.m.Status())

	acts = h.rec(h.m.Reconnect(3000, "config replaced", 2*time.Second, h.now))
	assert.Equal(t, Disconnect{Gen: c.Gen, Code: 3000, Reason: "config replaced"}, requireAction[Disconnect](t, acts))
	requireNo[LoadConfig](t, acts)
	assert.Equal(t, 2*time.Second, h.deadline("reconnect").Sub(h.now))
	c = requireAction[Connect](t, h.advanceTo("reconnect"))
	h.open(c.Gen)

	acts = h.rec(h.m.StopWith(3004, "bye", h.now))
	assert.Equal(t, Disconnect{Gen: c.Gen, Code: 3004, Reason: "bye"}, requireAction[Disconnect](t, acts))
	assert.False(t, h.m.Running())
	assert.Empty(t, h.rec(h.m.Reconnect(1000, "x", 0, h.now)), "a stopped machine does not reconnect")
	requireAction[LoadConfig](t, h.rec(h.m.Restart(1000, "x", h.now)))
	assert.True(t, h.m.Running(), "restart starts a stopped machine")
}

// Offline closes at once and says so without the debounce, and no dial follows until the browser is
// back; online dials at once, from the first backoff step.
func TestNetworkOfflineOnline(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	for i := 0; i < 3; i++ { // the backoff grows during the outage
		c := h.nextDial()
		h.drop(c.Gen, 1006)
	}
	acts := h.rec(h.m.Network(false, h.now))
	assert.Equal(t, StatusOffline, h.m.Status(), "reported at once")
	assert.Equal(t, []map[string]any{{"type": "status", "status": "offline"}}, eventsOf(t, acts))
	tm := DefaultTiming()
	assert.Equal(t, tm.Backoff[4], h.deadline("reconnect").Sub(h.now), "a dial only on the longest backoff while offline")

	h.now = h.now.Add(3 * time.Second)
	acts = h.rec(h.m.Network(true, h.now))
	c := requireAction[Connect](t, acts)
	u, err := url.Parse(c.URL)
	require.NoError(t, err)
	assert.Equal(t, mid(1), u.Query().Get("mid"), "resumes from the last message")
	h.open(c.Gen)
	assert.Equal(t, StatusOnline, h.m.Status())
	h.frame(c.Gen, msg(2))
	h.drop(c.Gen, 1006)
	assert.Equal(t, tm.Backoff[0], h.deadline("reconnect").Sub(h.now), "the backoff starts over")
	assert.Empty(t, all[Connect](h.rec(h.m.Network(true, h.now))), "online without offline before it changes nothing")

	// Offline with an open connection closes it; online while a start waits for its config loads it.
	h2 := newHarness(t, Options{})
	gen2 := h2.start(defaultSpec())
	assert.Equal(t, Disconnect{Gen: gen2, Code: CloseNormal, Reason: "offline"}, requireAction[Disconnect](t, h2.rec(h2.m.Network(false, h2.now))))
	h3 := newHarness(t, Options{})
	h3.m.Start(h3.now)
	h3.m.ConfigFailed(errors.New("network"), h3.now)
	h3.m.Network(false, h3.now)
	requireAction[LoadConfig](t, h3.rec(h3.m.Network(true, h3.now)))
}

// A fallback to long polling that the outage caused is undone when the browser is back online.
func TestOnlineUndoesAFallbackToLongPolling(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	for i := 0; i < 6 && h.m.Transport() == protocol.TransportWebSocket; i++ {
		c := h.nextDial()
		h.drop(c.Gen, 1006)
	}
	require.Equal(t, protocol.TransportLongPolling, h.m.Transport(), "fell back")
	h.m.Network(false, h.now)
	c := requireAction[Connect](t, h.rec(h.m.Network(true, h.now)))
	assert.Equal(t, protocol.TransportWebSocket, c.Transport)
}

// Once online, a renewal that fails with an unknown 5xx is retried, an unknown 4xx stops the client.
func TestRenewalFailureWithAnUnknownCode(t *testing.T) {
	for status, stops := range map[int]bool{500: false, 400: true} {
		h := newHarness(t, Options{})
		s := defaultSpec()
		s.lifetime = time.Minute
		h.start(s)
		requireAction[LoadConfig](t, h.advance(time.Minute+time.Second))
		h.rec(h.m.ConfigFailed(&protocol.RESTError{Code: "SOMETHING_NEW", Status: status}, h.now))
		assert.Equal(t, !stops, h.m.Running(), "status %d", status)
	}
}

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

func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query()
}

func TestStartConnectsWithModeFlags(t *testing.T) {
	for _, tc := range []struct {
		version int
		flag    string
		secure  bool
		prefix  string
	}{
		{3, "", false, "ws://push.test/bitrix/subws/?CHANNEL_ID="},
		{4, "binaryMode", false, "ws://push.test/bitrix/subws/?CHANNEL_ID="},
		{4, "binaryMode", true, "wss://push.test/bitrix/subws/?CHANNEL_ID="},
		{5, "jsonRpc", true, "wss://push.test/bitrix/subws/?token="},
	} {
		t.Run(t.Name(), func(t *testing.T) {
			h := newHarness(t, Options{Secure: tc.secure})
			acts := h.m.Start(h.now)
			requireAction[LoadConfig](t, acts)
			assert.Equal(t, []map[string]any{{"type": "status", "status": "connect"}}, eventsOf(t, acts))
			s := defaultSpec()
			s.version = tc.version
			acts = h.m.ConfigLoaded(h.config(s), h.now)
			c := requireAction[Connect](t, acts)
			assert.Equal(t, protocol.TransportWebSocket, c.Transport)
			assert.Contains(t, c.URL, tc.prefix)
			q := query(t, c.URL)
			assert.Equal(t, "19", q.Get("revision"))
			if tc.flag != "" {
				assert.Equal(t, "true", q.Get(tc.flag))
			}
			acts = h.m.Opened(c.Gen, h.now)
			assert.NoError(t, requireAction[StartDone](t, acts).Err)
			assert.Equal(t, []map[string]any{{"type": "status", "status": "online"}}, eventsOf(t, acts))
		})
	}
}

func TestDeliverNormalisesAndRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.now = t0.Add(2 * time.Second)
	frame := append(textMsg(mid(1), "Application", "demo", `{"n":1}`), textMsg(mid(2), "im", "msg", `[]`)...)
	acts := h.m.Frame(gen, frame, false, h.now)
	require.Len(t, all[Deliver](acts), 1, "one crossing per frame")
	evs := eventsOf(t, acts)
	require.Len(t, evs, 2)
	assert.Equal(t, "server", evs[0]["type"])
	assert.Equal(t, "application", evs[0]["moduleId"], "module ids are lower-cased")
	assert.Equal(t, "demo", evs[0]["command"])
	assert.Equal(t, map[string]any{"n": float64(1)}, evs[0]["params"])
	extra := evs[0]["extra"].(map[string]any)
	assert.InDelta(t, 1.5, extra["server_time_ago"], 0.001)
	assert.Equal(t, map[string]any{}, evs[1]["params"], "[] params become {}")
	assert.Equal(t, mid(2), h.m.Stats().LastMID)
	assert.EqualValues(t, 2, h.m.Stats().Messages)
}

func TestRouting(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	body := func(module string, stu float64, rev int) string {
		return `{"module_id":"` + module + `","command":"c","params":{},"extra":{"server_time_unix":` +
			ftoa(stu) + `,"revision_web":` + itoa(rev) + `}}`
	}
	now := float64(t0.Unix())
	for _, tc := range []struct {
		name, body string
		sender     *protocol.PBSender
		wantType   string // "" = not delivered
		revision   bool
	}{
		{"backend server event", body("crm", now, 19), &protocol.PBSender{Type: 2}, "server", false},
		{"client event even for module pull", body("pull", now, 19), &protocol.PBSender{Type: 1, ID: []byte{0xab}}, "client", false},
		{"system command is not delivered", `{"module_id":"pull","command":"unknown_cmd","params":{}}`, &protocol.PBSender{Type: 2}, "", false},
		{"fresh online event", body("online", now-10, 19), nil, "online", false},
		{"stale online event dropped", body("online", now-300, 19), nil, "", false},
		{"online event without time delivered", `{"module_id":"online","command":"list","params":{}}`, nil, "online", false},
		{"revision change reported", body("crm", now, 20), &protocol.PBSender{Type: 2}, "server", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := []byte{0x17, 0x95, 0x48, 0x68, 0x39, 0, 0, 0, 0, 0, 0, 0x10, byte(len(tc.name))}
			batch := protocol.ResponseBatch{Responses: []protocol.Response{{HasOutgoing: true, OutgoingMessages: []protocol.OutgoingMessage{{
				ID: id, Body: []byte(tc.body), Expiry: 60, Sender: tc.sender}}}}}
			acts := h.m.Frame(gen, batch.Marshal(), true, h.now)
			evs := messagesOf(eventsOf(t, acts))
			if tc.wantType == "" {
				assert.Empty(t, evs)
			} else {
				require.Len(t, evs, 1)
				assert.Equal(t, tc.wantType, evs[0]["type"])
				if tc.sender != nil {
					sender := evs[0]["extra"].(map[string]any)["sender"].(map[string]any)
					assert.EqualValues(t, tc.sender.Type, sender["type"])
				}
			}
			var revs int
			for _, e := range eventsOf(t, acts) {
				if e["type"] == TypeRevision {
					revs++
					assert.EqualValues(t, 20, e["server"])
					assert.EqualValues(t, 19, e["client"])
				}
			}
			assert.Equal(t, tc.revision, revs == 1)
		})
	}
	// the same revision is reported once only
	b := protocol.ResponseBatch{Responses: []protocol.Response{{HasOutgoing: true, OutgoingMessages: []protocol.OutgoingMessage{{
		ID: []byte{1, 2, 3}, Body: []byte(body("crm", now, 20))}}}}}
	for _, e := range eventsOf(t, h.m.Frame(gen, b.Marshal(), true, h.now)) {
		assert.NotEqual(t, TypeRevision, e["type"])
	}
}

func TestDuplicatesSkippedAcrossReconnects(t *testing.T) {
	h := newHarness(t, Options{DedupWindow: 3})
	gen := h.start(defaultSpec())
	acts := h.m.Frame(gen, textMsg(mid(1), "application", "a", `{}`), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1)
	acts = h.m.Frame(gen, textMsg(mid(1), "application", "a", `{}`), false, h.now)
	assert.Empty(t, messagesOf(eventsOf(t, acts)))
	assert.EqualValues(t, 1, h.m.Stats().DuplicatesSkipped)

	// reconnect: the replay overlaps what was delivered
	h.m.Closed(gen, 1006, h.now)
	c := requireAction[Connect](t, h.advance(time.Second))
	assert.Equal(t, mid(1), query(t, c.URL).Get("mid"), "the next connection resumes from the last mid")
	h.m.Opened(c.Gen, h.now)
	replay := append(textMsg(mid(1), "application", "a", `{}`), textMsg(mid(2), "application", "b", `{}`)...)
	evs := messagesOf(eventsOf(t, h.m.Frame(c.Gen, replay, false, h.now)))
	require.Len(t, evs, 1)
	assert.Equal(t, "b", evs[0]["command"])

	// the window is bounded: the oldest id falls out after 3 newer ones
	for i := 3; i <= 5; i++ {
		h.m.Frame(c.Gen, textMsg(mid(i), "application", "x", `{}`), false, h.now)
	}
	assert.Len(t, messagesOf(eventsOf(t, h.m.Frame(c.Gen, textMsg(mid(1), "application", "a", `{}`), false, h.now))), 1)
}

func TestResumePositionKeptOnEmptyFramesAndOnlyMovesForward(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.Frame(gen, textMsg(mid(7), "application", "a", `{}`), false, h.now)
	h.m.Frame(gen, []byte("garbage without markers"), false, h.now)
	h.m.Frame(gen, textMsg(mid(3), "application", "late duplicate", `{}`), false, h.now)
	assert.Equal(t, mid(7), h.m.Resume().MID)
	assert.EqualValues(t, 1, h.m.Stats().Garbage)
}

func TestBackoffSchedule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		u      float64
		delays []time.Duration
	}{
		{"no jitter", 0, []time.Duration{500 * time.Millisecond, 5 * time.Second, 5 * time.Second, 25 * time.Second, 25 * time.Second,
			45 * time.Second, 45 * time.Second, 45 * time.Second, 45 * time.Second, 45 * time.Second, 60 * time.Second, 60 * time.Second}},
		{"full jitter", 0.999999, []time.Duration{600 * time.Millisecond, 6 * time.Second, 6 * time.Second, 30 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{DisableWebSocket: false})
			h.u = tc.u
			s := defaultSpec()
			s.version = 5 // no long polling, so the websocket keeps being retried
			gen := h.start(s)
			h.m.Frame(gen, []byte("ping"), false, h.now)
			h.m.Closed(gen, 1006, h.now)
			for i, want := range tc.delays {
				d, ok := h.m.NextDeadline()
				require.True(t, ok)
				got := d.Sub(h.now)
				if i > 0 {
					// the reload asked for by repeated refusals does not change the reconnect timer
					got = h.deadline("reconnect").Sub(h.now)
				}
				assert.InDeltaf(t, float64(want), float64(got), float64(time.Millisecond), "attempt %d", i)
				h.now = h.deadline("reconnect")
				acts := h.m.Tick(h.now)
				c := requireAction[Connect](t, acts)
				acts = h.m.Closed(c.Gen, 1006, h.now)
				if _, ok := find[LoadConfig](acts); ok {
					h.m.ConfigLoaded(h.config(s), h.now)
				}
			}
		})
	}
}

func TestBackoffResetsAfterOpen(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.version = 5
	gen := h.start(s)
	h.m.Frame(gen, []byte("ping"), false, h.now)
	h.m.Closed(gen, 1006, h.now)
	c := requireAction[Connect](t, h.advance(500*time.Millisecond))
	h.m.Closed(c.Gen, 1006, h.now)
	c = requireAction[Connect](t, h.advance(5*time.Second))
	h.m.Opened(c.Gen, h.now)
	h.now = h.now.Add(2 * time.Second)
	h.m.Frame(c.Gen, []byte("ping"), false, h.now)
	h.m.Closed(c.Gen, 1006, h.now)
	assert.Equal(t, 500*time.Millisecond, h.deadline("reconnect").Sub(h.now))
}

func TestRefusedHandshakesReloadConfigAndFallBackToLongPolling(t *testing.T) {
	h := newHarness(t, Options{})
	acts := h.startLost(defaultSpec(), 1006)
	requireNo[LoadConfig](t, acts)

	var loads int
	var transports []protocol.Transport
	for i := 0; i < 5; i++ {
		c := h.nextDial()
		transports = append(transports, c.Transport)
		if c.Transport == protocol.TransportLongPolling {
			assert.Equal(t, mid(1), query(t, c.URL).Get("mid"), "mid is kept across the transport switch")
			break
		}
		acts = h.m.Closed(c.Gen, 1006, h.now)
		if _, ok := find[LoadConfig](acts); ok {
			loads++
			h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
		}
	}
	assert.Equal(t, 1, loads, "the second refusal in a row reloads the config")
	assert.Equal(t, []protocol.Transport{0, 0, 0, 0, protocol.TransportLongPolling}, transports,
		"four websocket attempts that never opened fall back to long polling")
}

func TestRefusalWithChangedConfigReconnectsAtOnce(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	c := requireAction[Connect](t, h.advance(time.Second))
	h.m.Closed(c.Gen, 1006, h.now)
	c = requireAction[Connect](t, h.advance(6*time.Second))
	acts := h.m.Closed(c.Gen, 1006, h.now)
	requireAction[LoadConfig](t, acts)
	s := defaultSpec()
	s.shared = newShare
	acts = h.m.ConfigLoaded(h.config(s), h.now)
	c = requireAction[Connect](t, acts)
	assert.Equal(t, []string{privID, newShare, sharedID}, dialOf(t, c).Channels, "the rotated id with the new ones")
	c = requireAction[Connect](t, h.m.Closed(c.Gen, 1006, h.now))
	assert.Equal(t, []string{privID, newShare}, dialOf(t, c).Channels, "a refused dial with a rotated id is followed at once by one without it")
	assert.EqualValues(t, 1, h.m.Stats().Renewals)
}

func TestShortLivedConnectionCountsAsRefused(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	var loaded bool
	for i := 0; i < 2; i++ {
		c := h.nextDial()
		h.m.Opened(c.Gen, h.now)
		acts := h.m.Closed(c.Gen, 1006, h.now.Add(10*time.Millisecond))
		_, loaded = find[LoadConfig](acts)
	}
	assert.True(t, loaded, "two accept-then-close connections reload the config")
	assert.Equal(t, 5*time.Second, h.deadline("reconnect").Sub(h.now.Add(10*time.Millisecond)), "and back off")
}

func TestWrongChannelCloseReloadsAfterDelay(t *testing.T) {
	h := newHarness(t, Options{})
	h.u = 0.5
	acts := h.startLost(defaultSpec(), CloseWrongChannel)
	requireNo[LoadConfig](t, acts)
	requireNo[Connect](t, acts)
	d, ok := h.m.NextDeadline()
	require.True(t, ok)
	// 6–35 s: with u = 0.5 → 20.5 s (the offline debounce comes first)
	assert.Equal(t, 20500*time.Millisecond, h.deadline("reload").Sub(h.now))
	assert.Equal(t, 5*time.Second, d.Sub(h.now))
	acts = h.advance(5 * time.Second)
	assert.Equal(t, []map[string]any{{"type": "status", "status": "offline"}}, eventsOf(t, acts))
	acts = h.advance(15500 * time.Millisecond)
	requireAction[LoadConfig](t, acts)
	acts = h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	requireAction[Connect](t, acts)
}

func TestLongPollingCloseCodeFromBody(t *testing.T) {
	assert.Equal(t, 4010, closeCodeFromBody([]byte("4010: Wrong Channel Id.")))
	assert.Equal(t, 0, closeCodeFromBody([]byte("Bad Request")))
	assert.Equal(t, 0, closeCodeFromBody(nil))
}

func TestStopCancelsEverything(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	acts := h.m.Stop(h.now)
	d := requireAction[Disconnect](t, acts)
	assert.Equal(t, Disconnect{Gen: gen, Code: 1000, Reason: "manual stop"}, d)
	assert.Equal(t, []map[string]any{{"type": "status", "status": "offline"}}, eventsOf(t, acts))
	_, ok := h.m.NextDeadline()
	assert.False(t, ok, "no timer survives Stop")
	assert.Empty(t, h.m.Closed(gen, 1000, h.now), "events of the closed connection are ignored")
	assert.Empty(t, h.m.Stop(h.now), "a second Stop does nothing")
}

func TestStopDuringStartSettlesStart(t *testing.T) {
	h := newHarness(t, Options{})
	h.m.Start(h.now)
	acts := h.m.Stop(h.now)
	assert.ErrorIs(t, requireAction[StartDone](t, acts).Err, ErrStopped)
	assert.Empty(t, h.m.ConfigLoaded(h.config(defaultSpec()), h.now), "a late config answer is ignored")
}

func TestStartFailsWithRESTError(t *testing.T) {
	h := newHarness(t, Options{})
	h.m.Start(h.now)
	rerr := &protocol.RESTError{Code: "WRONG_AUTH_TYPE", Description: "Get access to application config available only for application authorization.", Status: 403}
	acts := h.m.ConfigFailed(rerr, h.now)
	done := requireAction[StartDone](t, acts)
	var got *protocol.RESTError
	require.True(t, errors.As(done.Err, &got))
	assert.Equal(t, "WRONG_AUTH_TYPE", got.Code)
	assert.False(t, h.m.Running())
	assert.Equal(t, StatusOffline, h.m.Status())
}

func TestStartTimesOut(t *testing.T) {
	h := newHarness(t, Options{})
	h.m.Start(h.now)
	h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	acts := h.advance(time.Minute)
	assert.ErrorIs(t, requireAction[StartDone](t, acts).Err, ErrStartTimeout)
	requireAction[Disconnect](t, acts)
}

func TestStartWhileRunning(t *testing.T) {
	h := newHarness(t, Options{})
	h.m.Start(h.now)
	assert.Empty(t, all[StartDone](h.m.Start(h.now)), "a second start joins the pending one")
	h.start2()
	assert.NoError(t, requireAction[StartDone](t, h.m.Start(h.now)).Err, "starting an online client settles at once")
}

func (h *harness) start2() {
	c := requireAction[Connect](h.t, h.m.ConfigLoaded(h.config(defaultSpec()), h.now))
	h.m.Opened(c.Gen, h.now)
}

func TestConfigFailureAfterOnline(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	acts := h.advance(time.Minute + time.Second)
	requireAction[LoadConfig](t, acts)

	// a transient error is retried, the connection kept
	acts = h.m.ConfigFailed(&protocol.RESTError{Code: "QUERY_LIMIT_EXCEEDED", Status: 503}, h.now)
	requireNo[Disconnect](t, acts)
	assert.True(t, h.m.Running())
	assert.Equal(t, 5*time.Second, h.deadline("reload").Sub(h.now))
	requireAction[LoadConfig](t, h.advance(5*time.Second))

	// a permission error stops the client
	acts = h.m.ConfigFailed(&protocol.RESTError{Code: "ACCESS_DENIED", Status: 403}, h.now)
	assert.Equal(t, Disconnect{Gen: gen, Code: 1000, Reason: "manual stop"}, requireAction[Disconnect](t, acts))
	assert.False(t, h.m.Running())
	assert.Contains(t, h.m.Stats().LastError, "ACCESS_DENIED")
}

func TestStatusOfflineIsDebounced(t *testing.T) {
	h := newHarness(t, Options{})
	acts := h.startLost(defaultSpec(), 1006)
	assert.Empty(t, eventsOf(t, acts), "offline is not reported at once")
	assert.Equal(t, StatusOnline, h.m.Status())
	acts = h.advance(500 * time.Millisecond)
	c := requireAction[Connect](t, acts)
	assert.Equal(t, []map[string]any{{"type": "status", "status": "connect"}}, eventsOf(t, acts))
	acts = h.m.Opened(c.Gen, h.now)
	assert.Equal(t, []map[string]any{{"type": "status", "status": "online"}}, eventsOf(t, acts))
	_, pending := h.m.Timers(h.now)["offline"]
	assert.False(t, pending)
}

func ftoa(f float64) string { return protocolFloat(f) }
func itoa(i int) string     { return protocolFloat(float64(i)) }

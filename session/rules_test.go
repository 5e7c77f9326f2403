package session

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func v5() cfgSpec {
	s := defaultSpec()
	s.version = 5
	return s
}

func rpcMessage(mid, command string) []byte {
	return protocol.EncodeIncomingMessage(mid, json.RawMessage(`{"module_id":"application","command":"`+command+`","params":{"n":1}}`),
		protocol.Sender{Type: 2}, json.RawMessage(`{"u":2}`), nil)
}

func TestJSONRPCPingPongAckAndWatchdog(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(v5())
	// before the first ping the watchdog allows 40 s
	assert.Equal(t, 40*time.Second, h.deadline("watchdog").Sub(h.now))

	acts := h.m.Frame(gen, []byte("ping"), false, h.now)
	assert.Equal(t, []Send{{Gen: gen, Data: []byte("pong")}}, all[Send](acts))
	assert.Equal(t, 20*time.Second, h.deadline("watchdog").Sub(h.now))

	acts = h.m.Frame(gen, rpcMessage("m1", "demo"), false, h.now)
	assert.Equal(t, []Send{{Gen: gen, Data: []byte("mack:m1")}}, all[Send](acts))
	evs := messagesOf(eventsOf(t, acts))
	require.Len(t, evs, 1)
	assert.Equal(t, map[string]any{"n": float64(1), "u": float64(2)}, evs[0]["params"], "user_params merged into params")
	assert.Equal(t, map[string]any{"type": float64(2)}, evs[0]["extra"].(map[string]any)["sender"])

	// a duplicate is acknowledged again but not delivered
	acts = h.m.Frame(gen, rpcMessage("m1", "demo"), false, h.now)
	assert.Equal(t, []Send{{Gen: gen, Data: []byte("mack:m1")}}, all[Send](acts))
	assert.Empty(t, messagesOf(eventsOf(t, acts)))

	// an unknown server request with an id gets method-not-found
	acts = h.m.Frame(gen, []byte(`{"jsonrpc":"2.0","method":"surprise","params":{},"id":7}`), false, h.now)
	sends := all[Send](acts)
	require.Len(t, sends, 1)
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"method not found"}}`, string(sends[0].Data))

	// no ping for 20 s: disconnect as stuck and reconnect after 0.5 s
	acts = h.advance(20 * time.Second)
	assert.Equal(t, Disconnect{Gen: gen, Code: 3005, Reason: "connection stuck"}, requireAction[Disconnect](t, acts))
	c := requireAction[Connect](t, h.advance(500*time.Millisecond))
	assert.Equal(t, "m1", query(t, c.URL).Get("mid"))
}

func TestJSONRPCNeverFallsBackToLongPolling(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(v5())
	h.m.Frame(gen, []byte("ping"), false, h.now)
	h.m.Closed(gen, 1006, h.now)
	for i := 0; i < 6; i++ {
		c := h.nextDial()
		assert.Equal(t, protocol.TransportWebSocket, c.Transport)
		if _, ok := find[LoadConfig](h.m.Closed(c.Gen, 1006, h.now)); ok {
			h.m.ConfigLoaded(h.config(v5()), h.now)
		}
	}
}

func channelExpire(params string) []byte { return channelExpireN(50, params) }

func channelExpireN(n int, params string) []byte {
	return textMsg(mid(n), "pull", "channel_expire", params)
}

// TestChannelExpireWithUsableNewChannel: a new_channel for the config's shared channel is applied in
// place, without a config call, whether the portal types it "shared" or, for an app's channel, by the
// app's client id.
func TestChannelExpireWithUsableNewChannel(t *testing.T) {
	for _, typ := range []string{"shared", "local.app"} {
		t.Run(typ, func(t *testing.T) {
			h := newHarness(t, Options{})
			gen := h.start(defaultSpec())
			params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"` + typ + `"},"new_channel":{"id":"` + newShare +
				`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"` + typ + `"}}`
			acts := h.m.Frame(gen, channelExpire(params), false, h.now)
			assert.Equal(t, Disconnect{Gen: gen, Code: 3000, Reason: "config replaced"}, requireAction[Disconnect](t, acts))
			requireNo[LoadConfig](t, acts)
			assert.Empty(t, messagesOf(eventsOf(t, acts)), "system commands are not delivered")
			c := requireAction[Connect](t, h.advance(time.Second))
			q := query(t, c.URL)
			assert.Equal(t, privID+"/"+newShare, q.Get("CHANNEL_ID"))
			assert.Equal(t, mid(50), q.Get("mid"))
			assert.EqualValues(t, 1, h.m.Stats().Renewals)
			assert.Equal(t, "shared", h.m.Config().Channels.Shared.Type)
		})
	}
}

func TestChannelExpireReloadsOtherwise(t *testing.T) {
	for _, tc := range []struct{ name, params string }{
		{"private get_config", `{"action":"get_config","channel":{"id":"` + privID + `","type":"private"}}`},
		{"app private channel without new_channel", `{"action":"reconnect","channel":{"id":"` + privID + `","type":"local.app"}}`},
		{"notice without a channel id", `{"action":"get_config"}`},
		{"app shared channel from the cleanup path (unix start)", `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"local.app"},"new_channel":{"id":"` + newShare + `","start":1795489200,"end":"2026-11-24T15:00:05+00:00","type":"local.app"}}`},
		{"app-typed new_channel without the channel it replaces", `{"action":"reconnect","new_channel":{"id":"` + newShare + `","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"local.app"}}`},
		{"malformed new_channel", `{"action":"reconnect","new_channel":{"id":"` + newShare + `","start":"yesterday","end":"","type":"shared"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			gen := h.start(defaultSpec())
			acts := h.m.Frame(gen, channelExpire(tc.params), false, h.now)
			requireAction[LoadConfig](t, acts)
			requireNo[Disconnect](t, acts)

			// the same channels back: the live connection is kept
			acts = h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
			requireNo[Disconnect](t, acts)
			requireNo[Connect](t, acts)

			// rotated channels: reconnect at once, resuming
			requireAction[LoadConfig](t, h.m.Frame(gen, channelExpireN(51, tc.params), false, h.now))
			s := defaultSpec()
			s.shared, s.start = newShare, t0.Add(time.Hour)
			acts = h.m.ConfigLoaded(h.config(s), h.now)
			if _, ok := find[Disconnect](acts); !ok {
				// the notice was for another channel: the connection is held for the rotated one's last word
				acts = h.m.Frame(gen, channelExpireN(52, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"shared"}}`), false, h.now)
			}
			requireAction[Disconnect](t, acts)
			c := requireAction[Connect](t, acts)
			assert.Contains(t, c.URL, newShare)
			assert.Equal(t, mid(51), query(t, c.URL).Get("mid"))
		})
	}
}

func TestConfigExpireReloadsAfterRandomDelay(t *testing.T) {
	h := newHarness(t, Options{})
	h.u = 0.5
	gen := h.start(defaultSpec())
	acts := h.m.Frame(gen, textMsg(mid(9), "pull", "config_expire", `{}`), false, h.now)
	requireNo[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, 65*time.Second, h.deadline("reload").Sub(h.now), "10–120 s")
	requireAction[LoadConfig](t, h.advance(65*time.Second))
}

func TestServerRestartReconnectsAfterDelayWithFreshConfig(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	acts := h.m.Frame(gen, textMsg(mid(9), "pull", "server_restart", `{}`), false, h.now)
	assert.Equal(t, 3002, requireAction[Disconnect](t, acts).Code)
	requireAction[LoadConfig](t, h.advance(10*time.Second))
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(defaultSpec()), h.now))
	assert.Equal(t, mid(9), query(t, c.URL).Get("mid"))
}

func TestRenewalRightAfterExpiryInServerTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shift time.Duration // server clock minus local clock
	}{
		{"clocks agree", 0},
		{"local clock ahead", -90 * time.Second},
		{"local clock behind", 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			s := defaultSpec()
			s.lifetime = time.Hour
			s.start = t0.Add(tc.shift) // the portal stamps channels with its own clock
			s.serverShift = tc.shift
			h.start(s)
			// server end = server t0 + 1 h, i.e. local t0 + 1 h; jitter 1 s at u = 0
			assert.Equal(t, time.Hour+time.Second, h.deadline("renew").Sub(h.now))
			requireNo[LoadConfig](t, h.advance(time.Hour))
			requireAction[LoadConfig](t, h.advance(time.Second))
		})
	}
}

func TestRenewalJitterScaledToShortLifetimes(t *testing.T) {
	h := newHarness(t, Options{})
	h.u = 0.999
	s := defaultSpec()
	s.lifetime = 3 * time.Second
	gen := h.start(s)
	assert.Equal(t, 3300*time.Millisecond, h.deadline("renew").Sub(h.now))
	requireAction[LoadConfig](t, h.advance(3300*time.Millisecond))

	// the portal has not rotated yet: ask again soon, keeping the connection
	acts := h.m.ConfigLoaded(h.config(s), h.now)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, 3*time.Second, h.deadline("renew").Sub(h.now), "retry capped at the lifetime")

	// rotated: reconnect with the new ids and renew again before the next expiry passes unnoticed
	h.advance(3700 * time.Millisecond) // a whole second: config dates have no fraction
	next := s
	next.start = h.now
	next.shared = newShare
	acts = h.m.ConfigLoaded(h.config(next), h.now)
	requireNo[Disconnect](t, acts) // the rotated channel's channel_expire is still on its way
	acts = h.m.Frame(gen, channelExpire(`{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"shared"}}`), false, h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	requireAction[Connect](t, acts)
	assert.EqualValues(t, 1, h.m.Stats().Renewals)
	assert.Equal(t, 3300*time.Millisecond, h.deadline("renew").Sub(h.now))
}

// TestSafetyTickIsABackstop: with no renewal timer pending (the renewal failed and its retry is
// still far off), the periodic check notices the expired config and reloads it; it re-arms itself.
func TestSafetyTickIsABackstop(t *testing.T) {
	timing := DefaultTiming()
	timing.RenewRetry = []time.Duration{time.Hour} // capped at the channel lifetime: 30 s
	h := newHarness(t, Options{Timing: &timing})
	s := defaultSpec()
	s.lifetime = 30 * time.Second
	h.start(s)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	h.rec(h.m.ConfigFailed(errors.New("network down"), h.now))
	require.True(t, h.deadline("reload").After(h.deadline("safety")))
	requireAction[LoadConfig](t, h.advanceTo("safety"))
	assert.Equal(t, time.Minute, h.deadline("safety").Sub(h.now), "re-armed")
}

func TestLongPolling(t *testing.T) {
	h := newHarness(t, Options{DisableWebSocket: true})
	h.m.Start(h.now)
	acts := h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	c := requireAction[Connect](t, acts)
	assert.Equal(t, protocol.TransportLongPolling, c.Transport)
	assert.Contains(t, c.URL, "http://push.test/bitrix/sub/?CHANNEL_ID=")

	// a GET pending for 5 s counts as open
	acts = h.advance(5 * time.Second)
	assert.NoError(t, requireAction[StartDone](t, acts).Err)
	assert.Equal(t, StatusOnline, h.m.Status())

	// 200 with a protobuf body: delivered, next GET resumes from its mid
	b := protocol.ResponseBatch{Responses: []protocol.Response{{HasOutgoing: true, OutgoingMessages: []protocol.OutgoingMessage{{
		ID: []byte{0x17, 0x95, 0x48, 0x68, 0x39, 0, 0, 0, 0, 0, 0, 0x13, 0x29}, Body: []byte(`{"module_id":"application","command":"a","params":{}}`)}}}}}
	acts = h.m.PollResult(c.Gen, 200, b.Marshal(), "", "", h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1)
	p := requireAction[Poll](t, acts)
	assert.Equal(t, "17954868390000000000001329", query(t, p.URL).Get("mid"))

	// empty 200 keeps the mid; 304 with the magic Expires moves it; a driver timeout just polls again
	p = requireAction[Poll](t, h.m.PollResult(c.Gen, 200, nil, "", "", h.now))
	assert.Equal(t, "17954868390000000000001329", query(t, p.URL).Get("mid"))
	p = requireAction[Poll](t, h.m.PollResult(c.Gen, 304, nil, LongPollIdleExpires, "17954868390000000000001342", h.now))
	assert.Equal(t, "17954868390000000000001342", query(t, p.URL).Get("mid"))
	p = requireAction[Poll](t, h.m.PollResult(c.Gen, 304, nil, "Mon, 01 Jan 2024 00:00:00 GMT", "17954868390000000000009999", h.now))
	assert.Equal(t, "17954868390000000000001342", query(t, p.URL).Get("mid"), "Last-Message-Id counts only with the magic Expires")
	requireAction[Poll](t, h.m.PollResult(c.Gen, 0, nil, "", "", h.now))

	// 400 "4010: …" is a wrong channel: reload after 6–35 s
	acts = h.m.PollResult(c.Gen, 400, []byte("4010: Wrong Channel Id."), "", "", h.now)
	requireNo[Poll](t, acts)
	assert.Equal(t, 6*time.Second, h.deadline("reload").Sub(h.now))
	assert.Equal(t, 4010, h.m.Stats().LastCloseCode)
}

func TestLongPollingRestoresWebSocket(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	var c Connect
	for i := 0; i < 5; i++ {
		c = h.nextDial()
		if c.Transport == protocol.TransportLongPolling {
			break
		}
		if _, ok := find[LoadConfig](h.m.Closed(c.Gen, 1006, h.now)); ok {
			h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
		}
	}
	require.Equal(t, protocol.TransportLongPolling, c.Transport)
	h.m.PollResult(c.Gen, 304, nil, LongPollIdleExpires, mid(1), h.now)
	assert.Equal(t, 30*time.Minute, h.deadline("restoreWebSocket").Sub(h.now))
	acts := h.advance(30 * time.Minute)
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	ws := requireAction[Connect](t, acts)
	assert.Equal(t, protocol.TransportWebSocket, ws.Transport)
}

func TestStaleGenerationIgnored(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.Closed(gen, 1006, h.now)
	assert.Empty(t, h.m.Frame(gen, textMsg(mid(1), "application", "a", `{}`), false, h.now))
	assert.Empty(t, h.m.Opened(gen, h.now))
	assert.Empty(t, h.m.PollResult(gen, 200, nil, "", "", h.now))
}

// TestResetForgetsResumeAndDedup: after Reset the next start resumes from nowhere and delivers a
// message already seen as new.
func TestResetForgetsResumeAndDedup(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.frame(gen, msg(1))
	h.rec(h.m.Stop(h.now))
	h.m.Reset()
	assert.Empty(t, h.m.Resume().MID)
	gen = h.start(defaultSpec())
	dials := h.dials()
	assert.Empty(t, dials[len(dials)-1].MID)
	h.frame(gen, msg(1))
	assert.Equal(t, []int{1, 1}, h.delivered())
}

func TestNoTransport(t *testing.T) {
	h := newHarness(t, Options{DisableWebSocket: true})
	h.m.Start(h.now)
	acts := h.m.ConfigLoaded(h.config(v5()), h.now)
	assert.ErrorIs(t, requireAction[StartDone](t, acts).Err, ErrNoTransport)
}

// TestRenewedChannelResumesFromBeforeItsStart: the dial to a private channel learnt from a reload
// resumes from before that channel's start (t0, before every message remembered: the oldest, 6), not
// from the newer id that arrived on the unchanged shared channel meanwhile.
func TestRenewedChannelResumesFromBeforeItsStart(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	acts := h.m.Frame(gen, channelExpireN(6, `{"action":"reconnect","channel":{"id":"`+privID+`","type":"local.app"}}`), false, h.now)
	requireAction[LoadConfig](t, acts)
	// while the config loads, a newer id arrives on the unchanged shared channel; the rotated private
	// channel may already hold id 7, which a resume from 8 would skip
	h.m.Frame(gen, textMsg(mid(8), "application", "shared", `{}`), false, h.now)
	s := defaultSpec()
	s.private = "b1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562"
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	assert.Equal(t, mid(6), query(t, c.URL).Get("mid"))
	h.m.Opened(c.Gen, h.now)
	replay := append(textMsg(mid(7), "application", "private", `{}`), textMsg(mid(8), "application", "shared", `{}`)...)
	evs := messagesOf(eventsOf(t, h.m.Frame(c.Gen, replay, false, h.now)))
	require.Len(t, evs, 1, "the overlap is de-duplicated")
	assert.Equal(t, "private", evs[0]["command"])
}

func TestRenewalAheadOfTokenExpiry(t *testing.T) {
	h := newHarness(t, Options{})
	s := v5()
	s.lifetime = time.Hour // channel end and exp both at t0 + 1 h
	h.start(s)
	assert.Equal(t, time.Hour-time.Minute, h.deadline("renew").Sub(h.now), "a fresh token a minute ahead")
	requireAction[LoadConfig](t, h.advance(time.Hour-time.Minute))

	// the portal answers the same token (exp within its margin): ask again later, not in a loop
	acts := h.m.ConfigLoaded(h.config(s), h.now)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, 5*time.Second, h.deadline("renew").Sub(h.now))

	// short lifetimes keep a tenth as the margin
	h2 := newHarness(t, Options{})
	s2 := v5()
	s2.lifetime = 10 * time.Second
	h2.start(s2)
	assert.Equal(t, 9*time.Second, h2.deadline("renew").Sub(h2.now))
}

func TestChannelExpireForAReplacedChannelIgnored(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	stale := "00000000000000000000000000000000.1111111111111111111111111111111111111111"
	acts := h.m.Frame(gen, channelExpire(`{"action":"reconnect","channel":{"id":"`+stale+`","type":"shared"},"new_channel":{"id":"`+newShare+
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`), false, h.now)
	requireNo[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.Zero(t, h.m.Stats().Renewals)
}

func TestChannelExpireDuringALoadAsksAgain(t *testing.T) {
	h := newHarness(t, Options{})
	h.u = 0
	gen := h.start(defaultSpec())
	// config_expire schedules a reload; it starts, then the portal rotates the private channel and
	// says so while the answer (taken before the rotation) is on its way
	h.m.Frame(gen, textMsg(mid(4), "pull", "config_expire", `{}`), false, h.now)
	requireAction[LoadConfig](t, h.advance(10*time.Second))
	requireNo[LoadConfig](t, h.m.Frame(gen, channelExpireN(5, `{"action":"reconnect","channel":{"id":"`+privID+`","type":"local.app"}}`), false, h.now))
	h.m.Frame(gen, textMsg(mid(9), "application", "shared", `{}`), false, h.now)

	acts := h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	requireNo[Connect](t, acts)
	requireAction[LoadConfig](t, acts) // the answer predates the notice: ask once more

	s := defaultSpec()
	s.private = "b1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562"
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	assert.Equal(t, mid(4), query(t, c.URL).Get("mid"), "from before the new channel's start (t0): the oldest id remembered")
	requireNo[LoadConfig](t, h.m.Opened(c.Gen, h.now))
}

func TestFallbackReturnsToWebSocketWhenLongPollingIsDownToo(t *testing.T) {
	h := newHarness(t, Options{})
	h.startLost(defaultSpec(), 1006)
	var got []protocol.Transport
	for i := 0; i < 8; i++ {
		c := h.nextDial()
		got = append(got, c.Transport)
		var acts []Action
		if c.Transport == protocol.TransportLongPolling {
			acts = h.m.PollResult(c.Gen, 502, nil, "", "", h.now) // the whole push server is down
		} else {
			acts = h.m.Closed(c.Gen, 1006, h.now)
		}
		if _, ok := find[LoadConfig](acts); ok {
			h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
		}
	}
	ws, lp := protocol.TransportWebSocket, protocol.TransportLongPolling
	assert.Equal(t, []protocol.Transport{ws, ws, ws, ws, lp, lp, ws, ws}, got)
}

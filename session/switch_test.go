package session

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/protocol"
)

// minuteChannels starts a harness whose channels live a minute from t0 and lets message 10 arrive.
func minuteChannels(t *testing.T) (*harness, cfgSpec, int) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	h.m.Frame(gen, textMsg(mid(10), "application", "before", `{}`), false, h.now)
	return h, s, gen
}

// renewedShared starts a harness, lets the renewal come due and answers it with the shared channel
// rotated, while message 10 arrived before the load and 11 (on the private channel) during it.
func renewedShared(t *testing.T) (*harness, int, []Action) {
	h, s, gen := minuteChannels(t)
	h.advance(h.m.deadlines[tRenew].Sub(h.now))
	h.m.Frame(gen, textMsg(mid(11), "application", "during", `{}`), false, h.now)
	next := s
	next.start = h.now
	next.shared = newShare
	return h, gen, h.m.ConfigLoaded(h.config(next), h.now)
}

// TestSwitchDrainsTheRotatedChannel: a renewal that rotates a channel keeps the live connection until
// that channel's channel_expire arrives, delivering what was still on its way there; the next
// connection resumes from where the load began.
func TestSwitchDrainsTheRotatedChannel(t *testing.T) {
	h, gen, acts := renewedShared(t)
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Contains(t, h.m.Timers(h.now), "switch")

	// A message published to the old shared channel before the rotation, still on its way.
	acts = h.m.Frame(gen, textMsg(mid(12), "application", "late", `{}`), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "the late message is delivered")
	acts = h.m.Frame(gen, channelExpireN(13, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`), false, h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := requireAction[Connect](t, acts)
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"), "resume from where the load began")
	assert.NotContains(t, h.m.Timers(h.now), "switch")
}

// TestSwitchWithoutChannelExpireTimesOut: the switch happens after switchDrainTimeout when the
// rotated channel never says its last word.
func TestSwitchWithoutChannelExpireTimesOut(t *testing.T) {
	h, gen, _ := renewedShared(t)
	requireNo[Disconnect](t, h.advance(switchDrainTimeout-time.Millisecond))
	acts := h.advance(time.Millisecond)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := requireAction[Connect](t, acts)
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))
}

// TestSwitchCutShortByAClose: a connection lost while draining first catches up on the rotated
// channel from where the load began, then moves to the new channels from there too, not from the
// newer ids that arrived meanwhile.
func TestSwitchCutShortByAClose(t *testing.T) {
	h, gen, _ := renewedShared(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "late", `{}`), false, h.now)
	h.m.Closed(gen, 1006, h.now)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
	c := requireAction[Connect](t, h.advance(2*time.Second))
	assert.Contains(t, c.URL, url.QueryEscape(sharedID), "the catch-up subscribes the rotated channel")
	assert.NotContains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))
	h.m.Opened(c.Gen, h.now)
	acts := h.m.Frame(c.Gen, channelExpireN(13, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`), false, h.now)
	c = requireAction[Connect](t, acts)
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))
}

// TestSwitchAfterTheNoticeIsImmediate: when the rotated channel's channel_expire is what asked for
// the config, the switch does not wait.
func TestSwitchAfterTheNoticeIsImmediate(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	requireAction[LoadConfig](t, h.m.Frame(gen, channelExpire(`{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`), false, h.now))
	s := defaultSpec()
	s.shared = newShare
	acts := h.m.ConfigLoaded(h.config(s), h.now)
	requireAction[Disconnect](t, acts)
	requireAction[Connect](t, acts)
}

// rotatedWhileDown starts a harness, lets message 10 arrive, loses the connection and has the
// reconnects refused until the config is reloaded, which answers with the shared channel rotated. It
// returns the Connect that follows the new config.
func rotatedWhileDown(t *testing.T, opts Options, s cfgSpec) (*harness, Connect) {
	h := newHarness(t, opts)
	gen := h.start(s)
	if s.version == 3 {
		h.m.PollResult(gen, 200, textMsg(mid(10), "application", "before", `{}`), "", "", h.now)
	} else {
		h.m.Frame(gen, textMsg(mid(10), "application", "before", `{}`), false, h.now)
	}
	h.m.Closed(gen, 1006, h.now)
	c := requireAction[Connect](t, h.advance(time.Second))
	h.m.Closed(c.Gen, 1006, h.now)
	c = requireAction[Connect](t, h.advance(6*time.Second))
	requireAction[LoadConfig](t, h.m.Closed(c.Gen, 1006, h.now))
	s.shared = newShare
	return h, requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
}

func expireShared(n int) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`)
}

// TestCatchUpAfterRotationWhileDisconnected: channels rotated while no connection was open are
// drained by a connection with the old ids from where the reload began; then the new channels are
// joined from the same position, the overlap skipped.
func TestCatchUpAfterRotationWhileDisconnected(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	assert.Contains(t, c.URL, url.QueryEscape(sharedID), "the catch-up subscribes the rotated channel")
	assert.NotContains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))

	h.m.Opened(c.Gen, h.now)
	acts := h.m.Frame(c.Gen, textMsg(mid(12), "application", "stranded", `{}`), false, h.now)
	require.Len(t, messagesOf(eventsOf(t, acts)), 1, "what the old channel still held is delivered")
	acts = h.m.Frame(c.Gen, expireShared(13), false, h.now)
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	next := requireAction[Connect](t, acts)
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"), "the new channels are joined from where the reload began")

	h.m.Opened(next.Gen, h.now)
	assert.Empty(t, messagesOf(eventsOf(t, h.m.Frame(next.Gen, textMsg(mid(12), "application", "stranded", `{}`), false, h.now))),
		"the replayed overlap is skipped")
	assert.Len(t, messagesOf(eventsOf(t, h.m.Frame(next.Gen, textMsg(mid(14), "application", "new", `{}`), false, h.now))), 1)
	assert.Empty(t, h.m.owed)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
}

// TestCatchUpWithoutChannelExpireTimesOut: a rotated channel whose last word is no longer stored does
// not hold the new channels back for longer than catchUpDrainTimeout.
func TestCatchUpWithoutChannelExpireTimesOut(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	h.m.Opened(c.Gen, h.now)
	requireNo[Connect](t, h.advance(catchUpDrainTimeout-time.Millisecond))
	acts := h.advance(time.Millisecond)
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	next := requireAction[Connect](t, acts)
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))
	assert.Empty(t, h.m.owed)
}

// TestCatchUpRefusedThenNewConfigOpens: a server that refuses rotated ids costs a failed dial, after
// which the new config is dialled at once. Its open proves the server up, so the catch-up is dialled
// once more (it may have failed only because the server was down); refused again, it is given up
// when the new config opens the second time.
func TestCatchUpRefusedThenNewConfigOpens(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	next := requireAction[Connect](t, h.m.Closed(c.Gen, 1006, h.now))
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))

	acts := h.m.Opened(next.Gen, h.now)
	assert.Equal(t, next.Gen, requireAction[Disconnect](t, acts).Gen, "closed before anything is delivered on it")
	retry := requireAction[Connect](t, acts)
	assert.Contains(t, retry.URL, url.QueryEscape(sharedID), "the catch-up is dialled once more")
	assert.NotEqual(t, StatusOnline, h.m.Status())

	next = requireAction[Connect](t, h.m.Closed(retry.Gen, 1006, h.now))
	assert.Contains(t, next.URL, newShare)
	requireNo[Connect](t, h.m.Opened(next.Gen, h.now))
	assert.Empty(t, h.m.owed)
	h.m.Frame(next.Gen, textMsg(mid(11), "application", "a", `{}`), false, h.now)
	h.m.Closed(next.Gen, 1006, h.now)
	again := requireAction[Connect](t, h.advance(time.Second))
	assert.Contains(t, again.URL, newShare, "no catch-up once the new channels were joined")
}

// TestCatchUpAfterTheServerCameBack: the catch-up's dial failed because the push server was down,
// and the new config's dial right after it opened because the server had just come back. The
// catch-up runs before anything of the new channels is delivered, and what the old channel held
// arrives.
func TestCatchUpAfterTheServerCameBack(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, c := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	next := requireAction[Connect](t, h.m.Closed(c.Gen, 1006, h.now)) // the server is down
	require.Contains(t, next.URL, newShare)
	acts := h.m.PollResult(next.Gen, 200, textMsg(mid(20), "application", "newer", `{}`), "", "", h.now)
	assert.Empty(t, messagesOf(eventsOf(t, acts)), "nothing of the new channels is delivered before the catch-up")
	retry := requireAction[Connect](t, acts)
	require.Contains(t, retry.URL, url.QueryEscape(sharedID))
	assert.Equal(t, mid(10), query(t, retry.URL).Get("mid"))
	acts = h.m.PollResult(retry.Gen, 200, textMsg(mid(12), "application", "stranded", `{}`), "", "", h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "what the old channel held arrives")
	last := requireAction[Connect](t, h.m.PollResult(retry.Gen, 200, expireShared(13), "", "", h.now))
	assert.Contains(t, last.URL, newShare)
	assert.Len(t, messagesOf(eventsOf(t, h.m.PollResult(last.Gen, 200, textMsg(mid(20), "application", "newer", `{}`), "", "", h.now))), 1)
	assert.Empty(t, h.m.owed)
}

// TestCatchUpRetriedWhileTheServerIsDown: while both dials fail, each reconnect tries the catch-up
// first; the first connection that opens ends it.
func TestCatchUpRetriedWhileTheServerIsDown(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	var dials []string
	for i := 0; i < 8; i++ {
		if strings.Contains(c.URL, newShare) {
			dials = append(dials, "new")
		} else {
			dials = append(dials, "old")
		}
		acts := h.m.Closed(c.Gen, 1006, h.now)
		if _, ok := find[LoadConfig](acts); ok {
			s := defaultSpec()
			s.shared = newShare
			acts = append(acts, h.m.ConfigLoaded(h.config(s), h.now)...)
		}
		if next, ok := find[Connect](acts); ok {
			c = next
			continue
		}
		require.Falsef(t, h.m.deadlines[tReconnect].IsZero(), "no reconnect scheduled: %v", h.m.Timers(h.now))
		h.now = h.m.deadlines[tReconnect]
		c = requireAction[Connect](t, h.m.Tick(h.now))
	}
	assert.Equal(t, []string{"old", "new", "old", "new", "old", "new", "old", "new"}, dials)
	require.Len(t, h.m.owed, 1)
	assert.Contains(t, c.URL, url.QueryEscape(sharedID), "the server is back: the catch-up comes first")
	h.m.Opened(c.Gen, h.now)
	next := requireAction[Connect](t, h.m.Frame(c.Gen, expireShared(13), false, h.now))
	assert.Contains(t, next.URL, newShare)
	assert.Empty(t, h.m.owed)
}

// TestCatchUpCutShortIsRetried: a catch-up connection lost before the rotated channel's last word is
// tried again, from the same position.
func TestCatchUpCutShortIsRetried(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	h.m.Opened(c.Gen, h.now)
	h.m.Frame(c.Gen, textMsg(mid(12), "application", "stranded", `{}`), false, h.now)
	h.now = h.now.Add(5 * time.Second)
	h.m.Closed(c.Gen, 1006, h.now)
	h.now = h.m.deadlines[tReconnect]
	again := requireAction[Connect](t, h.m.Tick(h.now))
	assert.Contains(t, again.URL, url.QueryEscape(sharedID))
	assert.Equal(t, mid(10), query(t, again.URL).Get("mid"))
	h.m.Opened(again.Gen, h.now)
	assert.Empty(t, messagesOf(eventsOf(t, h.m.Frame(again.Gen, textMsg(mid(12), "application", "stranded", `{}`), false, h.now))))
	next := requireAction[Connect](t, h.m.Frame(again.Gen, expireShared(13), false, h.now))
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))
}

// TestCatchUpOverLongPolling: the catch-up polls with the rotated ids too.
func TestCatchUpOverLongPolling(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, c := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	require.Equal(t, protocol.TransportLongPolling, c.Transport)
	assert.Contains(t, c.URL, url.QueryEscape(sharedID))
	acts := h.m.PollResult(c.Gen, 200, textMsg(mid(12), "application", "stranded", `{}`), "", "", h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1)
	p := requireAction[Poll](t, acts)
	assert.Contains(t, p.URL, url.QueryEscape(sharedID), "the next poll keeps the rotated ids")
	acts = h.m.PollResult(c.Gen, 200, expireShared(13), "", "", h.now)
	next := requireAction[Connect](t, acts)
	assert.Contains(t, next.URL, newShare)
}

// TestStopForgetsTheCatchUp: stop() drops owed channels with everything else.
func TestStopForgetsTheCatchUp(t *testing.T) {
	h, _ := rotatedWhileDown(t, Options{}, defaultSpec())
	require.NotEmpty(t, h.m.owed)
	h.m.Stop(h.now)
	assert.Empty(t, h.m.owed)
	assert.False(t, h.m.catchingUp)
}

// TestDrainOverLongPollingPollsTheOldChannels: while a long-polling connection drains rotated
// channels, its polls keep the ids it was opened with; polling the new ones would skip what the old
// channel still holds, and its channel_expire.
func TestDrainOverLongPollingPollsTheOldChannels(t *testing.T) {
	h := newHarness(t, Options{DisableWebSocket: true})
	s := defaultSpec()
	s.version = 3
	s.lifetime = time.Minute
	gen := h.start(s)
	h.advance(h.m.deadlines[tRenew].Sub(h.now))
	s.start = h.now
	s.shared = newShare
	requireNo[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	p := requireAction[Poll](t, h.m.PollResult(gen, 200, textMsg(mid(12), "application", "late", `{}`), "", "", h.now))
	assert.Contains(t, p.URL, url.QueryEscape(sharedID))
	assert.NotContains(t, p.URL, newShare)
	next := requireAction[Connect](t, h.m.PollResult(gen, 200, expireShared(13), "", "", h.now))
	assert.Contains(t, next.URL, newShare)
}

// TestRotationDuringADrainIsCaughtUpOn: a second rotation while the first drain is under way leaves
// channels no connection subscribed; after the drain they are caught up on, then the newest config
// is joined, each from where the first reload began.
func TestRotationDuringADrainIsCaughtUpOn(t *testing.T) {
	const newest = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.e231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, gen, _ := renewedShared(t) // draining sharedID; m.cfg holds newShare
	s := defaultSpec()
	s.lifetime = time.Minute
	s.start = h.now
	s.shared = newest
	h.m.reload(false)
	requireNo[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	require.Len(t, h.m.owed, 1)

	c := requireAction[Connect](t, h.m.Frame(gen, expireShared(13), false, h.now))
	assert.Contains(t, c.URL, newShare, "the intermediate channel is caught up on")
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))
	h.m.Opened(c.Gen, h.now)
	expireNew := channelExpireN(14, `{"action":"reconnect","channel":{"id":"`+newShare+`","type":"local.app"}}`)
	c = requireAction[Connect](t, h.m.Frame(c.Gen, expireNew, false, h.now))
	assert.Contains(t, c.URL, newest)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))
	assert.Empty(t, h.m.owed)
}

// TestCatchUpStartsWhereTheReplacedDialStarted: a config replaced while its connection was still
// dialling is caught up on from that dial's position, even when the newer reload began later.
func TestCatchUpStartsWhereTheReplacedDialStarted(t *testing.T) {
	const newest = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.e231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, gen, _ := renewedShared(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "private", `{}`), false, h.now)
	h.m.reload(false) // the next renewal begins at mid 12
	x := requireAction[Connect](t, h.m.Frame(gen, expireShared(13), false, h.now))
	assert.Equal(t, mid(10), query(t, x.URL).Get("mid"))
	s := defaultSpec()
	s.lifetime = time.Minute
	s.start = h.now
	s.shared = newest
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	assert.Contains(t, c.URL, newShare, "the replaced dial's channels are caught up on")
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"), "from where that dial started")
}

// TestMessagesAfterASwitchInTheSameFrameKeepTheResumePosition: messages behind a channel_expire
// that replaced the connection are delivered, but the next connection resumes from the notice, so
// that what the new channel received in between (older ids) is replayed.
func TestMessagesAfterASwitchInTheSameFrameKeepTheResumePosition(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	frame := append(channelExpireN(13, params), textMsg(mid(15), "application", "private", `{}`)...)
	acts := h.m.Frame(gen, frame, false, h.now)
	requireAction[Disconnect](t, acts)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "the message behind the notice is delivered")
	c := requireAction[Connect](t, h.advance(time.Second))
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(13), query(t, c.URL).Get("mid"), "resume from the notice, not from the message behind it")
	h.m.Opened(c.Gen, h.now)
	acts = h.m.Frame(c.Gen, append(textMsg(mid(14), "application", "new", `{}`), textMsg(mid(15), "application", "private", `{}`)...), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "the new channel's message is delivered, the overlap skipped")
}

// TestAnswerInFlightDuringAChannelExpireIsAppliedAndFollowed: a config answer requested before a
// channel_expire may predate it; it is applied (channels it holds may have carried messages since)
// and another load follows, keeping the resume floor.
func TestAnswerInFlightDuringAChannelExpireIsAppliedAndFollowed(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.Frame(gen, textMsg(mid(10), "application", "a", `{}`), false, h.now)
	h.m.reload(false) // a renewal in flight
	requireAction[LoadConfig](t, h.m.finish())
	requireNo[LoadConfig](t, h.m.Frame(gen, expireShared(11), false, h.now))
	acts := h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	s := defaultSpec()
	s.shared = newShare
	acts = h.m.ConfigLoaded(h.config(s), h.now)
	c := requireAction[Connect](t, acts)
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"), "resume from where the first load was asked for")
}

// TestInPlaceSwitchOutlivesAnOlderAnswer: a channel replaced in place by a channel_expire's
// new_channel is not undone by a config answer that was already on its way with the older channel.
func TestInPlaceSwitchOutlivesAnOlderAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.reload(false)
	requireAction[LoadConfig](t, h.m.finish())
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:05+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	requireAction[Disconnect](t, h.m.Frame(gen, channelExpireN(11, params), false, h.now))
	acts := h.m.ConfigLoaded(h.config(defaultSpec()), h.now)
	requireAction[LoadConfig](t, acts)
	assert.Equal(t, newShare, h.m.Config().Channels.Shared.ID, "the older channel of the answer is not taken")
	c := requireAction[Connect](t, h.advance(time.Second))
	assert.Contains(t, c.URL, newShare)
	assert.NotContains(t, c.URL, url.QueryEscape(sharedID))
}

// TestChannelExpireWithATokenReloads: in version 5 the token names the channels, so a new_channel
// cannot be applied in place: the config is reloaded for a token that carries it.
func TestChannelExpireWithATokenReloads(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.version = 5
	gen := h.start(s)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	frame := protocol.EncodeIncomingMessage(mid(11), json.RawMessage(`{"module_id":"pull","command":"channel_expire","params":`+params+`}`),
		protocol.Sender{Type: 0}, nil, nil)
	acts := h.m.Frame(gen, frame, false, h.now)
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, sharedID, h.m.Config().Channels.Shared.ID)
}

// TestConfigReplacedDuringACatchUpIsOwedFromWhereItWasApplied: a config that was applied but never
// dialled (a catch-up of an older one came first) and is then replaced is caught up on from where the
// resume position stood when it was applied, not from the newer reload's floor.
func TestConfigReplacedDuringACatchUpIsOwedFromWhereItWasApplied(t *testing.T) {
	const newest = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.e231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, _ := rotatedWhileDown(t, Options{}, defaultSpec()) // catching up on sharedID; newShare applied at mid 10
	require.True(t, h.m.catchingUp)
	h.m.resume.MID = mid(20) // the next reload begins further on
	h.m.reload(false)
	requireAction[LoadConfig](t, h.m.finish())
	s := defaultSpec()
	s.shared = newest
	h.m.ConfigLoaded(h.config(s), h.now)
	require.Len(t, h.m.owed, 2)
	assert.Equal(t, mid(10), h.m.owed[1].mid, "newShare carried messages from mid 10 on")
}

// TestCatchUpGivenUpAfterRepeatedCuts: catch-up connections that open and are lost before the
// rotated channel's last word are tried maxCatchUpOpens times; then the new config is dialled.
func TestCatchUpGivenUpAfterRepeatedCuts(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	for i := 0; i < maxCatchUpOpens; i++ {
		require.Contains(t, c.URL, url.QueryEscape(sharedID), "catch-up %d", i+1)
		h.m.Opened(c.Gen, h.now)
		h.m.Frame(c.Gen, textMsg(mid(12+i), "application", "a", `{}`), false, h.now)
		h.now = h.now.Add(5 * time.Second)
		h.m.Closed(c.Gen, 1006, h.now)
		h.now = h.m.deadlines[tReconnect]
		c = requireAction[Connect](t, h.m.Tick(h.now))
	}
	assert.Contains(t, c.URL, newShare)
	assert.Empty(t, h.m.owed)
}

// newPriv is a private channel the portal created after the harness's configs.
const newPriv = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.f231f9b4a84e3ee57ab206acf67cd39ac734a404"

// textMsgAt builds one legacy text piece published at server time at.
func textMsgAt(mid string, at time.Time, module, command, params string) []byte {
	body := fmt.Sprintf(`{"module_id":%q,"command":%q,"params":%s,"extra":{"server_time_unix":%.3f}}`,
		module, command, params, float64(at.UnixMilli())/1000)
	return protocol.EncodeText(protocol.TextEnvelope{ID: 1, MID: mid, Channel: "-", Tag: "1", Time: "x", Text: json.RawMessage(body)})
}

// receiveTimed feeds messages 1..n on gen, message i published at t0 + 10.5 s + i s.
func receiveTimed(h *harness, gen, n int) {
	for i := 1; i <= n; i++ {
		h.m.Frame(gen, textMsgAt(mid(i), t0.Add(10500*time.Millisecond+time.Duration(i)*time.Second), "application", "c", `{}`), false, h.now)
	}
}

// TestLateNamedChannelResumesFromItsStart: a config names a private channel the portal created while
// the client still received other channels' messages (its channel_expire went to a channel the client
// no longer listened to). The connection to it resumes from before the channel's start, less a margin,
// not from where the reload began: the messages received meanwhile have newer ids than the new
// channel's first ones.
func TestLateNamedChannelResumesFromItsStart(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	receiveTimed(h, gen, 11) // message i at t0+10.5s+i
	expire := textMsgAt(mid(12), t0.Add(22500*time.Millisecond), "pull", "channel_expire", `{"action":"get_config","channel":{"id":"`+privID+`","type":"private"}}`)
	requireAction[LoadConfig](t, h.m.Frame(gen, expire, false, h.now))
	s := defaultSpec()
	s.private, s.start = newPriv, t0.Add(15*time.Second)
	acts := h.m.ConfigLoaded(h.config(s), h.now)
	requireAction[Disconnect](t, acts)
	c := requireAction[Connect](t, acts)
	assert.Contains(t, c.URL, newPriv)
	// the first message published at or after start − channelStartMargin (t0+14s) is 4 (t0+14.5s):
	// the one that arrived before it, 3, is where the replay starts
	assert.Equal(t, mid(3), query(t, c.URL).Get("mid"))
}

// renewalAfterDrop starts a harness on one-minute channels, receives the timed messages 1..11, lets
// the renewal come due and drops the connection while the config loads. It returns the spec started.
func renewalAfterDrop(t *testing.T) (*harness, cfgSpec) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	receiveTimed(h, gen, 11)
	requireAction[LoadConfig](t, h.advance(h.m.deadlines[tRenew].Sub(h.now)))
	h.m.Closed(gen, 1006, h.now)
	return h, s
}

// TestCatchUpThenLateNamedChannel: when a catch-up on the previous config comes first, the connection
// after it still starts from before the new channel's start, not from where the catch-up got.
func TestCatchUpThenLateNamedChannel(t *testing.T) {
	h, s := renewalAfterDrop(t)
	next := s
	next.shared, next.start = newShare, t0.Add(15*time.Second)
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(next), h.now))
	assert.Contains(t, c.URL, url.QueryEscape(sharedID), "the catch-up subscribes the rotated channel")
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"), "the catch-up starts where the old connection got")
	h.m.Opened(c.Gen, h.now)
	c = requireAction[Connect](t, h.m.Frame(c.Gen, channelExpireN(12, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`), false, h.now))
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(3), query(t, c.URL).Get("mid"), "the new channel is joined from before its start")
}

// TestLateNamedChannelOlderThanTheWindow: when every message still remembered is newer than the new
// channel's start, the position goes back as far as the de-duplication window safely allows (its
// newer half), not further: a replay from beyond it would deliver messages twice.
func TestLateNamedChannelOlderThanTheWindow(t *testing.T) {
	h := newHarness(t, Options{DedupWindow: 8})
	gen := h.start(defaultSpec())
	receiveTimed(h, gen, 11)
	requireAction[LoadConfig](t, h.m.Frame(gen, channelExpireN(12, `{"action":"get_config","channel":{"id":"`+privID+`","type":"private"}}`), false, h.now))
	s := defaultSpec()
	s.private = newPriv // started at t0, before every message
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	// remembered in arrival order: 5..12; the newer half is 9..12
	assert.Equal(t, mid(9), query(t, c.URL).Get("mid"))
}

// TestUnchangedChannelsKeepThePosition: a config whose channels the client already had (only the
// other one rotated, or none) moves nothing back.
func TestUnchangedChannelsKeepThePosition(t *testing.T) {
	h, s := renewalAfterDrop(t)
	next := s
	next.start = h.now // the same ids renewed: nothing rotated
	acts := h.m.ConfigLoaded(h.config(next), h.now)
	for i := 0; i < 60; i++ {
		if _, ok := find[Connect](acts); ok {
			break
		}
		acts = h.advance(time.Second)
	}
	c := requireAction[Connect](t, acts)
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"))
}

// expirePrivate is channel_expire of the harness's private channel, as the portal words it for an
// app (type = the client id, no new_channel).
func expirePrivate(n int) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+privID+`","type":"local.app"}}`)
}

// catchUpOwingTwo is rotatedWhileDown followed by a second rotation while the catch-up dials: the
// private channel, shared by both owed configs, rotates too. owed[0] is {privID, sharedID} waiting
// for sharedID, owed[1] is {privID, newShare} waiting for privID; the config is {newPriv, newShare}.
func catchUpOwingTwo(t *testing.T) (*harness, Connect) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	require.True(t, h.m.catchingUp)
	h.m.reload(false)
	requireAction[LoadConfig](t, h.m.finish())
	s := defaultSpec()
	s.private, s.shared = newPriv, newShare
	h.m.ConfigLoaded(h.config(s), h.now)
	require.Len(t, h.m.owed, 2)
	return h, c
}

// TestLastWordOnAnEarlierCatchUpSettlesTheNextOne: a catch-up replays every channel of its config,
// so it can bring the last word of a channel that a later catch-up owes. That notice comes once (a
// replay of it is a duplicate): the later catch-up must not wait for it again.
func TestLastWordOnAnEarlierCatchUpSettlesTheNextOne(t *testing.T) {
	h, c := catchUpOwingTwo(t)
	h.m.Opened(c.Gen, h.now)
	requireNo[Connect](t, h.m.Frame(c.Gen, expirePrivate(13), false, h.now))
	require.Len(t, h.m.owed, 1, "the second catch-up is settled")
	next := requireAction[Connect](t, h.m.Frame(c.Gen, expireShared(14), false, h.now))
	assert.Contains(t, next.URL, newPriv, "the newest config is joined at once")
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))
	assert.Empty(t, h.m.owed)
}

// TestLastWordFromALaterPositionSettlesNothing: a notice that came on a connection dialled from
// further on than where a catch-up must start does not vouch for what the channel held before.
func TestLastWordFromALaterPositionSettlesNothing(t *testing.T) {
	h, c := catchUpOwingTwo(t)
	h.m.owed[1].mid = mid(9)
	h.m.Opened(c.Gen, h.now)
	h.m.Frame(c.Gen, expirePrivate(13), false, h.now)
	require.Len(t, h.m.owed, 2)
	next := requireAction[Connect](t, h.m.Frame(c.Gen, expireShared(14), false, h.now))
	assert.Contains(t, next.URL, url.QueryEscape(privID), "the second catch-up still runs")
	assert.Equal(t, mid(9), query(t, next.URL).Get("mid"))
}

// TestCatchUpSettledWhileDiallingSwitchesOnOpen: when every channel a catch-up waits for said its
// last word before the catch-up opened, it switches as soon as it opens.
func TestCatchUpSettledWhileDiallingSwitchesOnOpen(t *testing.T) {
	h, c := rotatedWhileDown(t, Options{}, defaultSpec())
	h.m.connFrom = mid(10) // as if the notice came on a connection dialled from the catch-up's position
	h.m.sawLastWord(sharedID)
	require.Len(t, h.m.owed, 1, "the catch-up under way keeps its entry")
	h.m.Opened(c.Gen, h.now)
	acts := h.advance(0)
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	assert.Contains(t, requireAction[Connect](t, acts).URL, newShare)
	assert.Empty(t, h.m.owed)
}

// TestLastWordRememberedAcrossConfigs: a channel whose channel_expire arrived is not caught up on
// when a later config drops it, though other configs were applied in between.
func TestLastWordRememberedAcrossConfigs(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.Frame(gen, textMsg(mid(10), "application", "a", `{}`), false, h.now)
	requireAction[LoadConfig](t, h.m.Frame(gen, expirePrivate(11), false, h.now))
	// The answer still names the private channel (the portal had not rotated it yet) but a new
	// shared one; the connection moves to it.
	s := defaultSpec()
	s.shared = newShare
	h.m.ConfigLoaded(h.config(s), h.now)
	c := requireAction[Connect](t, h.m.Frame(gen, expireShared(12), false, h.now))
	h.m.Opened(c.Gen, h.now)
	h.m.Closed(c.Gen, 1006, h.now)
	// While disconnected, the private channel is found rotated.
	h.m.reload(false)
	requireAction[LoadConfig](t, h.m.finish())
	s.private = newPriv
	next := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	assert.Contains(t, next.URL, newPriv, "no catch-up: the private channel's last word arrived")
	assert.Empty(t, h.m.owed)
}

// expireSharedFor is channel_expire of the harness's shared channel naming next as its successor,
// worded as the portal does for an app's shared channel.
func expireSharedFor(n int, next string, start time.Time) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"},"new_channel":{"id":"`+next+
		`","start":"`+start.Format(time.RFC3339)+`","end":"`+start.Add(time.Minute).Format(time.RFC3339)+`","type":"local.app"}}`)
}

// TestSkippedSuccessorIsCaughtUpOn: the drained channel's channel_expire names a successor that the
// config being switched to no longer holds (the portal rotated it again before the answer). What was
// sent to it is caught up on through its own id before the new config is joined.
func TestSkippedSuccessorIsCaughtUpOn(t *testing.T) {
	const middle = "cccccccccccccccccccccccccccccccc.c231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, gen, _ := renewedShared(t) // draining sharedID from mid 10; m.cfg holds newShare
	c := requireAction[Connect](t, h.m.Frame(gen, expireSharedFor(12, middle, h.now), false, h.now))
	assert.Contains(t, c.URL, middle, "the skipped successor is caught up on")
	assert.NotContains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"))

	h.m.Opened(c.Gen, h.now)
	acts := h.m.Frame(c.Gen, textMsg(mid(13), "application", "on the successor", `{}`), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1)
	expireMiddle := channelExpireN(14, `{"action":"reconnect","channel":{"id":"`+middle+`","type":"local.app"}}`)
	next := requireAction[Connect](t, h.m.Frame(c.Gen, expireMiddle, false, h.now))
	assert.Contains(t, next.URL, newShare)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))
	assert.Empty(t, h.m.owed)
}

// TestNamedSuccessorInTheNewConfigNeedsNoCatchUp: when the successor the notice names is the new
// config's own channel, the switch goes straight to it.
func TestNamedSuccessorInTheNewConfigNeedsNoCatchUp(t *testing.T) {
	h, gen, _ := renewedShared(t)
	c := requireAction[Connect](t, h.m.Frame(gen, expireSharedFor(12, newShare, h.now), false, h.now))
	assert.Contains(t, c.URL, newShare)
	assert.Empty(t, h.m.owed)
}

// TestSkippedSuccessorDuringACatchUp: a catch-up that learns of a skipped successor catches up on it
// next, then joins the new config.
func TestSkippedSuccessorDuringACatchUp(t *testing.T) {
	const middle = "cccccccccccccccccccccccccccccccc.c231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, c := rotatedWhileDown(t, Options{}, defaultSpec()) // catching up on sharedID; m.cfg holds newShare
	h.m.Opened(c.Gen, h.now)
	next := requireAction[Connect](t, h.m.Frame(c.Gen, expireSharedFor(12, middle, h.now), false, h.now))
	assert.Contains(t, next.URL, middle)
	assert.Equal(t, mid(10), query(t, next.URL).Get("mid"))
	h.m.Opened(next.Gen, h.now)
	expireMiddle := channelExpireN(13, `{"action":"reconnect","channel":{"id":"`+middle+`","type":"local.app"}}`)
	last := requireAction[Connect](t, h.m.Frame(next.Gen, expireMiddle, false, h.now))
	assert.Contains(t, last.URL, newShare)
	assert.Empty(t, h.m.owed)
}

// nearBothEnds starts a harness whose channels both end a minute after t0, lets message 10 arrive
// and, a second before the end, the shared channel's channel_expire naming its successor (message
// 11). It returns the harness, the live connection and the actions of the notice.
func nearBothEnds(t *testing.T) (*harness, int, []Action) {
	h, _, gen := minuteChannels(t)
	h.advance(59 * time.Second)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:59+00:00","end":"2026-11-24T03:01:59+00:00","type":"shared"}}`
	return h, gen, h.m.Frame(gen, channelExpireN(11, params), false, h.now)
}

// expirePrivateFor is the private channel's channel_expire naming newPriv as its successor.
func expirePrivateFor(n int) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+privID+`","type":"private"},"new_channel":{"id":"`+newPriv+
		`","start":"2026-11-24T03:01:00+00:00","end":"2026-11-24T03:02:00+00:00","type":"private"}}`)
}

// TestInPlaceSwitchWaitsForTheOtherChannelEndingToo: a channel_expire that replaces the shared
// channel while the private one ends within switchDrainTimeout keeps the connection, which still
// brings the private channel's messages and then its channel_expire; one connection then joins both
// successors, from the shared notice on.
func TestInPlaceSwitchWaitsForTheOtherChannelEndingToo(t *testing.T) {
	h, gen, acts := nearBothEnds(t)
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, newShare, h.m.Config().Channels.Shared.ID, "the successor is taken at once")
	assert.Contains(t, h.m.Timers(h.now), "switch")
	assert.Equal(t, StatusOnline, h.m.Status())

	acts = h.m.Frame(gen, textMsg(mid(12), "application", "private", `{}`), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "the private channel's messages still arrive")
	acts = h.m.Frame(gen, expirePrivateFor(13), false, h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := requireAction[Connect](t, acts)
	q := query(t, c.URL)
	assert.Equal(t, newPriv+"/"+newShare, q.Get("CHANNEL_ID"))
	assert.Equal(t, mid(11), q.Get("mid"), "from the shared notice: the new shared channel's messages came after it")
	assert.EqualValues(t, 2, h.m.Stats().Renewals)
	assert.Empty(t, h.m.owed)

	h.m.Opened(c.Gen, h.now)
	acts = h.m.Frame(c.Gen, append(textMsg(mid(12), "application", "private", `{}`), textMsg(mid(14), "application", "shared", `{}`)...), false, h.now)
	assert.Len(t, messagesOf(eventsOf(t, acts)), 1, "the overlap is skipped")
}

// TestInPlaceSwitchWaitEndsWithTheOtherChannelsLastWord: the other channel's channel_expire in an
// app's wording names no successor: the config is reloaded while the connection stays, and its answer
// makes the switch, from where the wait began.
func TestInPlaceSwitchWaitEndsWithTheOtherChannelsLastWord(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "private", `{}`), false, h.now)
	acts := h.m.Frame(gen, expirePrivate(13), false, h.now)
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
	s := defaultSpec()
	s.lifetime = time.Minute
	s.private, s.shared, s.start = newPriv, newShare, h.now
	acts = h.m.ConfigLoaded(h.config(s), h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := requireAction[Connect](t, acts)
	assert.Equal(t, newPriv+"/"+newShare, query(t, c.URL).Get("CHANNEL_ID"))
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"))
	assert.Empty(t, h.m.owed)
}

// TestInPlaceSwitchWaitsNoLongerThanTheRenewal: without the other channel's channel_expire, the
// switch happens switchDrainTimeout after the renewal due for that channel, with the channel kept.
func TestInPlaceSwitchWaitsNoLongerThanTheRenewal(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	wait := h.m.deadlines[tSwitch].Sub(h.now)
	assert.Equal(t, h.m.deadlines[tRenew].Sub(h.now)+switchDrainTimeout, wait)
	h.m.reload(false) // the renewal, answered with the same private channel
	h.m.finish()
	h.m.ConfigLoaded(h.m.Config(), h.now)
	requireNo[Disconnect](t, h.advance(wait-time.Millisecond))
	acts := h.advance(time.Millisecond)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := requireAction[Connect](t, acts)
	assert.Equal(t, privID+"/"+newShare, query(t, c.URL).Get("CHANNEL_ID"))
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"))
}

// TestInPlaceSwitchWaitEndsWithTheConnection: a connection lost while waiting for the other channel
// is replaced by one with the config in use, which still holds that channel: nothing is owed.
func TestInPlaceSwitchWaitEndsWithTheConnection(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "private", `{}`), false, h.now)
	h.m.Closed(gen, 1006, h.now)
	assert.Empty(t, h.m.owed)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
	c := requireAction[Connect](t, h.advance(time.Second))
	assert.Equal(t, privID+"/"+newShare, query(t, c.URL).Get("CHANNEL_ID"))
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"))
}

// TestInPlaceSwitchWhenTheOtherChannelLivesOn: far from the other channel's end, the connection is
// replaced after ChannelExpireReconnect, as the protocol asks.
func TestInPlaceSwitchWhenTheOtherChannelLivesOn(t *testing.T) {
	h, _, gen := minuteChannels(t)
	h.advance(57 * time.Second)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:57+00:00","end":"2026-11-24T03:01:57+00:00","type":"shared"}}`
	acts := h.m.Frame(gen, channelExpireN(11, params), false, h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
}

// TestInPlaceSwitchAfterTheOtherChannelsLastWordWaitsForTheAnswer: the private channel said its last
// word (no successor named, a reload on its way) before the shared channel's channel_expire: nothing
// is dialled with the spent private channel; the config answer connects, from where the reload was
// asked for.
func TestInPlaceSwitchAfterTheOtherChannelsLastWordWaitsForTheAnswer(t *testing.T) {
	h, s, gen := minuteChannels(t)
	requireAction[LoadConfig](t, h.m.Frame(gen, expirePrivate(11), false, h.now))
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T03:01:00+00:00","type":"shared"}}`
	acts := h.m.Frame(gen, channelExpireN(12, params), false, h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	requireNo[Connect](t, acts)
	requireNo[Connect](t, h.advance(time.Second))
	s.private, s.shared = newPriv, newShare
	c := requireAction[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	assert.Equal(t, newPriv+"/"+newShare, query(t, c.URL).Get("CHANNEL_ID"))
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"), "from where the reload was asked for")
}

// TestInPlaceSuccessorRotatedBeforeItWasJoined: while the connection is kept for the private
// channel, the portal rotates both channels at once: the private notice ends the wait, and the
// config answer names successors of both. The shared channel taken in place was never subscribed by
// any connection, so it is caught up on, from before it started, before the newest channels.
func TestInPlaceSuccessorRotatedBeforeItWasJoined(t *testing.T) {
	const newest = "dddddddddddddddddddddddddddddddd.d231f9b4a84e3ee57ab206acf67cd39ac734a404"
	h, gen, _ := nearBothEnds(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "private", `{}`), false, h.now)
	requireAction[LoadConfig](t, h.m.Frame(gen, expirePrivate(13), false, h.now))
	s := defaultSpec()
	s.lifetime = time.Minute
	s.private, s.shared, s.start = newPriv, newest, h.now
	acts := h.m.ConfigLoaded(h.config(s), h.now)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen, "the kept connection holds nothing to wait for")
	c := requireAction[Connect](t, acts)
	assert.Equal(t, privID+"/"+newShare, query(t, c.URL).Get("CHANNEL_ID"), "a catch-up of the shared channel never joined")
	assert.Equal(t, mid(11), query(t, c.URL).Get("mid"))

	h.m.Opened(c.Gen, h.now)
	next := requireAction[Connect](t, h.m.Frame(c.Gen, channelExpireN(15, `{"action":"reconnect","channel":{"id":"`+newShare+`","type":"local.app"}}`), false, h.now))
	assert.Equal(t, newPriv+"/"+newest, query(t, next.URL).Get("CHANNEL_ID"))
	assert.Equal(t, mid(11), query(t, next.URL).Get("mid"))
}

// TestCatchUpLostAtOnceIsTriedAgain: a catch-up connection that opens and ends at once without a
// close code (a dropped network, or a server refusing after the open: a browser cannot tell) counts
// as refused, so the new config is dialled; once that opens, the catch-up is dialled once more. A
// close code refusing the ids (4010) gives it up.
func TestCatchUpLostAtOnceIsTriedAgain(t *testing.T) {
	for _, tc := range []struct {
		code  int
		again bool
	}{{1006, true}, {CloseWrongChannel, false}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			h, c := rotatedWhileDown(t, Options{}, defaultSpec())
			h.m.Opened(c.Gen, h.now)
			next := requireAction[Connect](t, h.m.Closed(c.Gen, tc.code, h.now))
			require.Contains(t, next.URL, newShare)
			acts := h.m.Opened(next.Gen, h.now)
			if !tc.again {
				requireNo[Disconnect](t, acts)
				assert.Empty(t, h.m.owed)
				return
			}
			retry := requireAction[Connect](t, acts)
			assert.Contains(t, retry.URL, url.QueryEscape(sharedID), "the catch-up is dialled once more")
			assert.Equal(t, mid(10), query(t, retry.URL).Get("mid"))
		})
	}
}

// TestPositionTakenBeforeAnyMessage: a reload asked for before anything arrived has no resume
// position, which a server takes as "replay nothing". The first message that arrives afterwards
// stands in for it, so the connection after the switch replays what followed that message.
func TestPositionTakenBeforeAnyMessage(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.m.reload(false)
	requireAction[LoadConfig](t, h.m.finish())
	h.m.Frame(gen, textMsg(mid(10), "application", "first", `{}`), false, h.now)
	h.m.Frame(gen, textMsg(mid(11), "application", "second", `{}`), false, h.now)
	s := defaultSpec()
	s.shared = newShare
	requireNo[Connect](t, h.m.ConfigLoaded(h.config(s), h.now))
	c := requireAction[Connect](t, h.m.Frame(gen, expireShared(12), false, h.now))
	assert.Contains(t, c.URL, newShare)
	assert.Equal(t, mid(10), query(t, c.URL).Get("mid"), "from the first message after the reload was asked for")
}

package session

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/protocol"
)

// Moving to rotated channels without losing messages, checked from outside the machine: the URLs it
// dials (which channels, from which mid), the events it delivers (each message once), the config loads
// it asks for and when it acts. Messages are built by msg(n) (mid n), and h.delivered() lists the ones
// that reached the subscribers.

// Other channels than the harness's first ones.
const (
	newPriv = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.f231f9b4a84e3ee57ab206acf67cd39ac734a404"
	middle  = "cccccccccccccccccccccccccccccccc.c231f9b4a84e3ee57ab206acf67cd39ac734a404"
	newest  = "dddddddddddddddddddddddddddddddd.d231f9b4a84e3ee57ab206acf67cd39ac734a404"
)

// minuteChannels starts a harness whose channels live a minute from t0 and lets message 10 arrive.
func minuteChannels(t *testing.T) (*harness, cfgSpec, int) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	h.frame(gen, msg(10))
	return h, s, gen
}

// renewing is minuteChannels until the renewal comes due; message 11 (on the private channel) arrives
// while the config loads. It returns the answer to give: the shared channel rotated.
func renewing(t *testing.T) (*harness, cfgSpec, int) {
	h, s, gen := minuteChannels(t)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	h.frame(gen, msg(11))
	s.start = h.now
	s.shared = newShare
	return h, s, gen
}

// renewedShared is renewing with its answer given; it returns the answer's actions.
func renewedShared(t *testing.T) (*harness, int, []Action) {
	h, next, gen := renewing(t)
	return h, gen, h.answer(next)
}

// drainingShortLived is renewing answered with a shared channel (newShare) that ends as the answer
// arrives (the portal hands a channel out until its end has passed): the renewal that follows comes
// due a second later, while the connection still waits for the rotated channel's last word. It
// returns the spec of that answer.
func drainingShortLived(t *testing.T) (*harness, cfgSpec, int) {
	h, next, gen := renewing(t)
	next.start = h.now.Add(-next.lifetime)
	requireNo[Connect](t, h.answer(next))
	return h, next, gen
}

func expireShared(n int) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"}}`)
}

// expireChannel is channel_expire of id without a successor, as the portal words it for an app.
func expireChannel(n int, id string) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+id+`","type":"local.app"}}`)
}

// expirePrivate is channel_expire of the harness's private channel, as the portal words it for an
// app (type = the client id, no new_channel).
func expirePrivate(n int) []byte { return expireChannel(n, privID) }

// configExpire is config_expire as message n: a reload after RestartDelay.
func configExpire(n int) []byte { return textMsg(mid(n), "pull", "config_expire", `{}`) }

// reloadInFlight has config_expire (message n) arrive on connection gen and lets its delay pass: a
// config load is then under way while the connection stays.
func reloadInFlight(h *harness, gen, n int) {
	h.t.Helper()
	h.frame(gen, configExpire(n))
	requireAction[LoadConfig](h.t, h.advanceTo("reload"))
}

// TestSwitchDrainsTheRotatedChannel: a renewal that rotates a channel keeps the live connection until
// that channel's channel_expire arrives, delivering what was still on its way there; the next
// connection resumes from where the load began, and is not switched again.
func TestSwitchDrainsTheRotatedChannel(t *testing.T) {
	h, gen, acts := renewedShared(t)
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)

	h.frame(gen, msg(12)) // published to the old shared channel before the rotation, still on its way
	acts = h.frame(gen, expireShared(13))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := expectDial(t, acts, 10, privID, newShare)
	assert.Equal(t, []int{10, 11, 12}, h.delivered(), "the late message is delivered")
	h.open(c.Gen)
	h.quiet(2 * switchDrainTimeout)
}

// TestSwitchWithoutChannelExpireTimesOut: the switch happens after switchDrainTimeout when the
// rotated channel never says its last word.
func TestSwitchWithoutChannelExpireTimesOut(t *testing.T) {
	h, gen, _ := renewedShared(t)
	expectDial(t, h.replacedAt(h.now.Add(switchDrainTimeout), gen), 10, privID, newShare)
}

// TestSwitchCutShortByAClose: a connection lost while draining first catches up on the rotated
// channel from where the load began, then moves to the new channels from there too, not from the
// newer ids that arrived meanwhile. The drain's own bound no longer applies.
func TestSwitchCutShortByAClose(t *testing.T) {
	h, gen, _ := renewedShared(t)
	h.frame(gen, msg(12))
	h.drop(gen, 1006)
	acts := h.advance(switchDrainTimeout)
	require.Len(t, all[Connect](acts), 1, "one reconnect, no switch")
	c := expectDial(t, acts, 10, privID, sharedID) // the catch-up subscribes the rotated channel
	h.open(c.Gen)
	acts = h.frame(c.Gen, msg(11), msg(12), expireShared(13)) // the replay
	next := expectDial(t, acts, 10, privID, newShare)
	h.open(next.Gen)
	h.frame(next.Gen, msg(11), msg(14))
	assert.Equal(t, []int{10, 11, 12, 14}, h.delivered())
}

// TestSwitchAfterTheNoticeIsImmediate: when the rotated channel's channel_expire is what asked for
// the config, the switch does not wait.
func TestSwitchAfterTheNoticeIsImmediate(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	requireAction[LoadConfig](t, h.frame(gen, expireShared(50)))
	s := defaultSpec()
	s.shared = newShare
	acts := h.answer(s)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	expectDial(t, acts, 50, privID, newShare)
}

// downUntilReload starts a harness, lets message 10 arrive (by long polling for version 3), loses
// the connection and has the reconnects refused until the config reload they ask for.
func downUntilReload(t *testing.T, opts Options, s cfgSpec) *harness {
	h := newHarness(t, opts)
	gen := h.start(s)
	if s.version == 3 {
		h.poll(gen, 200, msg(10))
	} else {
		h.frame(gen, msg(10))
	}
	refusedUntilReload(h, gen)
	return h
}

// refusedUntilReload loses connection gen and has the reconnects refused until they ask for the config.
func refusedUntilReload(h *harness, gen int) {
	h.t.Helper()
	acts := h.drop(gen, 1006)
	for i := 0; i < 3; i++ {
		if _, ok := find[LoadConfig](acts); ok {
			return
		}
		c := requireAction[Connect](h.t, h.advanceTo("reconnect"))
		acts = h.drop(c.Gen, 1006)
	}
	requireAction[LoadConfig](h.t, acts)
}

// rotatedWhileDown is downUntilReload answered with the shared channel rotated. It returns the
// answer's actions, which dial the next connection.
func rotatedWhileDown(t *testing.T, opts Options, s cfgSpec) (*harness, []Action) {
	h := downUntilReload(t, opts, s)
	s.shared = newShare
	return h, h.answer(s)
}

// catchingUp is rotatedWhileDown with the default spec: it returns the catch-up's dial, which
// subscribes the rotated channel from where the old connection got.
func catchingUp(t *testing.T) (*harness, dial) {
	h, acts := rotatedWhileDown(t, Options{}, defaultSpec())
	return h, expectDial(t, acts, 10, privID, sharedID)
}

// TestCatchUpAfterRotationWhileDisconnected: channels rotated while no connection was open are
// drained by a connection with the old ids from where the old connection got; then the new channels
// are joined from the same position, the overlap skipped, and nothing more is owed.
func TestCatchUpAfterRotationWhileDisconnected(t *testing.T) {
	h, c := catchingUp(t)
	h.open(c.Gen)
	h.frame(c.Gen, msg(12)) // stranded on the old channel
	acts := h.frame(c.Gen, expireShared(13))
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	next := expectDial(t, acts, 10, privID, newShare)

	h.open(next.Gen)
	h.frame(next.Gen, msg(12), msg(14)) // the replay overlaps the catch-up
	assert.Equal(t, []int{10, 12, 14}, h.delivered())
	h.quiet(2 * switchDrainTimeout)
	h.expectRedial(next.Gen, privID, newShare)
}

// TestCatchUpWithoutChannelExpireTimesOut: a rotated channel whose last word is no longer stored does
// not hold the new channels back for longer than catchUpDrainTimeout.
func TestCatchUpWithoutChannelExpireTimesOut(t *testing.T) {
	h, c := catchingUp(t)
	h.open(c.Gen)
	next := expectDial(t, h.replacedAt(h.now.Add(catchUpDrainTimeout), c.Gen), 10, privID, newShare)
	h.joined(next, 11)
}

// TestCatchUpRefusedThenNewConfigOpens: a server that refuses rotated ids costs a failed dial, after
// which the new config is dialled at once. Its open proves the server up, so the catch-up is dialled
// once more (it may have failed only because the server was down), before anything is delivered on
// the new connection; refused again, it is given up when the new config opens the second time.
func TestCatchUpRefusedThenNewConfigOpens(t *testing.T) {
	h, c := catchingUp(t)
	next := expectDial(t, h.drop(c.Gen, 1006), 10, privID, newShare)

	acts := h.open(next.Gen)
	assert.Equal(t, next.Gen, requireAction[Disconnect](t, acts).Gen, "closed before anything is delivered on it")
	retry := expectDial(t, acts, 10, privID, sharedID)
	assert.NotEqual(t, StatusOnline, h.m.Status())

	next = expectDial(t, h.drop(retry.Gen, 1006), 10, privID, newShare)
	requireNo[Connect](t, h.open(next.Gen))
	assert.Equal(t, StatusOnline, h.m.Status())
	h.joined(next, 11) // no catch-up once the new channels were joined
}

// TestCatchUpAfterTheServerCameBack: the catch-up's dial failed because the push server was down,
// and the new config's dial right after it opened because the server had just come back. The
// catch-up runs before anything of the new channels is delivered, and what the old channel held
// arrives.
func TestCatchUpAfterTheServerCameBack(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, acts := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	c := dialOf(t, requireAction[Connect](t, acts))
	next := expectDial(t, h.drop(c.Gen, 1006), 10, privID, newShare) // the server is down
	acts = h.poll(next.Gen, 200, msg(20))
	assert.Equal(t, []int{10}, h.delivered(), "nothing of the new channels is delivered before the catch-up")
	retry := expectDial(t, acts, 10, privID, sharedID)
	h.poll(retry.Gen, 200, msg(12))
	last := expectDial(t, h.poll(retry.Gen, 200, expireShared(13)), 10, privID, newShare)
	h.poll(last.Gen, 200, msg(20))
	assert.Equal(t, []int{10, 12, 20}, h.delivered(), "what the old channel held arrives")
	h.expectRedial(last.Gen, privID, newShare)
}

// TestCatchUpRetriedWhileTheServerIsDown: while both dials fail, each reconnect tries the catch-up
// first; the first connection that opens ends it.
func TestCatchUpRetriedWhileTheServerIsDown(t *testing.T) {
	h, acts := rotatedWhileDown(t, Options{}, defaultSpec())
	c := requireAction[Connect](t, acts)
	var dials []string
	for i := 0; i < 8; i++ {
		if dialOf(t, c).has(newShare) {
			dials = append(dials, "new")
		} else {
			dials = append(dials, "old")
		}
		acts := h.drop(c.Gen, 1006)
		if _, ok := find[LoadConfig](acts); ok {
			s := defaultSpec()
			s.shared = newShare
			acts = append(acts, h.answer(s)...)
		}
		if next, ok := find[Connect](acts); ok {
			c = next
			continue
		}
		c = h.nextDial()
	}
	assert.Equal(t, []string{"old", "new", "old", "new", "old", "new", "old", "new"}, dials)
	d := checkDial(t, dialOf(t, c), 10, privID, sharedID) // the server is back: the catch-up comes first
	h.open(d.Gen)
	next := expectDial(t, h.frame(d.Gen, expireShared(13)), 10, privID, newShare)
	h.joined(next, 11)
}

// TestCatchUpCutShortIsRetried: a catch-up connection lost before the rotated channel's last word is
// tried again, from the same position; what the first one delivered is not delivered again.
func TestCatchUpCutShortIsRetried(t *testing.T) {
	h, c := catchingUp(t)
	h.open(c.Gen)
	h.frame(c.Gen, msg(12))
	h.advance(catchUpDrainTimeout / 2)
	h.drop(c.Gen, 1006)
	again := expectDial(t, h.advanceTo("reconnect"), 10, privID, sharedID)
	h.open(again.Gen)
	h.frame(again.Gen, msg(12))
	expectDial(t, h.frame(again.Gen, expireShared(13)), 10, privID, newShare)
	assert.Equal(t, []int{10, 12}, h.delivered())
}

// TestCatchUpOverLongPolling: the catch-up polls with the rotated ids too, every GET of it.
func TestCatchUpOverLongPolling(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, acts := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	c := expectDial(t, acts, 10, privID, sharedID)
	require.Equal(t, protocol.TransportLongPolling, c.Transport)
	acts = h.poll(c.Gen, 200, msg(12))
	checkDial(t, pollOf(t, requireAction[Poll](t, acts)), 12, privID, sharedID)
	expectDial(t, h.poll(c.Gen, 200, expireShared(13)), 10, privID, newShare)
	assert.Equal(t, []int{10, 12}, h.delivered())
}

// TestStopForgetsTheCatchUp: stop() drops owed channels with everything else: started again, the
// client dials the config in use.
func TestStopForgetsTheCatchUp(t *testing.T) {
	h, c := catchingUp(t)
	h.rec(h.m.Stop(h.now))
	h.open(c.Gen)
	assert.Equal(t, StatusOffline, h.m.Status())
	requireAction[LoadConfig](t, h.rec(h.m.Start(h.now)))
	s := defaultSpec()
	s.shared = newShare
	expectDial(t, h.answer(s), 10, privID, newShare)
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
	h.poll(gen, 200, msg(10))
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.start = h.now
	s.shared = newShare
	requireNo[Connect](t, h.answer(s))
	p := pollOf(t, requireAction[Poll](t, h.poll(gen, 200, msg(12))))
	checkDial(t, p, 12, privID, sharedID)
	expectDial(t, h.poll(gen, 200, expireShared(13)), 10, privID, newShare)
	assert.Equal(t, []int{10, 12}, h.delivered())
}

// TestRotationDuringADrainIsCaughtUpOn: a second rotation while the first drain is under way (the
// new shared channel's renewal came due during it) leaves channels no connection subscribed; after
// the drain they are caught up on, then the newest config is joined, each from where the first
// reload began.
func TestRotationDuringADrainIsCaughtUpOn(t *testing.T) {
	h, s, gen := drainingShortLived(t) // draining sharedID; the config holds newShare
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.start = h.now
	s.shared = newest
	requireNo[Connect](t, h.answer(s))

	c := expectDial(t, h.frame(gen, expireShared(13)), 10, privID, newShare) // the intermediate channel
	c = expectDial(t, h.catchUp(c, 14, expireChannel(15, newShare)), 10, privID, newest)
	h.joined(c, 16)
	assert.Equal(t, []int{10, 11, 14, 16}, h.delivered())
}

// TestCatchUpStartsWhereTheReplacedDialStarted: a config replaced while its connection was still
// dialling is caught up on from that dial's position, even when the newer reload began later.
func TestCatchUpStartsWhereTheReplacedDialStarted(t *testing.T) {
	h, s, gen := drainingShortLived(t)
	h.frame(gen, msg(12))
	requireAction[LoadConfig](t, h.advanceTo("renew")) // the next renewal begins at mid 12
	x := expectDial(t, h.frame(gen, expireShared(13)), 10, privID, newShare)
	s.start = h.now
	s.shared = newest
	acts := h.answer(s)
	assert.Equal(t, x.Gen, requireAction[Disconnect](t, acts).Gen)
	expectDial(t, acts, 10, privID, newShare) // the replaced dial's channels, from where it started
}

// TestMessagesAfterASwitchInTheSameFrameKeepTheResumePosition: messages behind a channel_expire
// that replaced the connection are delivered, but the next connection resumes from the notice, so
// that what the new channel received in between (older ids) is replayed.
func TestMessagesAfterASwitchInTheSameFrameKeepTheResumePosition(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	acts := h.frame(gen, channelExpireN(13, params), msg(15))
	requireAction[Disconnect](t, acts)
	assert.Equal(t, []int{15}, h.delivered(), "the message behind the notice is delivered")
	c := expectDial(t, h.advance(time.Second), 13, privID, newShare) // from the notice, not from the message behind it
	h.open(c.Gen)
	h.frame(c.Gen, msg(14), msg(15))
	assert.Equal(t, []int{15, 14}, h.delivered(), "the new channel's message is delivered, the overlap skipped")
}

// TestAnswerInFlightDuringAChannelExpireIsAppliedAndFollowed: a config answer requested before a
// channel_expire may predate it; it is applied (channels it holds may have carried messages since)
// and another load follows, keeping the resume floor.
func TestAnswerInFlightDuringAChannelExpireIsAppliedAndFollowed(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	reloadInFlight(h, gen, 10)
	requireNo[LoadConfig](t, h.frame(gen, expireShared(11)))
	acts := h.answer(defaultSpec())
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, 3, h.loads(), "the start's, the one in flight, one more")
	s := defaultSpec()
	s.shared = newShare
	expectDial(t, h.answer(s), 10, privID, newShare) // from where the first load was asked for
}

// TestInPlaceSwitchOutlivesAnOlderAnswer: a channel replaced in place by a channel_expire's
// new_channel is not undone by a config answer that was already on its way with the older channel.
func TestInPlaceSwitchOutlivesAnOlderAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	reloadInFlight(h, gen, 10)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:05+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	requireAction[Disconnect](t, h.frame(gen, channelExpireN(11, params)))
	acts := h.answer(defaultSpec())
	requireAction[LoadConfig](t, acts) // and asks again
	requireNo[Connect](t, acts)
	expectDial(t, h.advance(time.Second), 11, privID, newShare)
}

// TestChannelExpireWithATokenReloads: in version 5 the token names the channels, so a new_channel
// cannot be applied in place: the config is reloaded for a token that carries it, and the live
// connection is kept meanwhile.
func TestChannelExpireWithATokenReloads(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.version = 5
	gen := h.start(s)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`
	frame := protocol.EncodeIncomingMessage(mid(11), json.RawMessage(`{"module_id":"pull","command":"channel_expire","params":`+params+`}`),
		protocol.Sender{Type: 0}, nil, nil)
	acts := h.frame(gen, frame)
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.Equal(t, sharedID, h.m.Config().Channels.Shared.ID, "the new_channel is not applied")
	requireNo[Disconnect](t, h.answer(s))
}

// receiveAt feeds messages 1..n on gen, message i published at from + i s.
func receiveAt(h *harness, gen int, from time.Time, n int) {
	for i := 1; i <= n; i++ {
		h.frame(gen, textMsgAt(mid(i), from.Add(time.Duration(i)*time.Second), "application", key(i), `{}`))
	}
}

// receiveTimed feeds messages 1..n on gen, message i published at t0 + 10.5 s + i s.
func receiveTimed(h *harness, gen, n int) { receiveAt(h, gen, t0.Add(10500*time.Millisecond), n) }

// catchUpOwingTwo: on channels started an hour before t0, messages 1..10 arrive (message i published
// at t0 − 10 s + i s) and the connection is lost; the reconnects are refused until the reload, whose
// answer rotates the shared channel to newShare, started at sharedStart, and names channels that have
// just ended (the portal hands a channel out until its end has passed). A catch-up of the first
// config dials, and while it does the renewal, due at once and retried seconds later, rotates the
// private channel too: the config is {newPriv, newShare}, and a catch-up of {privID, newShare} is
// owed after the first one. It returns the first catch-up's dial.
func catchUpOwingTwo(t *testing.T, sharedStart time.Time) (*harness, dial) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.start = t0.Add(-time.Hour)
	gen := h.start(s)
	receiveAt(h, gen, t0.Add(-10*time.Second), 10)
	refusedUntilReload(h, gen)
	s.shared, s.start, s.lifetime = newShare, sharedStart, h.now.Truncate(time.Second).Sub(sharedStart)
	c := expectDial(t, h.answer(s), 10, privID, sharedID)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.private, s.start, s.lifetime = newPriv, h.now, 12*time.Hour
	requireNo[Connect](t, h.answer(s))
	return h, c
}

// TestConfigReplacedDuringACatchUpIsOwedFromWhereItWasApplied: a config that was applied but never
// dialled (a catch-up of an older one came first) and is then replaced is caught up on from where the
// resume position stood when it was applied: before its new channel's start (message 3), not from
// the catch-up's position or the newer reload's floor (message 10).
func TestConfigReplacedDuringACatchUpIsOwedFromWhereItWasApplied(t *testing.T) {
	h, c := catchUpOwingTwo(t, t0.Add(-5*time.Second))
	h.open(c.Gen)
	next := expectDial(t, h.frame(c.Gen, expireShared(13)), 3, privID, newShare)
	h.open(next.Gen)
	h.frame(next.Gen, msg(4), msg(11)) // replayed from 3: 11 was sent to newShare while no one listened
	expectDial(t, h.frame(next.Gen, expirePrivate(14)), 3, newPriv, newShare)
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, h.delivered())
}

// TestCatchUpGivenUpAfterRepeatedCuts: catch-up connections that open and are lost before the
// rotated channel's last word are tried maxCatchUpOpens times; then the new config is dialled, and
// no catch-up follows.
func TestCatchUpGivenUpAfterRepeatedCuts(t *testing.T) {
	h, c := catchingUp(t)
	for i := 0; i < maxCatchUpOpens; i++ {
		checkDial(t, c, 10, privID, sharedID)
		h.open(c.Gen)
		h.frame(c.Gen, msg(12+i))
		h.advance(catchUpDrainTimeout / 2)
		h.drop(c.Gen, 1006)
		c = dialOf(t, h.nextDial())
	}
	checkDial(t, c, 10, privID, newShare)
	h.joined(c, 20)
	assert.Equal(t, []int{10, 12, 13, 14, 20}, h.delivered())
}

// textMsgAt builds one legacy text piece published at server time at.
func textMsgAt(mid string, at time.Time, module, command, params string) []byte {
	body := fmt.Sprintf(`{"module_id":%q,"command":%q,"params":%s,"extra":{"server_time_unix":%.3f}}`,
		module, command, params, float64(at.UnixMilli())/1000)
	return protocol.EncodeText(protocol.TextEnvelope{ID: 1, MID: mid, Channel: "-", Tag: "1", Time: "x", Text: json.RawMessage(body)})
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
	requireAction[LoadConfig](t, h.frame(gen, expire))
	s := defaultSpec()
	s.private, s.start = newPriv, t0.Add(15*time.Second)
	acts := h.answer(s)
	requireAction[Disconnect](t, acts)
	// the first message published at or after start − channelStartMargin (t0+14s) is 4 (t0+14.5s):
	// the one that arrived before it, 3, is where the replay starts
	c := expectDial(t, acts, 3, newPriv, sharedID)
	h.open(c.Gen)
	h.frame(c.Gen, msg(4), msg(13))
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}, h.delivered())
}

// renewalAfterDrop starts a harness on one-minute channels, receives the timed messages 1..11, lets
// the renewal come due and drops the connection while the config loads. It returns the spec started.
func renewalAfterDrop(t *testing.T) (*harness, cfgSpec) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	receiveTimed(h, gen, 11)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	h.drop(gen, 1006)
	return h, s
}

// TestCatchUpThenLateNamedChannel: when a catch-up on the previous config comes first, the connection
// after it still starts from before the new channel's start, not from where the catch-up got.
func TestCatchUpThenLateNamedChannel(t *testing.T) {
	h, s := renewalAfterDrop(t)
	next := s
	next.shared, next.start = newShare, t0.Add(15*time.Second)
	c := expectDial(t, h.answer(next), 11, privID, sharedID) // where the old connection got
	h.open(c.Gen)
	expectDial(t, h.frame(c.Gen, expireShared(12)), 3, privID, newShare) // from before the new channel's start
}

// TestLateNamedChannelOlderThanTheWindow: when every message still remembered is newer than the new
// channel's start, the position goes back as far as the de-duplication window safely allows (its
// newer half), not further: a replay from beyond it would deliver messages twice.
func TestLateNamedChannelOlderThanTheWindow(t *testing.T) {
	h := newHarness(t, Options{DedupWindow: 8})
	gen := h.start(defaultSpec())
	receiveTimed(h, gen, 11)
	requireAction[LoadConfig](t, h.frame(gen, channelExpireN(12, `{"action":"get_config","channel":{"id":"`+privID+`","type":"private"}}`)))
	s := defaultSpec()
	s.private = newPriv // started at t0, before every message
	// remembered in arrival order: 5..12; the newer half is 9..12
	c := expectDial(t, h.answer(s), 9, newPriv, sharedID)
	h.open(c.Gen)
	h.frame(c.Gen, msg(10), msg(11), msg(13))
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}, h.delivered())
}

// TestUnchangedChannelsKeepThePosition: a config whose channels the client already had (only the
// other one rotated, or none) moves nothing back.
func TestUnchangedChannelsKeepThePosition(t *testing.T) {
	h, s := renewalAfterDrop(t)
	next := s
	next.start = h.now // the same ids renewed: nothing rotated
	acts := h.answer(next)
	if _, ok := find[Connect](acts); !ok {
		acts = h.advanceTo("reconnect")
	}
	expectDial(t, acts, 11, privID, sharedID)
}

// TestLastWordOnAnEarlierCatchUpSettlesTheNextOne: a catch-up replays every channel of its config,
// so it can bring the last word of a channel that a later catch-up owes. That notice comes once (a
// replay of it is a duplicate): the later catch-up must not wait for it again, and is not dialled.
func TestLastWordOnAnEarlierCatchUpSettlesTheNextOne(t *testing.T) {
	h, c := catchUpOwingTwo(t, t0.Add(2*time.Second)) // after every message: applied at message 10
	h.open(c.Gen)
	requireNo[Connect](t, h.frame(c.Gen, expirePrivate(13)))
	next := expectDial(t, h.frame(c.Gen, expireShared(14)), 10, newPriv, newShare) // the newest config at once
	h.joined(next, 15)
}

// TestLastWordFromALaterPositionSettlesNothing: a notice that came on a connection dialled from
// further on (message 10) than where a catch-up must start (message 3, before newShare's start) does
// not vouch for what the channel held before: that catch-up still runs.
func TestLastWordFromALaterPositionSettlesNothing(t *testing.T) {
	h, c := catchUpOwingTwo(t, t0.Add(-5*time.Second))
	h.open(c.Gen)
	requireNo[Connect](t, h.frame(c.Gen, expirePrivate(13)))
	expectDial(t, h.frame(c.Gen, expireShared(14)), 3, privID, newShare)
}

// TestCatchUpSettledWhileDiallingSwitchesOnOpen: a catch-up whose replay brings, in the frame that opens it, every
// rotated channel's last word switches in that same input, without waiting for its bound.
// (The old form of this test settled the catch-up before its connection opened by calling into the
// machine; no sequence of inputs reaches that state, since a frame of a dialling connection opens it
// first.)
func TestCatchUpSettledWhileDiallingSwitchesOnOpen(t *testing.T) {
	h, c := catchingUp(t)
	acts := h.frame(c.Gen, msg(12), expireShared(13)) // the replay opens the connection
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
	next := expectDial(t, acts, 10, privID, newShare)
	assert.Equal(t, []int{10, 12}, h.delivered())
	h.joined(next, 14)
}

// TestLastWordRememberedAcrossConfigs: a channel whose channel_expire arrived is not caught up on
// when a later config drops it, though other configs were applied in between.
func TestLastWordRememberedAcrossConfigs(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.frame(gen, msg(10))
	requireAction[LoadConfig](t, h.frame(gen, expirePrivate(11)))
	// The answer still names the private channel (the portal had not rotated it yet) but a new
	// shared one; the connection moves to it.
	s := defaultSpec()
	s.shared = newShare
	h.answer(s)
	c := expectDial(t, h.frame(gen, expireShared(12)), 10, privID, newShare)
	h.open(c.Gen)
	// While disconnected, the private channel is found rotated.
	refusedUntilReload(h, c.Gen)
	s.private = newPriv
	expectDial(t, h.answer(s), 10, newPriv, newShare) // no catch-up: the private channel's last word arrived
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
	h, gen, _ := renewedShared(t) // draining sharedID from mid 10; the config holds newShare
	c := expectDial(t, h.frame(gen, expireSharedFor(12, middle, h.now)), 10, privID, middle)
	next := expectDial(t, h.catchUp(c, 13, expireChannel(14, middle)), 10, privID, newShare)
	h.joined(next, 15)
	assert.Equal(t, []int{10, 11, 13, 15}, h.delivered())
}

// TestNamedSuccessorInTheNewConfigNeedsNoCatchUp: when the successor the notice names is the new
// config's own channel, the switch goes straight to it.
func TestNamedSuccessorInTheNewConfigNeedsNoCatchUp(t *testing.T) {
	h, gen, _ := renewedShared(t)
	c := expectDial(t, h.frame(gen, expireSharedFor(12, newShare, h.now)), 10, privID, newShare)
	h.joined(c, 13)
}

// TestSkippedSuccessorDuringACatchUp: a catch-up that learns of a skipped successor catches up on it
// next, then joins the new config.
func TestSkippedSuccessorDuringACatchUp(t *testing.T) {
	h, c := catchingUp(t) // catching up on sharedID; the config holds newShare
	h.open(c.Gen)
	next := expectDial(t, h.frame(c.Gen, expireSharedFor(12, middle, h.now)), 10, privID, middle)
	h.open(next.Gen)
	last := expectDial(t, h.frame(next.Gen, expireChannel(13, middle)), 10, privID, newShare)
	h.joined(last, 14)
}

// nearBothEnds starts a harness whose channels both end a minute after t0, lets message 10 arrive
// and, a second before the end, the shared channel's channel_expire naming its successor (message
// 11). It returns the harness, the live connection and the actions of the notice.
func nearBothEnds(t *testing.T) (*harness, int, []Action) {
	h, _, gen := minuteChannels(t)
	h.advance(59 * time.Second)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:59+00:00","end":"2026-11-24T03:01:59+00:00","type":"shared"}}`
	return h, gen, h.frame(gen, channelExpireN(11, params))
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
	assert.Equal(t, StatusOnline, h.m.Status())
	h.quiet(time.Second)

	h.frame(gen, msg(12)) // the private channel's messages still arrive
	acts = h.frame(gen, expirePrivateFor(13))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	// from the shared notice: the new shared channel's messages came after it
	c := expectDial(t, acts, 11, newPriv, newShare)
	assert.EqualValues(t, 2, h.m.Stats().Renewals)

	h.open(c.Gen)
	h.frame(c.Gen, msg(12), msg(14))
	assert.Equal(t, []int{10, 12, 14}, h.delivered(), "the overlap is skipped")
	h.expectRedial(c.Gen, newPriv, newShare)
}

// TestInPlaceSwitchWaitEndsWithTheOtherChannelsLastWord: the other channel's channel_expire in an
// app's wording names no successor: the config is reloaded while the connection stays, and its answer
// makes the switch, from where the wait began.
func TestInPlaceSwitchWaitEndsWithTheOtherChannelsLastWord(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.frame(gen, msg(12))
	acts := h.frame(gen, expirePrivate(13))
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	h.quiet(time.Second) // the answer, not a timer, makes the switch
	s := defaultSpec()
	s.lifetime = time.Minute
	s.private, s.shared, s.start = newPriv, newShare, h.now
	acts = h.answer(s)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := expectDial(t, acts, 11, newPriv, newShare)
	h.joined(c, 14)
}

// TestInPlaceSwitchWaitsNoLongerThanTheRenewal: without the other channel's channel_expire, the
// switch happens switchDrainTimeout after the renewal due for that channel, with the channel kept.
func TestInPlaceSwitchWaitsNoLongerThanTheRenewal(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	switchAt := h.deadline("renew").Add(switchDrainTimeout)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s := defaultSpec() // the renewal, answered with the same private channel
	s.lifetime = time.Minute
	s.shared, s.start = newShare, t0.Add(59*time.Second)
	requireNo[Disconnect](t, h.answer(s))
	expectDial(t, h.replacedAt(switchAt, gen), 11, privID, newShare)
}

// TestInPlaceSwitchWaitEndsWithTheConnection: a connection lost while waiting for the other channel
// is replaced by one with the config in use, which still holds that channel: nothing is owed.
func TestInPlaceSwitchWaitEndsWithTheConnection(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.frame(gen, msg(12))
	h.drop(gen, 1006)
	acts := h.advance(time.Second)
	require.Len(t, all[Connect](acts), 1)
	c := expectDial(t, acts, 11, privID, newShare)
	h.open(c.Gen)
	h.quiet(switchDrainTimeout)
}

// TestInPlaceSwitchWhenTheOtherChannelLivesOn: far from the other channel's end, the connection is
// replaced after ChannelExpireReconnect, as the protocol asks.
func TestInPlaceSwitchWhenTheOtherChannelLivesOn(t *testing.T) {
	h, _, gen := minuteChannels(t)
	h.advance(57 * time.Second)
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:57+00:00","end":"2026-11-24T03:01:57+00:00","type":"shared"}}`
	acts := h.frame(gen, channelExpireN(11, params))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	requireNo[Connect](t, acts)
	expectDial(t, h.advance(time.Second), 11, privID, newShare)
}

// TestInPlaceSwitchAfterTheOtherChannelsLastWordWaitsForTheAnswer: the private channel said its last
// word (no successor named, a reload on its way) before the shared channel's channel_expire: nothing
// is dialled with the spent private channel; the config answer connects, from where the reload was
// asked for.
func TestInPlaceSwitchAfterTheOtherChannelsLastWordWaitsForTheAnswer(t *testing.T) {
	h, s, gen := minuteChannels(t)
	requireAction[LoadConfig](t, h.frame(gen, expirePrivate(11)))
	params := `{"action":"reconnect","channel":{"id":"` + sharedID + `","type":"shared"},"new_channel":{"id":"` + newShare +
		`","start":"2026-11-24T03:00:00+00:00","end":"2026-11-24T03:01:00+00:00","type":"shared"}}`
	acts := h.frame(gen, channelExpireN(12, params))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	requireNo[Connect](t, acts)
	h.quiet(time.Second)
	s.private, s.shared = newPriv, newShare
	expectDial(t, h.answer(s), 10, newPriv, newShare)
}

// TestInPlaceSuccessorRotatedBeforeItWasJoined: while the connection is kept for the private
// channel, the portal rotates both channels at once: the private notice ends the wait, and the
// config answer names successors of both. The shared channel taken in place was never subscribed by
// any connection, so it is caught up on, from before it started, before the newest channels.
func TestInPlaceSuccessorRotatedBeforeItWasJoined(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.frame(gen, msg(12))
	requireAction[LoadConfig](t, h.frame(gen, expirePrivate(13)))
	s := defaultSpec()
	s.lifetime = time.Minute
	s.private, s.shared, s.start = newPriv, newest, h.now
	acts := h.answer(s)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen, "the kept connection holds nothing to wait for")
	c := expectDial(t, acts, 11, privID, newShare) // a catch-up of the shared channel never joined

	next := expectDial(t, h.catchUp(c, 14, expireChannel(15, newShare)), 11, newPriv, newest)
	h.open(next.Gen)
	h.frame(next.Gen, msg(16))
	assert.Equal(t, []int{10, 12, 14, 16}, h.delivered())
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
			h, c := catchingUp(t)
			h.open(c.Gen)
			next := expectDial(t, h.drop(c.Gen, tc.code), 10, privID, newShare)
			acts := h.open(next.Gen)
			if !tc.again {
				requireNo[Disconnect](t, acts)
				h.joined(next, 11)
				return
			}
			assert.Equal(t, next.Gen, requireAction[Disconnect](t, acts).Gen)
			expectDial(t, acts, 10, privID, sharedID) // the catch-up is dialled once more
		})
	}
}

// TestPositionTakenBeforeAnyMessage: a renewal asked for before anything arrived has no resume
// position, which a server takes as "replay nothing". The first message that arrives afterwards
// stands in for it, so the connection after the switch replays what followed that message.
func TestPositionTakenBeforeAnyMessage(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	h.frame(gen, msg(10))
	h.frame(gen, msg(11))
	s.start, s.shared = h.now, newShare
	requireNo[Connect](t, h.answer(s))
	expectDial(t, h.frame(gen, expireShared(12)), 10, privID, newShare)
}

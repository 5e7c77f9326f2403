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
//
// Each dial carries every channel the machine is responsible for (its ledger: the channels of the
// config in use, and the rotated ones whose last word has not arrived), from the oldest of their
// positions; the expected dials below name them in that order: the config's private channel, its
// shared one, then rotated ones, oldest first.

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

// holdingShortLived is renewing answered with channels (privID, newShare) that end as the answer
// arrives (the portal hands a channel out until its end has passed): the renewal that follows comes
// due a second later, while the connection is still held for the rotated channel's last word (and for
// the private channel's, its end being near). It returns the spec of that answer.
func holdingShortLived(t *testing.T) (*harness, cfgSpec, int) {
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

// TestRenewalHoldsTheConnectionForTheLastWord: a renewal that rotates a channel the open connection
// carries keeps that connection (the hold, rotatedWait) until the rotated channel's last word,
// delivering what was still on its way there; then one connection carries the config's channels,
// from the oldest of their positions: newShare's, the last message before its start (11), though the
// private channel's is 13. Nothing else is dialled.
func TestRenewalHoldsTheConnectionForTheLastWord(t *testing.T) {
	h, gen, acts := renewedShared(t)
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, h.now.Add(rotatedWait), h.deadline("hold"))

	h.frame(gen, msg(12)) // published to the old shared channel before the rotation, still on its way
	acts = h.frame(gen, expireShared(13))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	c := expectDial(t, acts, 11, privID, newShare)
	assert.Equal(t, []int{10, 11, 12}, h.delivered(), "the late message is delivered")
	h.open(c.Gen)
	h.quiet(2 * rotatedWait)
}

// TestHoldEndsWithoutTheLastWord: when the rotated channel does not say its last word within the
// hold, the connection is replaced once rotatedWait has passed, by one that carries the new channel
// and still the rotated one, from the oldest position (11).
func TestHoldEndsWithoutTheLastWord(t *testing.T) {
	h, gen, _ := renewedShared(t)
	expectDial(t, h.replacedAt(h.now.Add(rotatedWait), gen), 11, privID, newShare, sharedID)
}

// TestLateLastWordAfterTheHold: the rotated channel's last word comes after the hold. The connection
// that replaced the held one still carries the rotated channel, so what a late portal process sent to
// it is delivered, and the last word then settles it without a new dial: the connection after a drop
// leaves it out.
func TestLateLastWordAfterTheHold(t *testing.T) {
	h, _, _ := renewedShared(t)
	c := dialOf(t, requireAction[Connect](t, h.advanceTo("hold")))
	require.True(t, c.has(sharedID), "the rotated channel is still carried")
	h.open(c.Gen)
	h.frame(c.Gen, msg(12)) // sent to the old shared channel after the hold
	requireNo[Connect](t, h.frame(c.Gen, expireShared(13)))
	assert.Equal(t, []int{10, 11, 12}, h.delivered())
	h.expectRedial(c.Gen, privID, newShare)
}

// TestHoldCutShortByAClose: a connection lost while held for the rotated channel's last word is
// followed by one reconnect that carries the new channel and the rotated one together, from the
// oldest of their positions (newShare's, 11), not from the newer ids that arrived meanwhile. Its
// replay brings the rotated channel's last word, and the same connection goes on with the config's
// channels: no second dial.
func TestHoldCutShortByAClose(t *testing.T) {
	h, gen, _ := renewedShared(t)
	h.frame(gen, msg(12))
	h.drop(gen, 1006)
	acts := h.advance(rotatedWait)
	require.Len(t, all[Connect](acts), 1, "one reconnect")
	c := expectDial(t, acts, 11, privID, newShare, sharedID)
	h.open(c.Gen)
	acts = h.frame(c.Gen, msg(12), expireShared(13), msg(14)) // the replay
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, []int{10, 11, 12, 14}, h.delivered())
	h.expectRedial(c.Gen, privID, newShare)
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

// afterRotation is rotatedWhileDown with the default spec: it returns the dial that follows, which
// carries the new config's channels and the rotated one together, from where the old connection got.
func afterRotation(t *testing.T) (*harness, dial) {
	h, acts := rotatedWhileDown(t, Options{}, defaultSpec())
	return h, expectDial(t, acts, 10, privID, newShare, sharedID)
}

// TestRotationWhileDisconnected: a channel rotated while no connection was open. The next dial
// carries the old and the new channels together, from the older position (10, where the old
// connection got); its replay brings what was stranded on the old channel, its last word and the new
// channel's messages, each once, on that one connection, and nothing more is owed.
func TestRotationWhileDisconnected(t *testing.T) {
	h, c := afterRotation(t)
	h.open(c.Gen)
	acts := h.frame(c.Gen, msg(12), expireShared(13), msg(14)) // 12 stranded on the old channel, 14 on the new
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, []int{10, 12, 14}, h.delivered())
	h.quiet(2 * rotatedWait)
	h.expectRedial(c.Gen, privID, newShare)
}

// TestRotatedWithoutLastWordIsGivenUp: a rotated channel whose last word is no longer stored does not
// hold the new channels back: the connection that carries both reads the new ones at once, and the
// rotated one is given up once connections have read it for rotatedLife (the retire timer), without
// closing the connection; the next dial leaves it out.
func TestRotatedWithoutLastWordIsGivenUp(t *testing.T) {
	h, c := afterRotation(t)
	h.open(c.Gen)
	h.frame(c.Gen, msg(11))
	assert.Equal(t, h.now.Add(rotatedLife), h.deadline("retire"))
	h.quiet(rotatedLife)
	assert.NotContains(t, h.m.Deadlines(), "retire")
	h.expectRedial(c.Gen, privID, newShare)
	assert.Equal(t, []int{10, 11}, h.delivered())
}

// TestRotatedLifeCountsConnectedTimeOnly: the rotatedLife a rotated channel may be read for is spent
// only while a connection carrying it is open. A server_restart closes the connection after a third
// of it; the config answer the reconnect waits for comes a minute later, and the connection after it
// still carries the rotated channel, which is given up only once the rest of rotatedLife has passed
// on it.
func TestRotatedLifeCountsConnectedTimeOnly(t *testing.T) {
	h, c := afterRotation(t)
	h.open(c.Gen)
	h.advance(rotatedLife / 3)
	h.frame(c.Gen, msg(11))
	assert.Equal(t, c.Gen, requireAction[Disconnect](t, h.frame(c.Gen, textMsg(mid(12), "pull", "server_restart", `{}`))).Gen)
	requireAction[LoadConfig](t, h.advanceTo("reload"))
	h.advance(time.Minute)
	assert.NotContains(t, h.m.Deadlines(), "retire", "no time is spent while disconnected")
	s := defaultSpec()
	s.shared = newShare
	next := expectDial(t, h.answer(s), 12, privID, newShare, sharedID)
	h.open(next.Gen)
	h.frame(next.Gen, msg(13))
	assert.Equal(t, h.now.Add(rotatedLife-rotatedLife/3), h.deadline("retire"))
	h.quiet(rotatedLife - rotatedLife/3)
	h.expectRedial(next.Gen, privID, newShare)
	assert.Equal(t, []int{10, 11, 13}, h.delivered())
}

// TestRotatedRefusedThenTriedOnceMore: a server that refuses rotated ids costs a failed dial, after
// which the config's channels are dialled at once without the rotated one. Its open proves the server
// up, so the rotated channel is tried once more, by replacing that connection before anything is
// delivered on it; refused again, it is given up, and the dial without it that follows stays.
func TestRotatedRefusedThenTriedOnceMore(t *testing.T) {
	h, c := afterRotation(t)
	next := expectDial(t, h.drop(c.Gen, 1006), 10, privID, newShare)

	acts := h.open(next.Gen)
	assert.Equal(t, next.Gen, requireAction[Disconnect](t, acts).Gen, "closed before anything is delivered on it")
	retry := expectDial(t, acts, 10, privID, newShare, sharedID)
	assert.NotEqual(t, StatusOnline, h.m.Status())

	next = expectDial(t, h.drop(retry.Gen, 1006), 10, privID, newShare)
	requireNo[Connect](t, h.open(next.Gen))
	assert.Equal(t, StatusOnline, h.m.Status())
	h.joined(next, 11) // the rotated channel was given up
}

// TestRotatedTriedOnceMoreWhenTheServerCameBack: the dial carrying the rotated channel failed because
// the push server was down, and the dial without it right after opened because the server had just
// come back. The rotated channel is tried once more before anything of that connection is delivered,
// and what the old channel held arrives, then the new channel's messages, on the same connection.
func TestRotatedTriedOnceMoreWhenTheServerCameBack(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, acts := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	c := expectDial(t, acts, 10, privID, newShare, sharedID)
	next := expectDial(t, h.drop(c.Gen, 1006), 10, privID, newShare) // the server is down
	acts = h.poll(next.Gen, 200, msg(20))
	assert.Equal(t, []int{10}, h.delivered(), "nothing of the connection without it is delivered")
	retry := expectDial(t, acts, 10, privID, newShare, sharedID)
	h.poll(retry.Gen, 200, msg(12))
	requireNo[Connect](t, h.poll(retry.Gen, 200, expireShared(13)))
	h.poll(retry.Gen, 200, msg(20))
	assert.Equal(t, []int{10, 12, 20}, h.delivered(), "what the old channel held arrives")
	h.expectRedial(retry.Gen, privID, newShare)
}

// TestRotatedLeftOutWhileTheServerIsDown: while every dial fails, only the first carries the rotated
// channel; the reconnects after it leave it out. Once the server is back, the first connection that
// opens is replaced at once by one that carries it once more, whose replay brings its last word.
func TestRotatedLeftOutWhileTheServerIsDown(t *testing.T) {
	h, acts := rotatedWhileDown(t, Options{}, defaultSpec())
	c := requireAction[Connect](t, acts)
	var dials []string
	for i := 0; i < 8; i++ {
		if dialOf(t, c).has(sharedID) {
			dials = append(dials, "with")
		} else {
			dials = append(dials, "without")
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
	assert.Equal(t, []string{"with", "without", "without", "without", "without", "without", "without", "without"}, dials)
	d := checkDial(t, dialOf(t, c), 10, privID, newShare) // the server is back
	retry := expectDial(t, h.open(d.Gen), 10, privID, newShare, sharedID)
	h.open(retry.Gen)
	requireNo[Connect](t, h.frame(retry.Gen, expireShared(13)))
	h.frame(retry.Gen, msg(11))
	h.expectRedial(retry.Gen, privID, newShare)
}

// TestRotatedCarrierCutShortIsRedialled: a connection carrying the rotated channel, lost before its
// last word, is followed by one that carries it again, from where the lost one got (message 12, which
// moved every channel it carried); what the first one delivered is not delivered again.
func TestRotatedCarrierCutShortIsRedialled(t *testing.T) {
	h, c := afterRotation(t)
	h.open(c.Gen)
	h.frame(c.Gen, msg(12))
	again := h.redial(c.Gen)
	checkDial(t, again, 12, privID, newShare, sharedID)
	h.open(again.Gen)
	h.frame(again.Gen, msg(12))
	requireNo[Connect](t, h.frame(again.Gen, expireShared(13)))
	assert.Equal(t, []int{10, 12}, h.delivered())
}

// TestRotatedOverLongPolling: a long-polling connection carrying the rotated channel polls with its
// id too, every GET, from the position reached; once its last word has arrived, the GETs leave it out,
// on the same connection.
func TestRotatedOverLongPolling(t *testing.T) {
	s := defaultSpec()
	s.version = 3
	h, acts := rotatedWhileDown(t, Options{DisableWebSocket: true}, s)
	c := expectDial(t, acts, 10, privID, newShare, sharedID)
	require.Equal(t, protocol.TransportLongPolling, c.Transport)
	acts = h.poll(c.Gen, 200, msg(12))
	checkDial(t, pollOf(t, requireAction[Poll](t, acts)), 12, privID, newShare, sharedID)
	acts = h.poll(c.Gen, 200, expireShared(13))
	requireNo[Connect](t, acts)
	checkDial(t, pollOf(t, requireAction[Poll](t, acts)), 13, privID, newShare)
	assert.Equal(t, []int{10, 12}, h.delivered())
}

// TestStopForgetsTheRotatedChannels: stop() empties the ledger with everything else: started again,
// the client dials the config it loads, from the resume position.
func TestStopForgetsTheRotatedChannels(t *testing.T) {
	h, c := afterRotation(t)
	h.rec(h.m.Stop(h.now))
	h.open(c.Gen)
	assert.Equal(t, StatusOffline, h.m.Status())
	requireAction[LoadConfig](t, h.rec(h.m.Start(h.now)))
	s := defaultSpec()
	s.shared = newShare
	expectDial(t, h.answer(s), 10, privID, newShare)
}

// TestHeldLongPollingPollsTheRotatedChannel: while a long-polling connection is held for a rotated
// channel's last word, its polls keep the ids it was opened with; polling the new ones only would
// skip what the old channel still holds, and its channel_expire.
func TestHeldLongPollingPollsTheRotatedChannel(t *testing.T) {
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

// TestRotationDuringAHold: a second rotation while the connection is held for the first rotated
// channel's last word (the new shared channel's renewal came due meanwhile) leaves a channel no
// connection read (newShare). After the last word, the connection stays for the rest of the private
// channel's hold (its end was near in the config it was set for); then one dial carries the newest
// config's channels and the intermediate one, from the oldest position (10, before newShare's start),
// and newShare's last word settles it on that connection.
func TestRotationDuringAHold(t *testing.T) {
	h, s, gen := holdingShortLived(t) // held for sharedID; the config holds newShare
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.start = h.now
	s.shared = newest
	requireNo[Connect](t, h.answer(s))

	requireNo[Connect](t, h.frame(gen, expireShared(13)))
	c := expectDial(t, h.replacedAt(h.deadline("hold"), gen), 10, privID, newest, newShare)
	h.settles(c, 14, expireChannel(15, newShare), 16, privID, newest)
	assert.Equal(t, []int{10, 11, 14, 16}, h.delivered())
}

// TestDialReplacedWhileConnectingKeepsThePositions: a config answer that rotates a channel of a dial
// still under way replaces that dial at once by one that also carries the rotated channel, from the
// same position (10, before newShare's start), even though the reload began later (at message 12).
func TestDialReplacedWhileConnectingKeepsThePositions(t *testing.T) {
	h, s, gen := holdingShortLived(t)
	h.frame(gen, msg(12))
	requireAction[LoadConfig](t, h.advanceTo("renew")) // the next renewal begins at message 12
	requireNo[Connect](t, h.frame(gen, expireShared(13)))
	x := expectDial(t, h.replacedAt(h.deadline("hold"), gen), 10, privID, newShare)
	s.start = h.now
	s.shared = newest
	acts := h.answer(s)
	assert.Equal(t, x.Gen, requireAction[Disconnect](t, acts).Gen)
	expectDial(t, acts, 10, privID, newest, newShare)
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
// and another load follows, whose answer is dialled from newShare's position.
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
	expectDial(t, h.answer(s), 10, privID, newShare) // from before newShare's start (t0): the oldest id remembered
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

// rotatedTwiceWhileDialling: on channels started an hour before t0, messages 1..10 arrive (message i
// published at t0 − 10 s + i s) and the connection is lost; the reconnects are refused until the
// reload, whose answer rotates the shared channel to newShare, started at sharedStart, and names
// channels that have just ended (the portal hands a channel out until its end has passed). Its dial
// carries privID, newShare and sharedID from newShare's position, from; while it is under way, the
// renewal, due at once, rotates the private channel too. The dial is replaced at once by one that
// carries all four channels, from the oldest of their positions, which it returns.
func rotatedTwiceWhileDialling(t *testing.T, sharedStart time.Time, from int) (*harness, dial) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.start = t0.Add(-time.Hour)
	gen := h.start(s)
	receiveAt(h, gen, t0.Add(-10*time.Second), 10)
	refusedUntilReload(h, gen)
	s.shared, s.start, s.lifetime = newShare, sharedStart, h.now.Truncate(time.Second).Sub(sharedStart)
	first := expectDial(t, h.answer(s), from, privID, newShare, sharedID)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.private, s.start, s.lifetime = newPriv, h.now, 12*time.Hour
	acts := h.answer(s)
	assert.Equal(t, first.Gen, requireAction[Disconnect](t, acts).Gen, "the dial under way is replaced")
	return h, expectDial(t, acts, from, newPriv, newShare, privID, sharedID)
}

// TestConfigReplacedWhileDialling: a config whose dial was still under way when the next one replaced
// its other channel: the new dial carries both rotated channels and both new ones, from the oldest
// position, newShare's before its start (message 3), not the resume position (10). Its replay brings
// what newShare held (4 again, skipped; 11, sent while no one listened).
func TestConfigReplacedWhileDialling(t *testing.T) {
	h, c := rotatedTwiceWhileDialling(t, t0.Add(-5*time.Second), 3)
	h.open(c.Gen)
	h.frame(c.Gen, msg(4), msg(11))
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, h.delivered())
}

// TestRotatedGivenUpAfterRepeatedCuts: connections carrying the rotated channel that open and are
// lost before its last word: after maxRotatedOpens of them it is given up, and the next dial carries
// only the config's channels. Each dial resumes from where the one before got.
func TestRotatedGivenUpAfterRepeatedCuts(t *testing.T) {
	h, c := afterRotation(t)
	from := 10
	for i := 0; i < maxRotatedOpens; i++ {
		checkDial(t, c, from, privID, newShare, sharedID)
		h.open(c.Gen)
		from = 12 + i
		h.frame(c.Gen, msg(from))
		c = h.redial(c.Gen)
	}
	checkDial(t, c, from, privID, newShare)
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

// TestLateNamedChannelAfterADrop: a rotation learnt after the connection was lost, to a channel that
// started while the client still received the old ones: the next dial carries the rotated channel
// with the new one, from before the new one's start (message 3), not from where the old connection
// got (11); the rotated channel's last word then changes nothing but the ledger.
func TestLateNamedChannelAfterADrop(t *testing.T) {
	h, s := renewalAfterDrop(t)
	next := s
	next.shared, next.start = newShare, t0.Add(15*time.Second)
	c := expectDial(t, h.answer(next), 3, privID, newShare, sharedID)
	h.open(c.Gen)
	requireNo[Connect](t, h.frame(c.Gen, expireShared(12)))
	h.expectRedial(c.Gen, privID, newShare)
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

// TestLastWordsOnTheOneConnection: both rotated channels' last words come on the one connection that
// carries them with the new channels, whichever position it was dialled from (newShare's start after
// every message remembered: 10; before some: 3). Each settles its channel there: nothing is dialled,
// a replay of the notice changes nothing, and the connection after a drop carries only the new
// channels.
func TestLastWordsOnTheOneConnection(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sharedStart time.Time
		from        int
	}{
		{"new channel after every message", t0.Add(2 * time.Second), 10},
		{"new channel before some", t0.Add(-5 * time.Second), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := rotatedTwiceWhileDialling(t, tc.sharedStart, tc.from)
			h.open(c.Gen)
			requireNo[Connect](t, h.frame(c.Gen, expirePrivate(13)))
			requireNo[Connect](t, h.frame(c.Gen, expirePrivate(13), expireShared(14)))
			h.frame(c.Gen, msg(15))
			h.expectRedial(c.Gen, newPriv, newShare)
		})
	}
}

// TestLastWordInTheOpeningFrame: the frame that opens the dial carrying the old and the new channels
// brings the rotated channel's last word: the connection stays, and the one after a drop carries only
// the config's channels.
func TestLastWordInTheOpeningFrame(t *testing.T) {
	h, c := afterRotation(t)
	acts := h.frame(c.Gen, msg(12), expireShared(13)) // the replay opens the connection
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, []int{10, 12}, h.delivered())
	h.frame(c.Gen, msg(14))
	h.expectRedial(c.Gen, privID, newShare)
}

// TestLastWordRememberedAcrossConfigs: a channel whose channel_expire arrived is neither dialled again
// while the config in use still names it nor kept as a rotated channel once a later config drops it,
// though other configs were applied in between.
func TestLastWordRememberedAcrossConfigs(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	h.frame(gen, msg(10))
	requireAction[LoadConfig](t, h.frame(gen, expirePrivate(11)))
	// The answer still names the private channel (the portal had not rotated it yet) but a new
	// shared one; the connection moves to it, leaving the spent private channel out.
	s := defaultSpec()
	s.shared = newShare
	h.answer(s)
	c := expectDial(t, h.frame(gen, expireShared(12)), 10, newShare)
	h.open(c.Gen)
	// While disconnected, the private channel is found rotated.
	refusedUntilReload(h, c.Gen)
	s.private = newPriv
	expectDial(t, h.answer(s), 10, newPriv, newShare) // not privID: its last word arrived
}

// expireSharedFor is channel_expire of the harness's shared channel naming next as its successor,
// worded as the portal does for an app's shared channel.
func expireSharedFor(n int, next string, start time.Time) []byte {
	return channelExpireN(n, `{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"local.app"},"new_channel":{"id":"`+next+
		`","start":"`+start.Format(time.RFC3339)+`","end":"`+start.Add(time.Minute).Format(time.RFC3339)+`","type":"local.app"}}`)
}

// TestSkippedSuccessorIsRead: the rotated channel's channel_expire names a successor that the config
// in use does not hold (the portal rotated it again before the answer). What was sent to it can only
// be read through its own id: the dial after the last word carries it, as a rotated channel, with the
// config's channels, from the oldest position (newShare's, 11), and its own last word settles it.
func TestSkippedSuccessorIsRead(t *testing.T) {
	h, gen, _ := renewedShared(t) // held for sharedID; the config holds newShare
	c := expectDial(t, h.frame(gen, expireSharedFor(12, middle, h.now)), 11, privID, newShare, middle)
	h.settles(c, 13, expireChannel(14, middle), 15, privID, newShare)
	assert.Equal(t, []int{10, 11, 13, 15}, h.delivered())
}

// TestNamedSuccessorAlreadyInTheConfig: when the successor the notice names is the config's own
// channel, the dial after the last word carries just the config's channels, from newShare's position
// (11).
func TestNamedSuccessorAlreadyInTheConfig(t *testing.T) {
	h, gen, _ := renewedShared(t)
	c := expectDial(t, h.frame(gen, expireSharedFor(12, newShare, h.now)), 11, privID, newShare)
	h.joined(c, 13)
}

// TestSkippedSuccessorAfterARotationWhileDisconnected: on the connection that carries the old and the
// new channels after a rotation while disconnected, the rotated channel's last word names a successor
// the config does not hold: the connection is replaced by one that carries it too (from before its
// start, 12), and its own last word settles it.
func TestSkippedSuccessorAfterARotationWhileDisconnected(t *testing.T) {
	h, c := afterRotation(t) // the config holds newShare
	h.open(c.Gen)
	next := expectDial(t, h.frame(c.Gen, expireSharedFor(12, middle, h.now)), 12, privID, newShare, middle)
	h.open(next.Gen)
	requireNo[Connect](t, h.frame(next.Gen, expireChannel(13, middle)))
	h.frame(next.Gen, msg(14))
	h.expectRedial(next.Gen, privID, newShare)
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
// channel while the private one ends within rotatedWait keeps the connection (the hold for the
// private channel), which still brings the private channel's messages and then its channel_expire.
// That one closes the connection, and ChannelExpireReconnect later one connection carries both
// successors, from the oldest position: newShare's, from before its start (the shared notice, 11).
func TestInPlaceSwitchWaitsForTheOtherChannelEndingToo(t *testing.T) {
	h, gen, acts := nearBothEnds(t)
	requireNo[Disconnect](t, acts)
	requireNo[Connect](t, acts)
	assert.Equal(t, newShare, h.m.Config().Channels.Shared.ID, "the successor is taken at once")
	assert.Equal(t, StatusOnline, h.m.Status())
	h.deadline("hold")
	h.quiet(time.Second)

	h.frame(gen, msg(12)) // the private channel's messages still arrive
	acts = h.frame(gen, expirePrivateFor(13))
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen)
	requireNo[Connect](t, acts)
	assert.Equal(t, h.now.Add(DefaultTiming().ChannelExpireReconnect), h.deadline("reconnect"))
	c := expectDial(t, h.advanceTo("reconnect"), 11, newPriv, newShare)
	assert.EqualValues(t, 2, h.m.Stats().Renewals)

	h.open(c.Gen)
	h.frame(c.Gen, msg(12), msg(14))
	assert.Equal(t, []int{10, 12, 14}, h.delivered(), "the overlap is skipped")
	h.expectRedial(c.Gen, newPriv, newShare)
}

// TestInPlaceSwitchWaitEndsWithTheOtherChannelsLastWord: the other channel's channel_expire in an
// app's wording names no successor: the config is reloaded while the connection stays, and its answer
// replaces it, from newShare's position (the shared notice, 11: the last message before its start).
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

// TestInPlaceSwitchWaitsNoLongerThanTheRenewal: without the other channel's channel_expire, the hold
// ends rotatedWait after the renewal due for that channel, and the connection is replaced with the
// channel kept.
func TestInPlaceSwitchWaitsNoLongerThanTheRenewal(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	switchAt := h.deadline("renew").Add(rotatedWait)
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
	h.quiet(rotatedWait)
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
// is dialled with the spent private channel; the config answer connects, from the new channels'
// position (they started at t0, before every message: 10).
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

// TestInPlaceSuccessorRotatedBeforeItWasJoined: while the connection is held for the private
// channel, the portal rotates both channels at once: the private notice ends the wait, and the config
// answer names successors of both. The shared channel taken in place was never read by any
// connection, so it stays in the ledger as a rotated channel: one dial carries it with the newest
// channels, from its position (before its start, 11), and its last word settles it there.
func TestInPlaceSuccessorRotatedBeforeItWasJoined(t *testing.T) {
	h, gen, _ := nearBothEnds(t)
	h.frame(gen, msg(12))
	requireAction[LoadConfig](t, h.frame(gen, expirePrivate(13)))
	s := defaultSpec()
	s.lifetime = time.Minute
	s.private, s.shared, s.start = newPriv, newest, h.now
	acts := h.answer(s)
	assert.Equal(t, gen, requireAction[Disconnect](t, acts).Gen, "the held connection holds nothing to wait for")
	c := expectDial(t, acts, 11, newPriv, newest, newShare)

	h.settles(c, 14, expireChannel(15, newShare), 16, newPriv, newest)
	assert.Equal(t, []int{10, 12, 14, 16}, h.delivered())
}

// TestRotatedCarrierLostAtOnce: a connection carrying the rotated channel that opens and ends at once
// without a close code (a dropped network, or a server refusing after the open: a browser cannot
// tell) counts as a refused dial: the config's channels are dialled at once without it, and once that
// connection opens, it is dialled once more. A close code refusing the ids (4010) gives it up; the
// config is then reloaded after WrongChannelDelay, as for any 4010, and the connection after the
// answer carries the config's channels, from the position kept.
func TestRotatedCarrierLostAtOnce(t *testing.T) {
	t.Run("no close code", func(t *testing.T) {
		h, c := afterRotation(t)
		h.open(c.Gen)
		next := expectDial(t, h.drop(c.Gen, 1006), 10, privID, newShare)
		acts := h.open(next.Gen)
		assert.Equal(t, next.Gen, requireAction[Disconnect](t, acts).Gen)
		expectDial(t, acts, 10, privID, newShare, sharedID) // the rotated channel is dialled once more
	})
	t.Run("4010", func(t *testing.T) {
		// The server refused an id: the rotated one is given up and the dial is made again at once
		// without it; a 4010 that came again would be about the config's own channels.
		h, c := afterRotation(t)
		h.open(c.Gen)
		next := expectDial(t, h.drop(c.Gen, CloseWrongChannel), 10, privID, newShare)
		_, reloading := h.m.Deadlines()["reload"]
		assert.False(t, reloading, "no config reload for a refused rotated id")
		h.joined(next, 11)
	})
}

// TestPositionTakenBeforeAnyMessage: a renewal answered before anything arrived gives the new channel
// no position, which a server takes as "replay nothing". The first message that arrives afterwards
// stands in for it, so the connection after the rotated channel's last word replays what followed
// that message (10), though the channels the held connection carried got further (12).
func TestPositionTakenBeforeAnyMessage(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	s.start, s.shared = h.now, newShare
	requireNo[Connect](t, h.answer(s))
	h.frame(gen, msg(10))
	h.frame(gen, msg(11))
	expectDial(t, h.frame(gen, expireShared(12)), 10, privID, newShare)
}

// newToken is the jwt a renewal brings in version 5 scenarios.
const newToken = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjJ9.bmV3"

// rpcMsg is message n (see msg) as a JSON-RPC delivery.
func rpcMsg(n int) []byte { return rpcMessage(mid(n), key(n)) }

// rpcExpireShared is the harness's shared channel's channel_expire as JSON-RPC message n.
func rpcExpireShared(n int) []byte {
	return protocol.EncodeIncomingMessage(mid(n), json.RawMessage(`{"module_id":"pull","command":"channel_expire","params":`+
		`{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"shared"}}}`), protocol.Sender{Type: 0}, nil, nil)
}

// tokenOf is the jwt a dial carries.
func tokenOf(t *testing.T, c Connect) string { return query(t, c.URL).Get("token") }

// startTokens starts a version 5 harness whose channels live a minute, without ping timeouts, and
// lets message 10 arrive; it returns the spec started.
func startTokens(t *testing.T) (*harness, cfgSpec, int) {
	timing := DefaultTiming()
	timing.FirstPingTimeout, timing.PingTimeout = time.Hour, time.Hour
	h := newHarness(t, Options{Timing: &timing})
	s := v5()
	s.lifetime = time.Minute
	gen := h.start(s)
	h.frame(gen, rpcMsg(10))
	return h, s, gen
}

// TestTokenRotation: in version 5 the token names the channels, so channels of two tokens cannot share
// a connection. Rotated while disconnected, the old token's channel is read first, by a connection of
// its own from where the old connection got; once its last word has arrived, the new token's
// connection follows, from the new channel's position (10), not from where the old token's got.
// Rotated while connected, the open connection is kept for the old channel no longer than reopenWait,
// then replaced by the new token's; what arrived on it meanwhile is delivered.
func TestTokenRotation(t *testing.T) {
	t.Run("while disconnected", func(t *testing.T) {
		h, s, gen := startTokens(t)
		refusedUntilReload(h, gen)
		s.token, s.shared, s.start = newToken, newShare, h.now
		old := requireAction[Connect](t, h.answer(s))
		assert.Equal(t, defaultToken, tokenOf(t, old), "the old token's channel first")
		assert.Equal(t, mid(10), dialOf(t, old).MID)
		h.open(old.Gen)
		h.frame(old.Gen, rpcMsg(12))
		acts := h.frame(old.Gen, rpcExpireShared(13))
		assert.Equal(t, old.Gen, requireAction[Disconnect](t, acts).Gen)
		next := requireAction[Connect](t, acts)
		assert.Equal(t, newToken, tokenOf(t, next))
		assert.Equal(t, mid(10), dialOf(t, next).MID)
		h.open(next.Gen)
		h.frame(next.Gen, rpcMsg(11)) // sent to the new channel while the old token's connection was open
		h.frame(next.Gen, rpcMsg(14))
		assert.Equal(t, []int{10, 12, 11, 14}, h.delivered())
		assert.Equal(t, newToken, tokenOf(t, h.reconnect(next.Gen)), "nothing of the old token is left")
	})
	t.Run("while connected", func(t *testing.T) {
		h, s, gen := startTokens(t)
		requireAction[LoadConfig](t, h.advanceTo("renew"))
		s.token, s.shared, s.start = newToken, newShare, h.now
		acts := h.answer(s)
		requireNo[Disconnect](t, acts)
		assert.Equal(t, h.now.Add(reopenWait), h.deadline("retire"))
		h.frame(gen, rpcMsg(11)) // on the old token's channel
		next := requireAction[Connect](t, h.replacedAt(h.now.Add(reopenWait), gen))
		assert.Equal(t, newToken, tokenOf(t, next))
		assert.Equal(t, mid(10), dialOf(t, next).MID, "from the new channel's position")
		h.open(next.Gen)
		h.frame(next.Gen, rpcMsg(12)) // sent to the new channel while the old token's connection was kept
		assert.Equal(t, []int{10, 11, 12}, h.delivered())
		assert.Equal(t, newToken, tokenOf(t, h.reconnect(next.Gen)), "the old channel was given up")
	})
}

// TestLedgerKeepsAtMostMaxRotated: rotations that keep coming while no connection opens (each
// renewal, due at once as the portal hands out channels that have just ended, brings another shared
// channel, and replaces the dial under way) leave at most maxRotated rotated channels in the ledger.
// Every dial carries the config's channels, then the rotated ones, oldest first; once there are more,
// the oldest is given up and never dialled again.
func TestLedgerKeepsAtMostMaxRotated(t *testing.T) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = 2 * time.Second // renewals retried every lifetime while the config is expired
	gen := h.start(s)
	h.frame(gen, msg(10))
	c := h.redial(gen) // under way: it never opens
	var rotated []string
	shared := sharedID
	for k := 1; k <= maxRotated+2; k++ {
		requireAction[LoadConfig](t, h.advanceTo("renew"))
		rotated = append(rotated, shared)
		if len(rotated) > maxRotated {
			rotated = rotated[1:]
		}
		shared = fmt.Sprintf("%032x.%040x", 0xe0000+k, k)
		s.shared, s.start = shared, h.now.Add(-s.lifetime)
		acts := h.answer(s)
		assert.Equal(t, c.Gen, requireAction[Disconnect](t, acts).Gen)
		c = expectDial(t, acts, 10, append([]string{privID, shared}, rotated...)...)
	}
	assert.Len(t, c.Channels, 2+maxRotated)
	assert.NotContains(t, c.Channels, sharedID)
}

package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// renewedShared starts a harness, lets the renewal come due and answers it with the shared channel
// rotated, while message 10 arrived before the load and 11 (on the private channel) during it.
func renewedShared(t *testing.T) (*harness, int, []Action) {
	h := newHarness(t, Options{})
	s := defaultSpec()
	s.lifetime = time.Minute
	gen := h.start(s)
	h.m.Frame(gen, textMsg(mid(10), "application", "before", `{}`), false, h.now)
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

// TestSwitchCutShortByAClose: a connection lost while draining reconnects to the new channels from
// where the load began, not from the newer ids that arrived meanwhile.
func TestSwitchCutShortByAClose(t *testing.T) {
	h, gen, _ := renewedShared(t)
	h.m.Frame(gen, textMsg(mid(12), "application", "late", `{}`), false, h.now)
	h.m.Closed(gen, 1006, h.now)
	assert.NotContains(t, h.m.Timers(h.now), "switch")
	c := requireAction[Connect](t, h.advance(2*time.Second))
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

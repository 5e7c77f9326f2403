package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDedupBefore(t *testing.T) {
	d := newDedup(6)
	_, ok := d.before(100)
	assert.False(t, ok, "nothing remembered")

	d.add("a", 10)
	d.add("b", 0) // no server time: never chosen for its time
	d.add("c", 20)
	d.add("d", 30)
	id, ok := d.before(25)
	assert.True(t, ok)
	assert.Equal(t, "c", id, "the newest published before the time")
	id, _ = d.before(20.5)
	assert.Equal(t, "c", id)
	id, _ = d.before(15)
	assert.Equal(t, "b", id, "the window's newer half is b, c, d: its oldest when all are newer")

	d.add("x", 5) // published early, arrived late: not the last message before 25
	id, _ = d.before(25)
	assert.Equal(t, "c", id, "the one that arrived just before the first published at or after the time")

	d.add("e", 40)
	d.add("f", 50)
	d.add("g", 60) // evicts a, b
	id, _ = d.before(1)
	assert.Equal(t, "e", id, "never further back than the newer half of the window")
	d.add("y", 1) // the newer half is now f, g, y
	id, _ = d.before(50)
	assert.Equal(t, "f", id, "the oldest of the half when the oldest in it is recent")
	assert.True(t, d.add("a", 10), "evicted ids are new again")
}

// TestEarlierComparesOpaqueIDsByArrival: JSON-RPC ids carry no order of their own; where a switch
// resumes from the older of two positions, the older is the one that arrived first. A renewal asked
// for at "x9" and answered, after "a1" arrived, with the shared channel rotated resumes from "x9",
// though "a1" sorts first.
func TestEarlierComparesOpaqueIDsByArrival(t *testing.T) {
	timing := DefaultTiming()
	timing.FirstPingTimeout, timing.PingTimeout = time.Hour, time.Hour // no pings needed here
	h := newHarness(t, Options{Timing: &timing})
	s := v5()
	s.lifetime = time.Minute
	gen := h.start(s)
	h.frame(gen, rpcMessage("x9", "a"))
	requireAction[LoadConfig](t, h.advanceTo("renew"))
	h.frame(gen, rpcMessage("a1", "b"))
	s.start, s.shared = h.now, newShare
	requireNo[Connect](t, h.answer(s))
	c := dialOf(t, requireAction[Connect](t, h.advance(switchDrainTimeout)))
	assert.Equal(t, "x9", c.MID)
}

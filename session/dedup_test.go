package session

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/b24pull/b24pull/protocol"
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

// TestEarlierComparesOpaqueIDsByArrival: JSON-RPC ids carry no order of their own; where a dial
// resumes from the oldest of its channels' positions, the older is the one that arrived first. "x9"
// (published at t0+1s) arrives before "a1" (published at t0+30s), though "a1" sorts first. A renewal
// answered with the shared channel rotated resumes, once the hold has passed, from "a1" when the new
// channel started after both (the renewal asked for at "x9" moves nothing back), and from "x9" when
// it started between them.
func TestEarlierComparesOpaqueIDsByArrival(t *testing.T) {
	for _, tc := range []struct {
		name       string
		askedAtA1  bool          // the renewal is asked for once "a1" arrived (else at "x9")
		newStarted time.Duration // the new shared channel's start, from t0; 0: when answered
		from       string
	}{
		{"renewal asked at the older id", false, 0, "a1"},
		{"new channel older than the newer id", true, 20 * time.Second, "x9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timing := DefaultTiming()
			timing.FirstPingTimeout, timing.PingTimeout = time.Hour, time.Hour // no pings needed here
			h := newHarness(t, Options{Timing: &timing})
			s := v5()
			s.lifetime = time.Minute
			gen := h.start(s)
			x9, a1 := rpcMessageAt("x9", t0.Add(time.Second)), rpcMessageAt("a1", t0.Add(30*time.Second))
			h.frame(gen, x9)
			if tc.askedAtA1 {
				h.frame(gen, a1)
			}
			requireAction[LoadConfig](t, h.advanceTo("renew"))
			if !tc.askedAtA1 {
				h.frame(gen, a1)
			}
			s.start, s.shared = h.now, newShare
			if tc.newStarted > 0 {
				s.start = t0.Add(tc.newStarted)
			}
			requireNo[Connect](t, h.answer(s))
			c := dialOf(t, requireAction[Connect](t, h.advance(rotatedWait)))
			assert.Equal(t, tc.from, c.MID)
		})
	}
}

// rpcMessageAt is a JSON-RPC delivery with id, published at server time at.
func rpcMessageAt(id string, at time.Time) []byte {
	body := fmt.Sprintf(`{"module_id":"application","command":"c","params":{},"extra":{"server_time_unix":%.3f}}`, unixSeconds(at))
	return protocol.EncodeIncomingMessage(id, json.RawMessage(body), protocol.Sender{Type: 2}, nil, nil)
}

//go:build knowngaps

package session

// Scenarios the current switching mechanism loses messages in. They fail today; they are kept out of
// the normal suite (run them with go test -tags knowngaps ./session/) as targets for the redesign.

import (
	"testing"
	"time"
)

// TestLateLastWordLeavesAStragglerBehind: the portal's pushes run late: five seconds after it
// replaced the private channel, it still sends one event to the old channel (a process that had
// looked the channel up before), and then the old channel's channel_expire. The client, having
// waited switchDrainTimeout for that channel_expire after the renewal's answer, has moved to the new
// channels, and no connection subscribes the old one again: the event is lost.
func TestLateLastWordLeavesAStragglerBehind(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 5 * time.Second
	w.traffic(30*time.Second, 5*time.Second)
	w.publish("private") // replaces P0; the renewal at 31 s learns of P1, the switch follows at 33 s
	p0 := w.chans[0]
	w.run(4 * time.Second)
	w.publishTo(p0) // at 34 s, before P0's channel_expire at 35 s
	w.traffic(time.Minute, 5*time.Second)
	w.requireAllDelivered()
}

// TestSixRotationsDuringOneOutage: the push server is unreachable across six rotations (with the
// portal's 12 h channels, three days; with a test portal's one-minute channels, three minutes). The
// configs waiting for a catch-up are capped at maxOwed (4), so the fifth channel left behind (P3) is
// never caught up on: what it carried is lost.
func TestSixRotationsDuringOneOutage(t *testing.T) {
	w := newWorld(t, time.Minute)
	cut := w.outage(20*time.Second, 6*30*time.Second+15*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
}

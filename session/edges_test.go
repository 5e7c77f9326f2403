package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Edges of channel switching, played against a portal and a push server (world_test.go) whose
// channels live a minute, the private and the shared one rotating in turn every half minute. Each
// scenario checks only what a driver sees: every event the portal published reaches the
// subscribers once and in order, and the dials show which channels were caught up on.

// TestLastWordArrivesAfterTheSwitch: each rotated channel's channel_expire is stored five seconds
// after the portal replaced it, by which time the client, having waited switchDrainTimeout for it,
// has opened a connection with the new config. Nothing is lost, and the late notice, which no
// connection listens for any more, changes nothing: no extra config load, no extra dial.
func TestLastWordArrivesAfterTheSwitch(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 5 * time.Second
	w.traffic(2*time.Minute+15*time.Second, 5*time.Second)
	w.requireAllDelivered()
	// the start, then one load and one dial per rotation (at 30 s, 60 s, 90 s and 120 s)
	assert.Equal(t, 5, w.loads(), w.trace())
	assert.Len(t, w.dialed, 5, w.trace())
}

// TestLastWordNeverArrives: the rotated channels' channel_expire never comes (it left the server's
// store, or was never sent); each switch happens once its bound has passed, and nothing is lost.
func TestLastWordNeverArrives(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = -1
	w.traffic(2*time.Minute+15*time.Second, 5*time.Second)
	w.requireAllDelivered()
	for _, d := range w.dialed[1:] {
		assert.Less(t, d.at%(30*time.Second), 5*time.Second, "each switch a few seconds after a rotation: %s", d)
	}
}

// TestLastWordNeverArrivesOnACatchUp: a channel rotated during an outage whose channel_expire never
// comes: the catch-up after the outage replays what it holds and gives it up after its bound;
// nothing is lost.
func TestLastWordNeverArrivesOnACatchUp(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = -1
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
}

// TestLastWordArrivesOnACatchUp: the private channel rotates while the push server is unreachable;
// its channel_expire waits in the server's store, and the catch-up connection after the outage
// brings it behind the events sent to the channel meanwhile; the new channels are joined at once.
func TestLastWordArrivesOnACatchUp(t *testing.T) {
	w := newWorld(t, time.Minute)
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
	opened := w.openedSince(cut)
	require.GreaterOrEqual(t, len(opened), 2, w.trace())
	assert.Equal(t, []string{"P0", "S0"}, opened[0].labels, "the catch-up comes first: %s", w.trace())
	assert.Equal(t, []string{"P1", "S0"}, opened[1].labels, "then the new channels: %s", w.trace())
	assert.Less(t, opened[1].at-opened[0].at, catchUpDrainTimeout, "without waiting for the bound")
}

// TestLastWordLateOnACatchUp: the rotated channel's channel_expire is stored only after the
// catch-up connection opened and gave it up; what the channel held before is replayed all the same.
func TestLastWordLateOnACatchUp(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 30 * time.Second
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
}

// TestSeveralRotationsDuringOneOutage: the push server is unreachable across two to five
// rotations (the portal stays reachable: the client's renewals and refused dials reload the config
// and learn each new channel); once it is back, every event sent to any of the channels while they
// were in use reaches the subscribers once, and the dials after the outage subscribed each channel
// that held some of them, from before them.
func TestSeveralRotationsDuringOneOutage(t *testing.T) {
	for _, rotations := range []int{2, 3, 4, 5} {
		t.Run(fmt.Sprint(rotations), func(t *testing.T) {
			w := newWorld(t, time.Minute)
			cut := w.outage(20*time.Second, time.Duration(rotations)*30*time.Second+15*time.Second)
			w.requireAllDelivered()
			w.requireReplayed(cut)
		})
	}
}

// TestRotationsWhileFullyOffline: the client loses the portal too (config loads fail) across two
// rotations. Once back, it catches up on the channels it had and on those the last words name (a
// shared channel's successor); the private channel that lived only during the outage was never
// handed to it, and no notice names it (its predecessor's last word asks for a config load), so its
// events are out of reach. Everything else arrives once.
func TestRotationsWhileFullyOffline(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.traffic(20*time.Second, 5*time.Second)
	cut := w.now
	w.cut()
	w.portalDown = true
	w.traffic(75*time.Second, 5*time.Second)
	back := w.now
	w.restore()
	w.portalDown = false
	w.traffic(2*time.Minute, 5*time.Second)
	var unknown []int // on a private channel created and replaced during the outage
	for _, ev := range w.store {
		if ch := ev.ch; !ev.system && ch.kind == "private" && !ch.start.Before(cut.Truncate(time.Second)) && ch.retired() && ch.retiredAt.Before(back) {
			unknown = append(unknown, ev.n)
		}
	}
	require.NotEmpty(t, unknown)
	w.requireAllDelivered(unknown...)
	w.requireReplayed(cut, unknown...)
}

// TestRefusedDialWithRotatedIDs: a push server that refuses any dial naming a replaced channel
// (the way a browser sees a refused handshake: closed before it opened). A connection that dials
// with rotated ids costs refused dials, then the new config is joined:
//
//   - after a drain cut short by a dropped connection, nothing is lost: the portal sent nothing more
//     to the replaced channel;
//   - after an outage across a rotation, what was sent to channels replaced by the time the server
//     was back is out of reach (the server refuses them); everything else is delivered.
func TestRefusedDialWithRotatedIDs(t *testing.T) {
	t.Run("drain cut short", func(t *testing.T) {
		w := newWorld(t, time.Minute)
		w.refuseRetired = true
		w.lastWordDelay = 5 * time.Second // so that the renewal's answer starts a drain
		w.traffic(30*time.Second, 5*time.Second)
		w.publish("private") // replaces P0
		w.run(1500 * time.Millisecond)
		require.Len(t, w.dialed, 1, "draining P0 since the renewal at 31 s: %s", w.trace())
		cut := w.now
		w.cut()
		w.restore()
		w.traffic(time.Minute, 5*time.Second)
		w.requireAllDelivered()
		w.requireReplayed(cut)
		requireRefusedFirst(t, w, cut)
	})
	t.Run("outage", func(t *testing.T) {
		w := newWorld(t, time.Minute)
		w.refuseRetired = true
		cut := w.outage(20*time.Second, 45*time.Second)
		back := firstOpen(w, cut)
		var stranded []int // on channels replaced before a connection could open
		for _, ev := range w.store {
			if !ev.system && !ev.at.Before(cut) && ev.ch.retired() && !ev.ch.retiredAt.After(back) {
				stranded = append(stranded, ev.n)
			}
		}
		require.NotEmpty(t, stranded)
		w.requireAllDelivered(stranded...)
		w.requireReplayed(cut, stranded...)
		requireRefusedFirst(t, w, cut)
	})
}

// firstOpen returns when the first connection dialled from cut on opened.
func firstOpen(w *world, cut time.Time) time.Time {
	opened := w.openedSince(cut)
	require.NotEmpty(w.t, opened, w.trace())
	return t0.Add(opened[0].at)
}

// requireRefusedFirst checks that, from cut on, a dial with replaced channels was refused and no
// connection with one opened.
func requireRefusedFirst(t *testing.T, w *world, cut time.Time) {
	t.Helper()
	refused := false
	for _, d := range w.dialed {
		if t0.Add(d.at).Before(cut) {
			continue
		}
		refused = refused || d.result == "refused"
		if d.result == "open" {
			require.True(t, refused, "a refused dial first\n%s", w.trace())
		}
	}
}

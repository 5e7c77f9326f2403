package session

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Edges of channel switching, played against a portal and a push server (world_test.go) whose
// channels live a minute, the private and the shared one rotating in turn every half minute. Each
// scenario checks only what a driver sees: every event the portal published reaches the
// subscribers once and in order, and the dials show which channels each connection carried.

// TestLastWordArrivesAfterTheSwitch: each rotated channel's channel_expire is stored five seconds
// after the portal replaced it, by which time the client, having held the connection rotatedWait for
// it, has opened one with the new config that still carries the rotated channel. The late notice
// arrives there and settles the channel without a dial; nothing is lost, and there is no extra config
// load or dial.
func TestLastWordArrivesAfterTheSwitch(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 5 * time.Second
	w.traffic(2*time.Minute+15*time.Second, 5*time.Second)
	w.requireAllDelivered()
	// the start, then one load and one dial per rotation (at 30 s, 60 s, 90 s and 120 s)
	assert.Equal(t, 5, w.loads(), w.trace())
	assert.Len(t, w.dialed, 5, w.trace())
}

// TestLateLastWordStragglerIsDelivered: the portal's pushes run late: five seconds after it replaced
// the private channel, it still sends one event to the old channel (a process that had looked the
// channel up before), and then the old channel's channel_expire. The client, having held the
// connection rotatedWait for that channel_expire after the renewal's answer, has moved to a
// connection that carries the new channels and still the old one: the straggler is delivered.
func TestLateLastWordStragglerIsDelivered(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 5 * time.Second
	w.traffic(30*time.Second, 5*time.Second)
	w.publish("private") // replaces P0; the renewal at 31 s learns of P1, the hold ends at 33 s
	p0 := w.chans[0]
	w.run(4 * time.Second)
	w.publishTo(p0) // at 34 s, before P0's channel_expire at 35 s
	w.traffic(time.Minute, 5*time.Second)
	w.requireAllDelivered()
}

// TestLastWordNeverArrives: the rotated channels' channel_expire never comes (it left the server's
// store, or was never sent); each hold ends once rotatedWait has passed, and nothing is lost.
func TestLastWordNeverArrives(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = -1
	w.traffic(2*time.Minute+15*time.Second, 5*time.Second)
	w.requireAllDelivered()
	for _, d := range w.dialed[1:] {
		assert.Less(t, d.at%(30*time.Second), 5*time.Second, "each new connection a few seconds after a rotation: %s", d)
	}
}

// TestLastWordNeverArrivesAfterAnOutage: a channel rotated during an outage whose channel_expire
// never comes: the connections after the outage carry it with the new channels, replay what it holds
// and give it up after rotatedLife; nothing is lost.
func TestLastWordNeverArrivesAfterAnOutage(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = -1
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
}

// TestLastWordStoredDuringAnOutage: the private channel rotates while the push server is
// unreachable; its channel_expire waits in the server's store. The one dial during the outage that
// carried it failed, so the dials after it leave it out; the first connection after the outage is
// replaced at once by one that carries it with the new channels, whose replay brings the events sent
// to it meanwhile, then its last word: no later dial carries it.
func TestLastWordStoredDuringAnOutage(t *testing.T) {
	w := newWorld(t, time.Minute)
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
	opened := w.openedSince(cut)
	require.GreaterOrEqual(t, len(opened), 3, w.trace())
	assert.NotContains(t, opened[0].labels, "P0", "left out after the failed dial: %s", w.trace())
	assert.Equal(t, []string{"P1", "S1", "P0", "S0"}, opened[1].labels, "then tried once more, with the new channels: %s", w.trace())
	assert.Equal(t, opened[0].at, opened[1].at, "at once")
	for _, d := range opened[2:] {
		assert.NotContains(t, d.labels, "P0", "its last word arrived: %s", w.trace())
	}
}

// TestLastWordLateAfterAnOutage: each rotated channel's channel_expire is stored half a minute after
// its replacement (P0's at 60 s, after the outage); the connections after the outage carry the
// rotated channels with the new ones until then, and what each held is replayed all the same.
func TestLastWordLateAfterAnOutage(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.lastWordDelay = 30 * time.Second
	cut := w.outage(20*time.Second, 45*time.Second)
	w.requireAllDelivered()
	w.requireReplayed(cut)
}

// TestSeveralRotationsDuringOneOutage: the push server is unreachable across two to seven
// rotations (the portal stays reachable: the client's renewals and refused dials reload the config
// and learn each new channel; with the portal's 12 h channels, six rotations are three days); once
// it is back, every event sent to any of the channels while they were in use reaches the subscribers
// once, and the dials after the outage subscribed each channel that held some of them, from before
// them. (Eight rotations leave more than maxRotated channels rotated: the oldest is given up.)
func TestSeveralRotationsDuringOneOutage(t *testing.T) {
	for _, rotations := range []int{2, 3, 4, 5, 6, 7} {
		t.Run(fmt.Sprint(rotations), func(t *testing.T) {
			w := newWorld(t, time.Minute)
			cut := w.outage(20*time.Second, time.Duration(rotations)*30*time.Second+15*time.Second)
			w.requireAllDelivered()
			w.requireReplayed(cut)
		})
	}
}

// TestRotationsWhileFullyOffline: the client loses the portal too (config loads fail) across two
// rotations. Once back, it reads the channels it had and those the last words name (a shared
// channel's successor); the private channel that lived only during the outage was never
// handed to it, and no notice names it (its predecessor's last word asks for a config load), so its
// events are out of reach. Everything else arrives once.
func TestRotationsWhileFullyOffline(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.requireReachableDelivered(w.offline(75*time.Second, 75*time.Second))
}

// TestSharedSuccessorsLearntFromLastWords: as TestRotationsWhileFullyOffline, but the portal comes
// back half a minute before the push server, when the shared channel has rotated twice (S0 → S1 →
// S2, and S3 by the time a config is loaded): the config names neither S1 nor S2. S0's last word
// names S1, and S1's names S2: what was sent to them is within reach, through their own ids, and must
// arrive like everything but the private channels never handed out.
func TestSharedSuccessorsLearntFromLastWords(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.requireReachableDelivered(w.offline(105*time.Second, 135*time.Second))
}

// offline publishes events every five seconds for 20 s, then has the portal out of reach for portal
// and the push server for push (from the same moment on), and then two minutes of traffic; it
// returns when the outage began and when the push server came back.
func (w *world) offline(portal, push time.Duration) (cut, back time.Time) {
	w.traffic(20*time.Second, 5*time.Second)
	cut = w.now
	w.cut()
	w.portalDown = true
	w.traffic(portal, 5*time.Second)
	w.portalDown = false
	w.traffic(push-portal, 5*time.Second)
	back = w.now
	w.restore()
	w.traffic(2*time.Minute, 5*time.Second)
	return cut, back
}

// requireReachableDelivered checks, after an outage from cut to back, that every event arrived once
// and was carried by a connection from cut on, but those sent to private channels created and
// replaced during the outage: no config handed them out and no notice names them.
func (w *world) requireReachableDelivered(cut, back time.Time) {
	w.t.Helper()
	var unknown []int
	for _, ev := range w.store {
		if ch := ev.ch; !ev.system && ch.kind == "private" && !ch.start.Before(cut.Truncate(time.Second)) && ch.retired() && ch.retiredAt.Before(back) {
			unknown = append(unknown, ev.n)
		}
	}
	require.NotEmpty(w.t, unknown)
	w.requireAllDelivered(unknown...)
	w.requireReplayed(cut, unknown...)
}

// TestRefusedDialWithRotatedIDs: a push server that refuses any dial naming a replaced channel
// (the way a browser sees a refused handshake: closed before it opened). A dial with rotated ids is
// refused, the next one leaves them out, and once that opens they are tried once more, then given
// up:
//
//   - after a hold cut short by a dropped connection, the dials go: with P0 (refused), without (opens),
//     with P0 once more (refused), without for good. Nothing is lost: the portal sent nothing more
//     to the replaced channel;
//   - after an outage across a rotation, what was sent to channels replaced by the time the server
//     was back is out of reach (the server refuses them); everything else is delivered.
func TestRefusedDialWithRotatedIDs(t *testing.T) {
	t.Run("hold cut short", func(t *testing.T) {
		w := newWorld(t, time.Minute)
		w.refuseRetired = true
		w.lastWordDelay = 5 * time.Second // so that the renewal's answer holds the connection
		w.traffic(30*time.Second, 5*time.Second)
		w.publish("private") // replaces P0
		w.run(1500 * time.Millisecond)
		require.Len(t, w.dialed, 1, "held for P0 since the renewal at 31 s: %s", w.trace())
		cut := w.now
		w.cut()
		w.restore()
		w.traffic(time.Minute, 5*time.Second)
		w.requireAllDelivered()
		w.requireReplayed(cut)
		requireRefusedFirst(t, w, cut)
		var p0 []string // the dials from the cut on, by whether they carried P0
		for _, d := range w.dialed[1:] {
			if slices.Contains(d.labels, "P0") {
				p0 = append(p0, "with P0: "+d.result)
			} else {
				p0 = append(p0, "without: "+d.result)
			}
		}
		require.GreaterOrEqual(t, len(p0), 4, w.trace())
		assert.Equal(t, []string{"with P0: refused", "without: open", "with P0: refused", "without: open"}, p0[:4], w.trace())
		assert.NotContains(t, strings.Join(p0[4:], ","), "with P0", "given up: %s", w.trace())
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

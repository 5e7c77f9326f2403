package session

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/protocol"
)

// world is a portal and a push server (version 4) around the harness's machine, for scenarios that
// span rotations and outages. It answers every action the machine asks for, as the real ones would:
//
//   - the portal hands out a channel until its end has passed, and replaces it when a config call or
//     a publish finds it expired; the replaced channel then gets its last word (channel_expire, naming
//     the successor for a shared channel), at once, after lastWordDelay, or never;
//   - the push server stores every message under its channel with a global id, delivers it live to a
//     connection subscribing that channel, and replays what a connection's channels hold after the
//     mid it dials with (its first frame; on long polling, the answer to each GET);
//   - while unreachable, every dial fails as a browser sees it (websocket: closed before it opened);
//     with refuseRetired a dial naming a replaced channel is refused the same way (4010 on long
//     polling), as a server that checks more than signatures would.
//
// Scenarios then assert, whatever the mechanism, that every event published reached the subscribers
// once and in order (requireAllDelivered), and read the dials the machine made.
type world struct {
	*harness
	lifetime        time.Duration
	private, shared *wchan
	chans           []*wchan
	store           []*wmsg
	conn            *wconn
	unreachable     bool          // the push server: every dial fails
	portalDown      bool          // config loads fail
	refuseRetired   bool          // the push server refuses a dial naming a replaced channel
	lastWordDelay   time.Duration // after a replacement, until its last word is stored; < 0: never
	scheduled       []scheduled
	queue           []Action
	dialed          []worldDial
}

// wchan is a channel the portal created.
type wchan struct {
	label      string // P0, S1…: its kind and seq
	kind       string // "private" or "shared"
	seq        int    // how many channels of its kind came before it
	id         string
	start, end time.Time
	retiredAt  time.Time // when a newer channel replaced it; zero while in use
}

func (ch *wchan) retired() bool { return !ch.retiredAt.IsZero() }

// wmsg is a message the push server stored.
type wmsg struct {
	n      int
	ch     *wchan
	system bool
	at     time.Time
	body   string // the message JSON
}

// wconn is the connection the machine has open, or is dialling.
type wconn struct {
	gen     int
	subs    []*wchan
	lp      bool
	waiting bool // a long-polling GET is held
}

// worldDial is one dial as the push server saw it.
type worldDial struct {
	at     time.Duration // since t0
	labels []string
	from   int    // the message number of its mid, 0 for none
	result string // "open", "down" or "refused"
}

func (d worldDial) String() string {
	return fmt.Sprintf("%s %s from %d: %s", d.at, strings.Join(d.labels, "+"), d.from, d.result)
}

type scheduled struct {
	at time.Time
	do func()
}

// newWorld starts a machine against a portal whose channels live lifetime; the private channel was
// created half a lifetime before the shared one, so that the two rotate in turn.
func newWorld(t *testing.T, lifetime time.Duration) *world {
	w := &world{harness: newHarness(t, Options{}), lifetime: lifetime}
	w.private = w.newChannel("private", 0, t0.Add(-lifetime/2))
	w.shared = w.newChannel("shared", 0, t0)
	w.feed(w.rec(w.m.Start(w.now)))
	require.Equal(t, StatusOnline, w.m.Status(), "started: %v", w.dialed)
	return w
}

func (w *world) newChannel(kind string, n int, start time.Time) *wchan {
	k := len(w.chans) + 1
	ch := &wchan{kind: kind, seq: n, start: start, end: start.Add(w.lifetime)}
	if kind == "private" {
		ch.label = fmt.Sprintf("P%d", n)
		ch.id = fmt.Sprintf("%032x:%032x.%040x", 0xa0000+k, 0xb0000+k, k)
	} else {
		ch.label = fmt.Sprintf("S%d", n)
		ch.id = fmt.Sprintf("%032x.%040x", 0xc0000+k, k)
	}
	w.chans = append(w.chans, ch)
	return ch
}

// current returns the portal's channel of kind, replacing it first when its end has passed.
func (w *world) current(kind string) *wchan {
	ch := &w.shared
	if kind == "private" {
		ch = &w.private
	}
	old := *ch
	if w.now.Before(old.end) {
		return old
	}
	next := w.newChannel(kind, old.seq+1, w.now.Truncate(time.Second))
	old.retiredAt = w.now
	*ch = next
	lastWord := func() { w.put(old, true, lastWordOf(old, next)) }
	switch {
	case w.lastWordDelay == 0:
		lastWord()
	case w.lastWordDelay > 0:
		w.at(w.now.Add(w.lastWordDelay), lastWord)
	}
	return next
}

// lastWordOf is the portal's channel_expire for old, replaced by next.
func lastWordOf(old, next *wchan) string {
	if old.kind == "private" {
		return `{"action":"get_config","channel":{"id":"` + old.id + `","type":"private"}}`
	}
	return `{"action":"reconnect","channel":{"id":"` + old.id + `","type":"shared"},"new_channel":{"id":"` + next.id +
		`","start":"` + next.start.Format(time.RFC3339) + `","end":"` + next.end.Format(time.RFC3339) + `","type":"shared"}}`
}

// publish has the portal send an event to the user's channel of kind; it returns its number.
func (w *world) publish(kind string) int { return w.put(w.current(kind), false, "") }

// publishTo sends an event to ch, replaced or not (a portal process that looked the channel up
// before it was replaced).
func (w *world) publishTo(ch *wchan) int { return w.put(ch, false, "") }

// put stores a message on ch and delivers it to a connection listening there.
func (w *world) put(ch *wchan, system bool, params string) int {
	n := len(w.store) + 1
	ev := &wmsg{n: n, ch: ch, system: system, at: w.now}
	if system {
		ev.body = fmt.Sprintf(`{"module_id":"pull","command":"channel_expire","params":%s,"extra":{"server_time_unix":%.3f}}`, params, unixSeconds(w.now))
	} else {
		ev.body = fmt.Sprintf(`{"module_id":"application","command":%q,"params":{},"extra":{"server_time_unix":%.3f}}`, key(n), unixSeconds(w.now))
	}
	w.store = append(w.store, ev)
	if c := w.conn; c != nil && slices.Contains(c.subs, ch) {
		w.send(c, []*wmsg{ev})
	}
	return n
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// send hands msgs to connection c: a websocket frame, or the answer to its held GET.
func (w *world) send(c *wconn, msgs []*wmsg) {
	if !c.lp {
		var frame []byte
		for _, ev := range msgs {
			frame = append(frame, protocol.EncodeText(protocol.TextEnvelope{ID: int64(ev.n), MID: mid(ev.n), Channel: "-", Text: []byte(ev.body)})...)
		}
		w.feed(w.rec(w.m.Frame(c.gen, frame, false, w.now)))
		return
	}
	if !c.waiting {
		return // stored: the next GET replays it
	}
	var out []protocol.OutgoingMessage
	for _, ev := range msgs {
		id, _ := hex.DecodeString(mid(ev.n))
		out = append(out, protocol.OutgoingMessage{ID: id, Body: []byte(ev.body), Expiry: 86400})
	}
	c.waiting = false
	body := protocol.ResponseBatch{Responses: []protocol.Response{{HasOutgoing: true, OutgoingMessages: out}}}
	w.feed(w.rec(w.m.PollResult(c.gen, 200, body.Marshal(), "", "", w.now)))
}

// after returns what the channels hold after message n, in id order.
func (w *world) after(subs []*wchan, n int) []*wmsg {
	var out []*wmsg
	for _, ev := range w.store {
		if ev.n > n && slices.Contains(subs, ev.ch) {
			out = append(out, ev)
		}
	}
	return out
}

// at schedules do at time t.
func (w *world) at(t time.Time, do func()) { w.scheduled = append(w.scheduled, scheduled{t, do}) }

// feed carries out the machine's actions, and those its answers bring, in order.
func (w *world) feed(acts []Action) {
	w.queue = append(w.queue, acts...)
	if len(w.queue) > len(acts) {
		return // an outer feed is draining the queue
	}
	for len(w.queue) > 0 {
		a := w.queue[0]
		switch a := a.(type) {
		case LoadConfig:
			if w.portalDown {
				w.queue = append(w.queue, w.rec(w.m.ConfigFailed(errors.New("network down"), w.now))...)
			} else {
				w.queue = append(w.queue, w.rec(w.m.ConfigLoaded(w.answer(), w.now))...)
			}
		case Connect:
			w.dial(a)
		case Poll:
			if c := w.conn; c != nil && c.gen == a.Gen {
				w.get(c, urlDial(w.t, a.Gen, protocol.TransportLongPolling, a.URL).MID)
			}
		case Disconnect:
			if w.conn != nil && w.conn.gen == a.Gen {
				w.conn = nil
			}
		}
		w.queue = w.queue[1:]
	}
}

// answer is the portal's config answer.
func (w *world) answer() *protocol.Config {
	priv, shared := w.current("private"), w.current("shared")
	spec := func(ch *wchan) *channelSpec { return &channelSpec{id: ch.id, start: ch.start, end: ch.end} }
	cfg, err := protocol.ParseConfig([]byte(configJSON(4, true, w.now, shared.end, "", spec(priv), spec(shared))), w.now)
	require.NoError(w.t, err)
	return cfg
}

func (w *world) byID(id string) *wchan {
	for _, ch := range w.chans {
		if ch.id == id {
			return ch
		}
	}
	w.t.Fatalf("dialled a channel the portal never made: %s", id)
	return nil
}

func (w *world) dial(c Connect) {
	d := dialOf(w.t, c)
	var subs []*wchan
	var labels []string
	refused := false
	for _, id := range d.Channels {
		ch := w.byID(id)
		subs = append(subs, ch)
		labels = append(labels, ch.label)
		refused = refused || (w.refuseRetired && ch.retired())
	}
	rec := worldDial{at: w.now.Sub(t0), labels: labels, from: midNumber(d.MID), result: "open"}
	lp := c.Transport == protocol.TransportLongPolling
	switch {
	case w.unreachable || refused:
		rec.result = "refused"
		if w.unreachable {
			rec.result, refused = "down", false
		}
		w.dialed = append(w.dialed, rec)
		switch {
		case !lp:
			w.queue = append(w.queue, w.rec(w.m.Closed(c.Gen, 1006, w.now))...)
		case refused:
			w.queue = append(w.queue, w.rec(w.m.PollResult(c.Gen, 400, []byte("4010: Wrong Channel Id."), "", "", w.now))...)
		default:
			w.queue = append(w.queue, w.rec(w.m.PollResult(c.Gen, 502, nil, "", "", w.now))...)
		}
		return
	}
	w.dialed = append(w.dialed, rec)
	w.conn = &wconn{gen: c.Gen, subs: subs, lp: lp}
	if lp {
		w.get(w.conn, d.MID)
		return
	}
	w.queue = append(w.queue, w.rec(w.m.Opened(c.Gen, w.now))...)
	if replay := w.replay(subs, d.MID); len(replay) > 0 {
		w.send(w.conn, replay)
	}
}

// replay is what a connection dialled from mid gets first: nothing without a mid.
func (w *world) replay(subs []*wchan, mid string) []*wmsg {
	if mid == "" {
		return nil
	}
	return w.after(subs, midNumber(mid))
}

// midNumber is n for mid(n), 0 for no mid.
func midNumber(s string) int {
	var n int
	if len(s) == len(mid(0)) {
		_, _ = fmt.Sscanf(s[len(s)-6:], "%d", &n)
	}
	return n
}

// get is one long-polling GET from mid: answered at once with what is stored, else held.
func (w *world) get(c *wconn, mid string) {
	if w.unreachable {
		w.conn = nil
		w.queue = append(w.queue, w.rec(w.m.PollResult(c.gen, 502, nil, "", "", w.now))...)
		return
	}
	c.waiting = true
	if replay := w.replay(c.subs, mid); len(replay) > 0 {
		w.send(c, replay)
	}
}

// cut makes the push server unreachable: the live connection drops, and dials fail until restore.
func (w *world) cut() {
	w.unreachable = true
	if c := w.conn; c != nil {
		w.conn = nil
		if c.lp {
			w.feed(w.rec(w.m.PollResult(c.gen, 502, nil, "", "", w.now)))
		} else {
			w.feed(w.rec(w.m.Closed(c.gen, 1006, w.now)))
		}
	}
}

// restore makes the push server reachable again; the machine finds out by its next dial.
func (w *world) restore() { w.unreachable = false }

// run lets d pass, firing the machine's timers and the world's scheduled events in time order.
func (w *world) run(d time.Duration) {
	end := w.now.Add(d)
	for i := 0; ; i++ {
		require.Less(w.t, i, 100000, "the machine does not settle")
		next := end
		if dl, ok := w.m.NextDeadline(); ok && dl.Before(next) {
			next = dl
		}
		for _, s := range w.scheduled {
			if s.at.Before(next) {
				next = s.at
			}
		}
		if next.After(w.now) {
			w.now = next
		}
		var due []scheduled
		w.scheduled = slices.DeleteFunc(w.scheduled, func(s scheduled) bool {
			if !s.at.After(w.now) {
				due = append(due, s)
				return true
			}
			return false
		})
		for _, s := range due {
			s.do()
		}
		w.feed(w.rec(w.m.Tick(w.now)))
		if !w.now.Before(end) {
			return
		}
	}
}

// traffic publishes an event to each channel kind every period for d, letting time run between.
func (w *world) traffic(d, period time.Duration) {
	for end := w.now.Add(d); w.now.Before(end); {
		w.publish("private")
		w.publish("shared")
		w.run(period)
	}
}

// requireAllDelivered checks that every event published reached the subscribers exactly once, each
// channel's in the order published, except those numbered in lost.
func (w *world) requireAllDelivered(lost ...int) {
	w.t.Helper()
	got := w.delivered()
	seen := map[int]int{}
	for _, n := range got {
		seen[n]++
	}
	var missing, twice []int
	last := map[*wchan]int{}
	var disordered []int
	for _, ev := range w.store {
		if ev.system {
			continue
		}
		switch {
		case seen[ev.n] == 0 && !slices.Contains(lost, ev.n):
			missing = append(missing, ev.n)
		case seen[ev.n] > 1:
			twice = append(twice, ev.n)
		}
	}
	for _, n := range got {
		ch := w.store[n-1].ch
		if n < last[ch] {
			disordered = append(disordered, n)
		}
		last[ch] = n
	}
	require.Truef(w.t, len(missing) == 0 && len(twice) == 0 && len(disordered) == 0,
		"missing %v, delivered twice %v, out of order %v\n%s", missing, twice, disordered, w.trace())
}

// trace describes what the world saw, for failure messages.
func (w *world) trace() string {
	var b strings.Builder
	for _, ev := range w.store {
		what := key(ev.n)
		if ev.system {
			what = "channel_expire"
		}
		fmt.Fprintf(&b, "  %s %s on %s\n", ev.at.Sub(t0), what, ev.ch.label)
	}
	b.WriteString("dials:\n")
	for _, d := range w.dialed {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	return b.String()
}

// requireReplayed checks that every event published from cut on (but those in lost) was carried by
// a connection dialled from cut on that opened, subscribed its channel and either was live when the
// event was published or replayed from before it: the dials show how nothing was lost.
func (w *world) requireReplayed(cut time.Time, lost ...int) {
	w.t.Helper()
	for _, ev := range w.store {
		if ev.system || ev.at.Before(cut) || slices.Contains(lost, ev.n) {
			continue
		}
		ok := slices.ContainsFunc(w.dialed, func(d worldDial) bool {
			at := t0.Add(d.at)
			return d.result == "open" && !at.Before(cut) && slices.Contains(d.labels, ev.ch.label) &&
				((d.from > 0 && d.from < ev.n) || !at.After(ev.at))
		})
		require.Truef(w.t, ok, "no connection carried %s of %s\n%s", key(ev.n), ev.ch.label, w.trace())
	}
}

// outage has events published every five seconds, the push server unreachable from from to to
// (since t0), and for two minutes after; it returns when the outage began.
func (w *world) outage(from, to time.Duration) time.Time {
	w.traffic(from-w.now.Sub(t0), 5*time.Second)
	cut := w.now
	w.cut()
	w.traffic(to-from, 5*time.Second)
	w.restore()
	w.traffic(2*time.Minute, 5*time.Second)
	return cut
}

// openedSince returns the dials from cut on that opened.
func (w *world) openedSince(cut time.Time) []worldDial {
	var out []worldDial
	for _, d := range w.dialed {
		if d.result == "open" && !t0.Add(d.at).Before(cut) {
			out = append(out, d)
		}
	}
	return out
}

package session

import (
	"slices"
	"strings"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// The ledger: which channels the client must read, and from where (the package doc states the rule).
// Message ids are global across channels, so one position cannot say how far each channel has been
// read; every channel keeps its own.

const (
	// rotatedWait bounds how long an open connection is kept, once a channel it carries has rotated
	// away (or is about to), for that channel's last word, before it is replaced by one that reads the
	// new channels too (and, where the server allows it, still the rotated one).
	rotatedWait = 2 * time.Second
	// rotatedLife is how long connections may read a rotated channel, in all, before it is given up
	// without its last word (a portal process may still send to it for a while).
	rotatedLife = 30 * time.Second
	// reopenWait is that time for a rotated channel no connection with the new channels can read
	// (another server, or another token): a push server replays what it stored at once, so the word
	// comes now or not at all, and the new channels wait behind it.
	reopenWait = time.Second
	// maxRotatedOpens bounds the connections that opened carrying a rotated channel and were lost before
	// its last word.
	maxRotatedOpens = 3
	// maxRotatedRefusals bounds the dials carrying a rotated channel that did not open: after the first,
	// dials leave it out, and it is tried once more after a connection without it opened (the server
	// may have been down rather than refusing it).
	maxRotatedRefusals = 3
	// maxRotated bounds the rotated channels kept; the oldest is given up first.
	maxRotated = 8
)

// entry is one channel the client is responsible for.
type entry struct {
	id   string           // the signed channel id
	raw  string           // id without its signature: what notices and configs are matched on
	cfg  *protocol.Config // the newest config holding it: its URLs and token
	from string           // every message before this position has arrived
	live bool             // the config in use holds it; otherwise it has rotated away
	// spent: its last word (channel_expire) arrived; it carries nothing more.
	spent bool
	// budget is how long open connections may still read it, rotated, before it is given up; until is
	// when that runs out on the open connection reading it now (zero while none does).
	budget time.Duration
	until  time.Time
	// hold, for a rotated (or ending) channel on an open connection: how long that connection is kept
	// for its last word before it is replaced.
	hold time.Time
	// opens and refusals count connections that opened carrying it, and dials of it that did not
	// open, since it rotated.
	opens, refusals int
}

// rawChannel strips the signature from a signed channel id ("<id>.<sig>" → "<id>").
func rawChannel(id string) string {
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		return id[:i]
	}
	return id
}

// withChannel returns a copy of cfg holding ch in the place of the channel of its type.
func withChannel(cfg *protocol.Config, ch *protocol.Channel) *protocol.Config {
	next := *cfg
	if ch.Type == "private" {
		next.Channels.Private = ch
	} else {
		next.Channels.Shared = ch
	}
	return &next
}

// rotatedBudget is how long connections may read a rotated channel of cfg without its last word: a
// channel the connections with the config in use cannot read holds the new channels back.
func (m *Machine) rotatedBudget(cfg *protocol.Config) time.Duration {
	if sameServer(cfg, m.cfg) {
		return rotatedLife
	}
	return reopenWait
}

// capRotated gives up the oldest rotated channels beyond maxRotated.
func (m *Machine) capRotated() {
	for rotated := m.rotatedCount(); rotated > maxRotated; rotated-- {
		i := slices.IndexFunc(m.ledger, func(e *entry) bool { return !e.live })
		m.giveUp(m.ledger[i], "too many rotated channels")
	}
}

// entryFor returns the entry of a channel id (signed or raw), or nil.
func (m *Machine) entryFor(id string) *entry {
	raw := rawChannel(id)
	for _, e := range m.ledger {
		if e.raw == raw {
			return e
		}
	}
	return nil
}

// take makes the ledger follow cfg, the config now in use: each channel it holds is live (a new one
// enters from before its start; the first ones, from the resume position), each live channel it no
// longer holds has rotated away and stays until its last word, unless that already arrived.
func (m *Machine) take(cfg *protocol.Config) {
	first := len(m.ledger) == 0
	held := map[string]bool{}
	for _, ch := range []*protocol.Channel{cfg.Channels.Private, cfg.Channels.Shared} {
		if ch == nil || ch.ID == "" {
			continue
		}
		raw := rawChannel(ch.ID)
		held[raw] = true
		if e := m.entryFor(raw); e != nil {
			if !e.live {
				// Back in the config in use (an answer older than a rotation it had seen): it is read
				// as a live channel again, with none of the rotated one's counts.
				e.budget, e.until, e.hold, e.opens, e.refusals = 0, time.Time{}, time.Time{}, 0, 0
			}
			e.id, e.cfg, e.live = ch.ID, cfg, true
			continue
		}
		from := m.resume.MID
		if !first {
			// Ids are global: while the client read other channels, their messages moved the position
			// past what was already sent to this one. Server times tell which id came before its start.
			from = m.positionBefore(ch.Start, from)
		}
		m.ledger = append(m.ledger, &entry{id: ch.ID, raw: raw, cfg: cfg, from: from, live: true})
	}
	for _, e := range m.ledger {
		if e.live && !held[e.raw] {
			e.live = false
			e.budget = m.rotatedBudget(e.cfg)
			if m.conn.state == connOpen && slices.Contains(m.conn.carried, e) {
				e.until = m.now.Add(e.budget)
			}
			m.logf("a %s channel rotated away: read until its last word", channelKind(e))
		}
	}
	m.ledger = slices.DeleteFunc(m.ledger, func(e *entry) bool { return !e.live && e.spent })
	m.capRotated()
}

// enterRotated adds a channel that no config in use holds and that has not said its last word: the
// successor a rotated channel's channel_expire names, already rotated away itself. It is read from
// before its start, with the URLs and token of pred, the config its predecessor came from, holding it
// in its predecessor's place (so that its own last word can name the next one).
func (m *Machine) enterRotated(ch *protocol.Channel, pred *protocol.Config) {
	m.ledger = append(m.ledger, &entry{id: ch.ID, raw: rawChannel(ch.ID), cfg: withChannel(pred, ch),
		from: m.positionBefore(ch.Start, m.resume.MID), budget: m.rotatedBudget(pred)})
	m.capRotated()
	m.logf("channel_expire names a %s channel no config has named: read until its last word", ch.Type)
}

func channelKind(e *entry) string {
	if p := e.cfg.Channels.Private; p != nil && rawChannel(p.ID) == e.raw {
		return "private"
	}
	return "shared"
}

func (m *Machine) rotatedCount() int {
	n := 0
	for _, e := range m.ledger {
		if !e.live {
			n++
		}
	}
	return n
}

// giveUp drops a rotated channel whose last word cannot be had.
func (m *Machine) giveUp(e *entry, why string) {
	m.logf("a rotated channel given up: %s", why)
	m.ledger = slices.DeleteFunc(m.ledger, func(x *entry) bool { return x == e })
	m.conn.carried = slices.DeleteFunc(m.conn.carried, func(x *entry) bool { return x == e })
}

// lastWord notes a channel's channel_expire: a rotated channel is done; a live one carries nothing
// more, and leaves the ledger once a config without it is in use.
func (m *Machine) lastWord(e *entry) {
	e.spent = true
	if !e.live {
		m.ledger = slices.DeleteFunc(m.ledger, func(x *entry) bool { return x == e })
		m.conn.carried = slices.DeleteFunc(m.conn.carried, func(x *entry) bool { return x == e })
	}
}

// dialable reports whether the next dial subscribes e: not once it is spent, and a rotated channel
// not after an odd number of refused dials (the dial after a refusal leaves it out).
func dialable(e *entry) bool {
	return !e.spent && (e.live || e.refusals%2 == 0)
}

// sameServer reports whether channels of a and b can share one connection: the same server, wire
// format and authority. A JWT names its channels (version 5), so channels of two tokens cannot.
// This is the one place where old and new channels are kept apart.
func sameServer(a, b *protocol.Config) bool {
	ia, ib := identity(a), identity(b)
	ia.private, ia.shared, ib.private, ib.shared = "", "", "", ""
	return ia == ib
}

// plan returns what the next connection subscribes: the config whose URLs and token it uses, and
// the entries it reads. Rotated channels another connection must read (another server, or another
// token) come first, oldest first; otherwise every dialable entry the config in use can reach.
func (m *Machine) plan() (*protocol.Config, []*entry) {
	cfg := m.cfg
	for _, e := range m.ledger {
		if !e.live && dialable(e) && !sameServer(e.cfg, m.cfg) {
			cfg = e.cfg
			break
		}
	}
	var dial []*entry
	for _, e := range m.ledger {
		if dialable(e) && sameServer(e.cfg, cfg) {
			dial = append(dial, e)
		}
	}
	if cfg == m.cfg && !slices.ContainsFunc(dial, func(e *entry) bool { return e.live }) {
		// Every channel of the config in use has said its last word: dial them all the same, as a
		// connection needs a channel and the config answer naming their successors is on its way.
		for _, e := range m.ledger {
			if e.live && !slices.Contains(dial, e) {
				dial = append(dial, e)
			}
		}
	}
	return cfg, dial
}

// dialFrom is where a connection reading dial resumes: the oldest of their positions (the overlap a
// replay brings is skipped by the de-duplication window), or the resume position without entries.
func (m *Machine) dialFrom(dial []*entry) string {
	if len(dial) == 0 {
		return m.resume.MID
	}
	from := dial[0].from
	for _, e := range dial[1:] {
		from = m.earlier(from, e.from)
	}
	return from
}

// dialIDs returns the signed ids of dial in the order the push server expects them: the config's
// private channel, its shared one, then rotated channels, oldest first.
func dialIDs(cfg *protocol.Config, dial []*entry) []string {
	var ids []string
	for _, id := range cfg.ChannelIDs() {
		if slices.ContainsFunc(dial, func(e *entry) bool { return e.id == id }) {
			ids = append(ids, id)
		}
	}
	for _, e := range dial {
		if !slices.Contains(ids, e.id) {
			ids = append(ids, e.id)
		}
	}
	if len(ids) == 0 {
		return cfg.ChannelIDs() // a connection needs a channel: the config's own
	}
	return ids
}

// read moves the position of every channel the connection subscribes to mid, which it received.
func (m *Machine) read(mid string) {
	for _, e := range m.conn.carried {
		if e.from == "" || m.earlier(e.from, mid) == e.from {
			e.from = mid
		}
	}
}

// reconcile moves the connection to what the ledger asks for. A connection that subscribes everything
// the plan reads is kept (channels it reads besides are harmless); otherwise it is replaced, after
// delay, unless it carries a channel still owing its last word (keepOpen).
func (m *Machine) reconcile(delay time.Duration) {
	if m.conn.state == connNone {
		return
	}
	cfg, dial := m.plan()
	if sameServer(m.conn.cfg, cfg) && !slices.ContainsFunc(dial, func(e *entry) bool { return !slices.Contains(m.conn.carried, e) }) {
		m.armTimers()
		return
	}
	if m.conn.state == connOpen && m.keepOpen() {
		return
	}
	m.disconnect(CloseConfigReplaced, "config replaced")
	if delay <= 0 {
		m.connect()
		return
	}
	m.setStatus(StatusOffline)
	m.scheduleReconnectIn(delay)
}

// keepOpen reports whether the open connection must stay for a while: it carries a channel that has
// rotated away, or is about to (its end is near and the config in use still holds it), whose last
// word has not arrived, within that channel's bound. A server that refuses rotated ids never replays
// what such a channel still held, so closing now would lose it.
func (m *Machine) keepOpen() bool {
	soon, most := rotatedWait, time.Duration(0)
	if life := m.lifetime(); life > 0 {
		// Short-lived channels (a test portal's): the new channel must not end before it is joined.
		soon, most = min(soon, life/4), life/2
	}
	kept := false
	for _, e := range m.conn.carried {
		if e.spent || !e.hold.IsZero() && !m.now.Before(e.hold) {
			continue
		}
		if e.hold.IsZero() {
			switch {
			case !e.live:
				e.hold = m.now.Add(rotatedWait)
			case m.endsBefore(e, m.now.Add(soon)):
				wait := rotatedWait
				if m.pending(tRenew) {
					wait += m.timers.at[tRenew].Sub(m.now)
				}
				if most > 0 {
					wait = min(wait, most)
				}
				e.hold = m.now.Add(wait)
			default:
				continue
			}
		}
		kept = true
	}
	if kept {
		m.armTimers()
		m.logf("keeping the connection for the last word of a channel it carries")
	}
	return kept
}

// endsBefore reports whether e's channel in the config in use ends, in server time, before t.
func (m *Machine) endsBefore(e *entry, t time.Time) bool {
	for _, ch := range []*protocol.Channel{m.cfg.Channels.Private, m.cfg.Channels.Shared} {
		if ch != nil && rawChannel(ch.ID) == e.raw && !ch.End.IsZero() {
			return ch.End.Add(m.cfg.TimeShift).Before(t)
		}
	}
	return false
}

// armTimers sets the hold timer to the earliest hold of a carried channel, and the retire timer to
// the earliest time a carried rotated channel runs out of time.
func (m *Machine) armTimers() {
	m.clear(tHold)
	m.clear(tRetire)
	for _, e := range m.conn.carried {
		if e.spent {
			continue
		}
		if !e.hold.IsZero() && e.hold.After(m.now) && (!m.pending(tHold) || e.hold.Before(m.timers.at[tHold])) {
			m.timers.at[tHold] = e.hold
		}
		if !e.live && !e.until.IsZero() && (!m.pending(tRetire) || e.until.Before(m.timers.at[tRetire])) {
			m.timers.at[tRetire] = e.until
		}
	}
}

// retireExpired gives up the carried rotated channels whose time ran out without their last word.
func (m *Machine) retireExpired() {
	for _, e := range slices.Clone(m.conn.carried) {
		if !e.live && !e.spent && !e.until.IsZero() && !m.now.Before(e.until) {
			m.giveUp(e, "no last word in time")
		}
	}
	m.reconcile(0)
}

// openedCarrying runs when a connection opens. Its rotated channels resume spending their time. A
// rotated channel the dial left out after one refused dial is tried once more now that the server is
// up (the refusal may have been the server being down), by replacing this connection; it reports
// whether it did.
func (m *Machine) openedCarrying() bool {
	for _, e := range m.conn.carried {
		if !e.live && !e.spent {
			e.until = m.now.Add(e.budget)
		}
	}
	for _, e := range m.ledger {
		if !e.live && e.refusals == 1 && !slices.Contains(m.conn.carried, e) {
			e.refusals++
			m.logf("the server is up: reading a rotated channel it refused once more")
			m.disconnect(CloseConfigReplaced, "rotated channel first")
			m.connect()
			return true
		}
	}
	m.reconcile(0)
	return m.conn.state != connOpen
}

// leaveCarried ends what the current connection's channels were doing with it: a rotated one keeps
// the time it has left for the next connection that reads it.
func (m *Machine) leaveCarried() {
	for _, e := range m.conn.carried {
		if !e.until.IsZero() {
			e.budget = max(0, e.until.Sub(m.now))
		}
		e.until, e.hold = time.Time{}, time.Time{}
	}
	m.conn.carried = nil
	m.clear(tHold)
	m.clear(tRetire)
}

// closedCarrying runs when a connection ends: its rotated channels count the open or the refusal, and
// are given up when the server refused them by code (4010), or too often. It reports whether a dial
// that carried rotated channels was refused, for the caller to dial at once without them (a 4010
// that then comes again is about the config's own channels, and reloads the config).
func (m *Machine) closedCarrying(wasOpen, short bool, code int) bool {
	refused := false
	for _, e := range slices.Clone(m.conn.carried) {
		if e.live || e.spent {
			continue
		}
		switch {
		case code == CloseWrongChannel:
			m.giveUp(e, "the server refused its id")
			refused = true
		case !wasOpen || short:
			e.refusals++
			refused = true
			if e.refusals >= maxRotatedRefusals {
				m.giveUp(e, "dials with it keep failing")
			}
		default:
			e.opens++
			if e.opens >= maxRotatedOpens {
				m.giveUp(e, "its connections keep ending")
			}
		}
	}
	m.leaveCarried()
	return refused
}

// liveSpent reports whether a channel of the config in use has said its last word: the answer naming
// its successor is better waited for than a connection that reads nothing there.
func (m *Machine) liveSpent() bool {
	return slices.ContainsFunc(m.ledger, func(e *entry) bool { return e.live && e.spent })
}

// positionBefore returns the older of mid and a position from which a replay brings every message
// published from channelStartMargin before start on (mid when start is zero or nothing is
// remembered).
func (m *Machine) positionBefore(start time.Time, mid string) string {
	if start.IsZero() {
		return mid
	}
	t := float64(start.Add(-channelStartMargin).UnixMilli()) / 1000
	if id, ok := m.dedup.before(t); ok {
		return m.earlier(mid, id)
	}
	return mid
}

// channelStartMargin is how long before a channel's start its first messages may have been given
// ids: the portal publishes from several processes, and the start it reports is cut to the second.
const channelStartMargin = time.Second

// earlier returns the older of two positions. Push server ids compare as numbers; opaque ids
// (JSON-RPC) by the order they arrived in, when both are still remembered. Otherwise a is kept.
func (m *Machine) earlier(a, b string) string {
	if isPushServerID(a) && isPushServerID(b) {
		if b < a {
			return b
		}
		return a
	}
	na, okA := m.dedup.arrival(a)
	nb, okB := m.dedup.arrival(b)
	if okA && okB && nb < na {
		return b
	}
	return a
}

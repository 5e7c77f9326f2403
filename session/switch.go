package session

import (
	"slices"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Moving to rotated channels without losing messages.
//
// A new connection replays, from the resume position, only the channels it subscribes. When the
// portal rotates a channel, what was sent to the old one and not yet received is reachable only by a
// connection that subscribes the old id. Two mechanisms keep it:
//
//   - drain: a live connection is kept, after a config with other channels arrived, until each rotated
//     channel's channel_expire (the portal's last message there) has arrived, or switchDrainTimeout;
//     likewise after a channel_expire replaced one channel in place while the other is about to
//     rotate too (deferSwitch), so that one connection joins both successors;
//   - catch-up: when the rotation happened while no connection was open (a restart or a drop spanning
//     it), or a drain was cut short by a close, the client first connects once more with the old
//     config, from where the reload began, drains that connection the same way, then connects with
//     the new config from the same position (the overlap is skipped by the de-duplication window).
//     Push server 2.0 checks only the signature of a channel id, so a rotated id still connects; a
//     server that refuses it costs one failed dial, after which the new config is dialled at once.

// switchDrainTimeout bounds how long a live connection is kept, after a config with other channels
// arrived, waiting for the channel_expire of each channel rotated away.
const switchDrainTimeout = 2 * time.Second

// catchUpDrainTimeout bounds a catch-up connection. A push server replays what it stored as soon as
// the connection is subscribed, so the rotated channel's last word comes at once or not at all (it
// may have left the server's store): the wait is short, because the new channels wait behind it.
const catchUpDrainTimeout = time.Second

// maxCatchUpOpens bounds the catch-up connections for one set of rotated channels that opened and
// were lost before the rotated channels' last word. A catch-up dial that does not open is not
// counted: it alternates with a dial of the new config, and the first of them to open ends the
// retries (a catch-up drains, a new connection gives the old channels up), so while the server is
// down the catch-up is tried again with every reconnect.
const maxCatchUpOpens = 3

// maxOwed bounds the configs waiting for a catch-up (rotations while a switch is under way).
const maxOwed = 4

// owedChannels are rotated channels the client left before their channel_expire arrived.
type owedChannels struct {
	cfg   *protocol.Config // the config that held them: its URLs and signed ids
	ids   map[string]bool  // the rotated ids still to drain
	mid   string           // where the catch-up, and the connection after it, resume from
	opens int              // catch-up connections opened so far
	skip  bool             // the last catch-up was refused: the next dial uses the new config
	// unheard: the last catch-up did not open, or ended at once, without a close code that refuses
	// the ids (the server may have been down, or the network dropped it); retried: the
	// catch-up was dialled once more after a connection with the new config opened.
	unheard, retried bool
}

// rotated returns the ids of old's channels that cfg no longer holds and whose channel_expire has
// not been seen.
func (m *Machine) rotated(old, cfg *protocol.Config) map[string]bool {
	ids := outside(channelIDSet(old), cfg)
	for id := range ids {
		if m.expiredSeen[rawChannel(id)] {
			delete(ids, id)
		}
	}
	return ids
}

// owe queues rotated channels of cfg to catch up on, oldest first, before the next connection with
// the current config.
func (m *Machine) owe(cfg *protocol.Config, ids map[string]bool, mid string) {
	m.oweAt(len(m.owed), cfg, ids, mid)
}

// oweAt queues rotated channels of cfg at position i of the queue (0 ≤ i ≤ len(m.owed)).
func (m *Machine) oweAt(i int, cfg *protocol.Config, ids map[string]bool, mid string) {
	if cfg == nil || len(ids) == 0 || cfg.Wire() != m.cfg.Wire() || len(m.owed) >= maxOwed {
		return
	}
	for _, o := range m.owed {
		if o.cfg == cfg {
			return
		}
	}
	m.owed = slices.Insert(m.owed, i, &owedChannels{cfg: cfg, ids: ids, mid: mid})
	m.logf("%d rotated channel(s) left before their last message: to catch up on from mid %s", len(ids), mid)
}

// oweSkipped queues a catch-up of the channel that a drained channel's channel_expire names as its
// successor when no config in use holds it: the portal rotated that successor again before the
// config answer the client is switching to, so what was sent to it is reachable only through its
// own id. The successor comes after the channels being drained and before any config queued since,
// so its catch-up runs next. It starts before the channel's start (positionBefore).
func (m *Machine) oweSkipped(e protocol.ChannelExpire) {
	if m.drainFrom == nil || m.drainFrom.JWT != "" {
		return
	}
	ch, ok := e.Replacement(m.drainFrom.Channels)
	if !ok || m.expiredSeen[rawChannel(ch.ID)] {
		return
	}
	for _, c := range append([]*protocol.Config{m.cfg}, m.owedConfigs()...) {
		for id := range channelIDSet(c) {
			if rawChannel(id) == rawChannel(ch.ID) {
				return
			}
		}
	}
	cfg := *m.drainFrom
	if ch.Type == "private" {
		cfg.Channels.Private = ch
	} else {
		cfg.Channels.Shared = ch
	}
	at := 0
	if m.catchingUp && len(m.owed) > 0 {
		at = 1 // after the catch-up under way
	}
	m.logf("channel_expire names a %s channel the new config has already passed", ch.Type)
	m.oweAt(at, &cfg, map[string]bool{ch.ID: true}, m.positionBefore(ch.Start, m.drainMID))
}

// leftAt is the position from which old's channels may hold messages this client has not received:
// how far the last connection with old got (its dial position when nothing arrived), or, when old
// was never dialled, from: where the resume position stood when old was applied.
func (m *Machine) leftAt(old *protocol.Config, from string) string {
	if m.connCfg == old && old != nil {
		return m.connMID
	}
	return from
}

// earlier returns the older of two resume positions: replaying more is safe, the overlap being
// skipped by the de-duplication window. Push server ids compare as numbers; opaque ids (JSON-RPC) by
// the order they arrived in, when both are still remembered. Otherwise a is kept.
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

// channelStartMargin is how long before a channel's start its first messages may have been given
// ids: the portal publishes from several processes, and the start it reports is cut to the second.
const channelStartMargin = time.Second

// setCfgFrom records, as cfg replaces old (nil for the first config), where cfg's channels may hold
// messages this client has not received: the resume position, first moved back to before any channel
// cfg holds that old did not. Ids are global across channels: while the client was subscribed
// elsewhere (catching up on an older config, or waiting for the answer that named the channel), the
// other channels' messages moved the position past messages already sent to the new one. The server
// times of the messages received tell which position came before the channel's start.
func (m *Machine) setCfgFrom(old, cfg *protocol.Config) {
	m.resume.MID = m.positionBefore(newChannelsStart(old, cfg), m.resume.MID)
	m.cfgFrom = m.resume.MID
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

// newChannelsStart returns the earliest start of cfg's channels that old did not hold; zero when
// there is none, or old is nil.
func newChannelsStart(old, cfg *protocol.Config) time.Time {
	var start time.Time
	if old == nil {
		return start
	}
	have := channelIDSet(old)
	for _, ch := range []*protocol.Channel{cfg.Channels.Private, cfg.Channels.Shared} {
		if ch != nil && ch.ID != "" && !have[ch.ID] && !ch.Start.IsZero() && (start.IsZero() || ch.Start.Before(start)) {
			start = ch.Start
		}
	}
	return start
}

// sawLastWord notes that channel_expire of id (a signed id) arrived: the channel will carry nothing
// more, and the connection that brought the notice replayed it, in id order, from its dial position.
// A catch-up owed from that position or later no longer waits for the channel: an owed config whose
// rotated channels have all said their last word is dropped. The notice comes only once: a replay
// bringing it again is skipped by the de-duplication window, so a catch-up waiting for it would
// wait in vain. (Consecutive configs share a channel, so one catch-up often brings the last word of
// a channel the next one owes.)
func (m *Machine) sawLastWord(id string) {
	if id == "" {
		return
	}
	raw := rawChannel(id)
	if m.expiredSeen == nil {
		m.expiredSeen = map[string]bool{}
	}
	m.expiredSeen[raw] = true
	kept := m.owed[:0]
	for i, o := range m.owed {
		if o.mid != "" && (m.connFrom == "" || m.earlier(m.connFrom, o.mid) != m.connFrom) {
			kept = append(kept, o)
			continue
		}
		for owedID := range o.ids {
			if rawChannel(owedID) == raw {
				delete(o.ids, owedID)
			}
		}
		// The catch-up under way keeps its entry: the connection it dialled settles it.
		if len(o.ids) == 0 && (i > 0 || !m.catchingUp) {
			m.logf("a rotated channel's last message arrived: its catch-up is no longer needed")
			continue
		}
		kept = append(kept, o)
	}
	clear(m.owed[len(kept):])
	m.owed = kept
}

// forgetLastWords keeps, of the channels whose channel_expire arrived, only those a config still in
// use names: the current one, the one being drained and those owed a catch-up.
func (m *Machine) forgetLastWords() {
	if len(m.expiredSeen) == 0 {
		return
	}
	inUse := map[string]bool{}
	for _, c := range append([]*protocol.Config{m.cfg, m.drainFrom, m.connCfg}, m.owedConfigs()...) {
		if c == nil {
			continue
		}
		for id := range channelIDSet(c) {
			inUse[rawChannel(id)] = true
		}
	}
	for raw := range m.expiredSeen {
		if !inUse[raw] {
			delete(m.expiredSeen, raw)
		}
	}
}

// owedConfigs returns the configs owed a catch-up.
func (m *Machine) owedConfigs() []*protocol.Config {
	out := make([]*protocol.Config, len(m.owed))
	for i, o := range m.owed {
		out[i] = o.cfg
	}
	return out
}

// owedIDs counts the rotated channels waiting for a catch-up.
func (m *Machine) owedIDs() int {
	n := 0
	for _, o := range m.owed {
		n += len(o.ids)
	}
	return n
}

// dialConfig picks the config the next connection uses: the owed one for a catch-up, else the
// current one. It sets catchingUp and, for a catch-up, moves the resume position back to where the
// rotated channels were left.
func (m *Machine) dialConfig() *protocol.Config {
	m.catchingUp = false
	if len(m.owed) == 0 {
		return m.cfg
	}
	o := m.owed[0]
	switch {
	case o.skip:
		o.skip = false
		return m.cfg
	case o.opens >= maxCatchUpOpens:
		m.logf("catch-up of %d rotated channel(s) given up after %d connections", m.owedIDs(), o.opens)
		m.owed = nil
		return m.cfg
	}
	m.catchingUp = true
	m.resume.MID = o.mid
	m.logf("catching up on %d rotated channel(s) before connecting with the new config", len(o.ids))
	return o.cfg
}

// openedForSwitch runs when a connection opens: a catch-up starts draining; any other connection
// with the new config makes owed channels unreachable in order, so they are given up. Except once:
// when the catch-up's last dial did not open, or its connection ended at once without a close code,
// the server may have been down then, or the network dropped it, and be up now (a browser cannot
// tell a refused handshake from a server that is down), so the new connection is closed before
// anything is delivered on it and the catch-up dialled again. It reports whether it replaced the
// connection.
func (m *Machine) openedForSwitch() bool {
	switch {
	case len(m.owed) == 0:
	case !m.catchingUp && m.owed[0].unheard && !m.owed[0].retried:
		o := m.owed[0]
		o.retried, o.unheard = true, false
		m.logf("the server is up: trying the catch-up once more before the new config")
		m.disconnect(CloseConfigReplaced, "catch-up first")
		m.connect()
		return true
	case m.catchingUp:
		o := m.owed[0]
		o.opens++
		m.draining = make(map[string]bool, len(o.ids))
		for id := range o.ids {
			m.draining[id] = true
		}
		m.drainFrom, m.drainMID = o.cfg, o.mid
		if len(m.draining) == 0 {
			// Every rotated channel said its last word while this connection was being dialled.
			m.set(tSwitch, 0)
			return false
		}
		m.set(tSwitch, catchUpDrainTimeout)
	default:
		m.logf("connected with the new config: %d rotated channel(s) left without a catch-up", m.owedIDs())
		m.owed = nil
	}
	return false
}

// switchConnection moves a connection to the channels of cfg. An open connection is drained first
// (see above); one that is not open yet is replaced at once, owing its rotated channels. A rotation
// during a switch already under way owes the channels of the config it replaces, which no connection
// has subscribed yet: they are caught up on after the switch, before the newest config. oldFrom is
// where the resume position stood when old was applied.
func (m *Machine) switchConnection(old, cfg *protocol.Config, oldFrom string) {
	if m.draining != nil || (m.catchingUp && m.conn == connConnecting) {
		mid := m.drainMID
		if m.draining == nil {
			mid = m.resume.MID
		}
		m.owe(old, m.rotated(old, cfg), m.earlier(mid, oldFrom))
		return
	}
	wait := m.rotated(old, cfg)
	if m.conn == connOpen && m.connCfg != old {
		// The live connection was dialled with an older config (deferSwitch kept it): rotated channels
		// of old that it does not subscribe were never joined, and are caught up on.
		away := outside(wait, m.connCfg)
		for id := range away {
			delete(wait, id)
		}
		m.owe(old, away, m.leftAt(old, oldFrom))
	}
	if m.conn != connOpen || len(wait) == 0 {
		m.owe(old, wait, m.leftAt(old, oldFrom))
		m.disconnect(CloseConfigReplaced, "config replaced")
		m.connect()
		return
	}
	m.draining, m.drainFrom, m.drainMID = wait, old, m.resume.MID
	m.set(tSwitch, switchDrainTimeout)
	m.logf("waiting for channel_expire of %d rotated channel(s) before switching", len(wait))
}

// deferSwitch keeps the live connection, after a channel_expire replaced one of its channels in
// place, while another channel it holds, which the config in use still holds, ends within
// switchDrainTimeout: that channel is about to rotate too, and a connection closed now would miss its
// last messages and its channel_expire, which a server that refuses rotated ids never replays. The
// connection is drained until that channel's channel_expire arrives (its successor is then taken in
// place, and one connection joins both new channels, or, when none is named, the config answer
// does), or until switchDrainTimeout after the renewal due for it. With channels that live only
// seconds, both bounds shrink to a fraction of the lifetime. old is the config the channel_expire
// replaced. It reports whether it deferred.
func (m *Machine) deferSwitch(old *protocol.Config) bool {
	soon, most := switchDrainTimeout, time.Duration(0)
	if life := m.lifetime(); life > 0 {
		// Short-lived channels (a test portal's): the new channel must not end before it is joined.
		soon, most = min(soon, life/4), life/2
	}
	ending := map[string]bool{}
	held := channelIDSet(m.cfg)
	shift := m.cfg.TimeShift
	for _, ch := range []*protocol.Channel{m.connCfg.Channels.Private, m.connCfg.Channels.Shared} {
		if ch == nil || ch.ID == "" || !held[ch.ID] || ch.End.IsZero() || m.expiredSeen[rawChannel(ch.ID)] {
			continue
		}
		if ch.End.Add(shift).Before(m.now.Add(soon)) {
			ending[ch.ID] = true
		}
	}
	if len(ending) == 0 {
		return false
	}
	wait := switchDrainTimeout
	if m.pending(tRenew) {
		wait += m.deadlines[tRenew].Sub(m.now)
	}
	if most > 0 {
		wait = min(wait, most)
	}
	m.draining, m.drainFrom, m.drainMID = ending, old, m.resume.MID
	m.set(tSwitch, wait)
	m.logf("keeping the connection until %d channel(s) it holds, ending too, have rotated", len(ending))
	return true
}

// spentChannel reports whether the config in use holds a channel whose channel_expire has arrived:
// a connection with it would subscribe a channel that carries nothing more.
func (m *Machine) spentChannel() bool {
	for id := range channelIDSet(m.cfg) {
		if m.expiredSeen[rawChannel(id)] {
			return true
		}
	}
	return false
}

// drained notes that channel_expire of id arrived on the connection being drained, and switches once
// every rotated channel has said its last word.
func (m *Machine) drained(id string) {
	for d := range m.draining {
		if rawChannel(d) == rawChannel(id) {
			delete(m.draining, d)
		}
	}
	if len(m.draining) == 0 {
		if m.catchingUp && len(m.owed) > 0 {
			m.owed = m.owed[1:]
		}
		m.disconnect(CloseConfigReplaced, "config replaced")
		m.connect()
	}
}

// endDrain stops draining (the connection is closing) and restores the resume position of the
// switch. Rotated channels still waited for are owed to a catch-up.
func (m *Machine) endDrain() {
	if m.draining == nil {
		return
	}
	if len(m.draining) > 0 {
		if m.catchingUp && len(m.owed) > 0 {
			m.owed[0].ids = m.draining
		} else {
			// A channel the config in use still holds is subscribed by the next connection anyway.
			m.owe(m.drainFrom, outside(m.draining, m.cfg), m.drainMID)
		}
	}
	m.draining, m.drainFrom = nil, nil
	m.resume.MID = m.drainMID
	m.clear(tSwitch)
}

// outside returns the ids of the set that c does not hold.
func outside(ids map[string]bool, c *protocol.Config) map[string]bool {
	held := channelIDSet(c)
	out := map[string]bool{}
	for id := range ids {
		if !held[id] {
			out[id] = true
		}
	}
	return out
}

// channelIDSet returns the signed ids of the config's channels.
func channelIDSet(c *protocol.Config) map[string]bool {
	ids := map[string]bool{}
	for _, ch := range []*protocol.Channel{c.Channels.Private, c.Channels.Shared} {
		if ch != nil && ch.ID != "" {
			ids[ch.ID] = true
		}
	}
	return ids
}

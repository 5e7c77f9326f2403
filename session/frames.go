package session

import (
	"fmt"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Frame feeds one websocket frame of connection gen.
func (m *Machine) Frame(gen int, data []byte, binary bool, now time.Time) []Action {
	m.begin(now)
	if gen != m.conn.gen || m.conn.state == connNone {
		return m.finish()
	}
	if m.conn.state == connConnecting {
		m.markOpen()
		if gen != m.conn.gen {
			return m.finish() // replaced on opening (openedForSwitch): nothing of it is delivered
		}
	}
	m.frame(data, binary)
	return m.finish()
}

// frame decodes one frame by the config's wire format and handles what it carries. A text frame in
// protobuf mode is still legacy text, as a version 4 server may send either (docs/protocol.md §6.1).
func (m *Machine) frame(data []byte, binary bool) {
	m.stats.Frames++
	m.conn.frames++
	m.conn.refused = 0
	if m.cfg.Wire() != protocol.WireJSONRPC {
		var b protocol.Batch
		if binary {
			b = protocol.DecodeProtobuf(data)
		} else {
			b = protocol.DecodeText(data)
		}
		gen := m.conn.gen
		m.stats.Garbage += int64(b.Garbage)
		m.messages(b.Messages, false)
		if len(b.StatsAnswers) > 0 {
			m.emit(Answers{Gen: gen, Stats: b.StatsAnswers})
		}
		return
	}
	if !binary && string(data) == protocol.PingFrame {
		m.send([]byte(protocol.PongFrame), false)
		m.set(tWatchdog, m.t.PingTimeout)
		return
	}
	gen := m.conn.gen
	f := protocol.DecodeJSONRPC(data)
	m.stats.Garbage += int64(f.Garbage)
	m.messages(f.Messages, true)
	if len(f.Responses) > 0 {
		m.emit(Answers{Gen: gen, Responses: f.Responses})
	}
	for _, req := range f.Requests {
		if req.HasID {
			m.send(protocol.EncodeRPCErrorResponse(req.ID, protocol.RPCMethodNotFound, "method not found"), false)
		}
	}
}

func (m *Machine) send(data []byte, binary bool) {
	m.emit(Send{Gen: m.conn.gen, Data: data, Binary: binary})
}

// messages moves the resume position, acknowledges (JSON-RPC), skips duplicates and dispatches.
//
// A system command in the middle of a frame may replace the connection. The messages after it are
// still dispatched, but no longer move the resume position: ids are global across channels, so they
// may be newer than messages already sent to a channel the next connection joins, which it must
// replay (the overlap is skipped by the de-duplication window).
func (m *Machine) messages(msgs []protocol.Message, ack bool) {
	gen := m.conn.gen
	for i := range msgs {
		msg := &msgs[i]
		if msg.MID != "" && m.conn.gen == gen {
			m.advanceMID(msg.MID)
		}
		if msg.MID == "" && msg.Tag != "" {
			// nginx (versions 1–2) resumes by tag and time; servers with mids do not need them.
			m.resume.Tag, m.resume.Time = msg.Tag, msg.Time
		}
		if ack && msg.MID != "" && m.conn.gen == gen {
			m.send(protocol.Mack(msg.MID), false)
		}
		if m.dedup.has(msg.MID) {
			m.stats.DuplicatesSkipped++
			continue
		}
		// Read once, for the window, server_time_ago and the revision; a duplicate never needs it.
		extra := protocol.ParseExtra(msg.Extra)
		m.dedup.add(msg.MID, extra.ServerTimeUnix)
		// A system command in the middle of a frame may replace the connection; the messages after
		// it were still sent to this client and are dispatched.
		m.dispatch(msg, extra)
	}
}

// advanceMID moves the resume position and the position of every channel the connection reads. Push
// server ids (26 decimal digits) only move forward, so a late duplicate cannot make the next connection
// replay more than needed; opaque ids (JSON-RPC) follow arrival order.
func (m *Machine) advanceMID(mid string) {
	if m.resume.MID == "" && mid != "" {
		// A position taken before anything had arrived stood before every message: a replay from the
		// first one received brings everything after it, where an empty one would bring nothing.
		for _, e := range m.ledger {
			if e.from == "" {
				e.from = mid
			}
		}
	}
	m.read(mid)
	if !isPushServerID(mid) || mid > m.resume.MID || !isPushServerID(m.resume.MID) {
		m.resume.MID = mid
	}
}

func isPushServerID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// dispatch hands a new message to its subscribers, or handles it when it is a system command. extra
// holds the fields of its extra the machine reads.
func (m *Machine) dispatch(msg *protocol.Message, extra protocol.Extra) {
	module := lowerASCII(msg.ModuleID)
	typ := route(module, msg.Sender)
	if typ == "system" {
		m.system(msg)
		return
	}
	ago, hasAgo := serverTimeAgo(extra.ServerTimeUnix, m.now, m.cfg.TimeShift)
	if typ == TypeOnline && hasAgo && ago >= onlineMaxAge {
		m.stats.StaleOnline++
		return
	}
	m.ev.message(typ, module, msg.Command, msg.Params, augmentExtra(msg.Extra, msg.Sender, ago, hasAgo))
	m.stats.Messages++
	if r := extra.RevisionWeb; r > 0 && r != protocol.Revision && r != m.revisionSeen {
		// Apps never disconnect on a revision change (docs/protocol.md §16); they are told once.
		m.revisionSeen = r
		m.ev.revision(r)
	}
}

// system handles a message of module "pull" (docs/protocol.md §11). A command whose params cannot be
// read is counted and still handled with what could be read: a channel_expire still says that a
// channel has expired.
func (m *Machine) system(msg *protocol.Message) {
	sys, err := protocol.ParseSystem(msg.Command, msg.Params)
	if err != nil {
		m.stats.BadSystem++
		m.logf("%v", err)
	}
	switch s := sys.(type) {
	case protocol.ChannelExpire:
		m.channelExpire(s)
	case protocol.ConfigExpire:
		d := between(m.t.RestartDelay, m.rand())
		m.logf("config_expire: reloading the config in %s", d.Round(time.Millisecond))
		m.delayedReload(d, false)
	case protocol.ServerRestart:
		d := between(m.t.RestartDelay, m.rand())
		m.logf("server_restart: reconnecting in %s", d.Round(time.Millisecond))
		m.disconnect(CloseServerRestarted, "server was restarted")
		m.setStatus(StatusOffline)
		m.delayedReload(d, true)
	default:
		m.logf("ignoring system command %q", msg.Command)
	}
}

// channelExpire handles a channel's last word. A rotated channel is done with. For a channel of the
// config in use, a new_channel that can be trusted is taken at once, including an app's shared channel
// typed by the app's client id (which the reference clients ignore, reconnecting with the stale
// config): the client is then on the new channel before the portal can rotate it again, which a
// config round trip would not ensure for a channel that lives less than one. Otherwise (no
// new_channel, or one that cannot be trusted) the config is reloaded. With a JWT (version 5) the
// token's chan claim names the channels, so only a reload, which signs a new token, can move to a
// new one.
func (m *Machine) channelExpire(e protocol.ChannelExpire) {
	id := e.Channel.ID
	en := m.entryFor(id)
	if en == nil {
		if id != "" && !m.holdsChannel(id) {
			// A notice for a channel this client already left (a replay can bring it back).
			m.logf("channel_expire: for a channel no longer in use, ignored")
			return
		}
		m.logf("channel_expire: reloading the config")
		m.reload(false)
		return
	}
	m.lastWord(en)
	if !en.live {
		m.logf("channel_expire: a rotated channel's last word arrived")
		if ch, ok := e.Successor(en.cfg); ok && m.entryFor(ch.ID) == nil {
			// The portal rotated that channel's successor again before any config answer named it:
			// what was sent to it is reachable only through its own id.
			m.enterRotated(ch, en.cfg)
		}
		m.reconcile(0)
		return
	}
	if ch, ok := e.Successor(m.cfg); ok {
		m.takeChannel(ch)
		m.logf("channel_expire: switching to the new %s channel", ch.Type)
		m.reconcile(m.t.ChannelExpireReconnect)
		return
	}
	m.logf("channel_expire: reloading the config")
	m.reload(false)
}

// takeChannel replaces, in the config in use, the channel that ch succeeds.
func (m *Machine) takeChannel(ch *protocol.Channel) {
	m.cfg = withChannel(m.cfg, ch)
	m.take(m.cfg)
	if m.load.loading {
		m.load.again = true // the answer on its way holds the channel just replaced
	}
	m.stats.Renewals++
	m.scheduleRenewal()
}

// cfgHolds reports whether id (signed or raw) names one of the config's channels.
func (m *Machine) cfgHolds(id string) bool {
	if id == "" {
		return false
	}
	for _, ch := range []*protocol.Channel{m.cfg.Channels.Private, m.cfg.Channels.Shared} {
		if ch != nil && rawChannel(ch.ID) == rawChannel(id) {
			return true
		}
	}
	return false
}

// holdsChannel reports whether id names one of the config's channels. Version 5 configs carry no
// private channel (the token names the user), so a notice about one cannot be matched: it is taken as
// concerning this client.
func (m *Machine) holdsChannel(id string) bool {
	if m.cfg.Channels.Private == nil && m.cfg.JWT != "" {
		if m.cfg.Channels.Shared == nil || rawChannel(id) != rawChannel(m.cfg.Channels.Shared.ID) {
			return true
		}
	}
	return m.cfgHolds(id)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

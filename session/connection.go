package session

import (
	"strconv"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// LongPollIdleExpires is the Expires header of a long-polling 304 that carries Last-Message-Id.
const LongPollIdleExpires = "Thu, 01 Jan 1973 11:11:01 GMT"

// wsFailuresBeforeLongPolling is how many websocket attempts in a row must fail to open before the
// client falls back to long polling (docs/protocol.md §14.2: "more than 3").
const wsFailuresBeforeLongPolling = 4

// longPollFallbackDelay is the fixed delay after switching transports (docs/protocol.md §14.1).
const longPollFallbackDelay = time.Second

// lpFailuresBeforeWebSocket is how many long-polling attempts in a row must fail to open, right after
// a fallback, before websocket is tried again: the fallback is for when long polling works
// (docs/protocol.md §14.2), not for an outage of the whole push server.
const lpFailuresBeforeWebSocket = 2

func (m *Machine) transportUsable(t protocol.Transport) bool {
	if m.cfg == nil {
		return false
	}
	base := m.baseURL(t)
	if base == "" {
		return false
	}
	if t == protocol.TransportWebSocket {
		return !m.opts.DisableWebSocket && m.cfg.WebSocketEnabled()
	}
	return m.cfg.LongPollingAllowed()
}

func (m *Machine) baseURL(t protocol.Transport) string {
	s := &m.cfg.Server
	switch {
	case t == protocol.TransportWebSocket && m.opts.Secure:
		return s.WebSocketSecure
	case t == protocol.TransportWebSocket:
		return s.WebSocket
	case m.opts.Secure:
		return s.LongPollingSecure
	default:
		return s.LongPolling
	}
}

func (m *Machine) pickTransport() (protocol.Transport, bool) {
	for _, t := range []protocol.Transport{protocol.TransportWebSocket, protocol.TransportLongPolling} {
		if m.transportUsable(t) {
			return t, true
		}
	}
	return 0, false
}

// connect opens a new connection reading what the ledger plans, from the oldest position among them.
// While a channel of the config in use has said its last word and the answer naming its successor is
// on its way, the connection waits for that answer.
func (m *Machine) connect() {
	m.clear(tReconnect)
	if m.cfg == nil {
		m.reload(true)
		return
	}
	if m.conn.state != connNone {
		m.disconnect(CloseConfigReplaced, "reconnect")
	}
	if m.load.loading && m.liveSpent() {
		m.load.connect = true
		m.logf("connecting once the config answer on its way arrives")
		return
	}
	cfg, dial := m.plan()
	resume := m.resume
	resume.MID = m.dialFrom(dial)
	url, err := cfg.ConnectionURLFor(m.transport.current, m.opts.Secure, resume, dialIDs(cfg, dial))
	if err != nil {
		m.fail(err)
		return
	}
	m.conn.cfg, m.conn.carried = cfg, dial
	m.conn.gen++
	m.conn.state = connConnecting
	m.conn.attemptAtOpen = m.conn.attempt
	m.conn.attempt++
	m.stats.Connects++
	if m.online {
		m.stats.Reconnects++
	}
	m.setStatus(StatusConnect)
	m.logf("connecting by %s (%s), attempt %d, %d channel(s): %s", m.transport.current, cfg.Wire(), m.conn.attempt, len(dial), protocol.RedactURL(url))
	m.emit(Connect{Gen: m.conn.gen, Transport: m.transport.current, Wire: cfg.Wire(), URL: url})
	if m.transport.current == protocol.TransportLongPolling {
		m.set(tLongPollOpen, m.t.LongPollOpen)
	}
}

// disconnect closes the current connection, if any; its later events are ignored.
func (m *Machine) disconnect(code int, reason string) {
	if m.conn.state == connNone {
		return
	}
	m.emit(Disconnect{Gen: m.conn.gen, Code: code, Reason: reason})
	m.conn.state = connNone
	m.leaveCarried()
	m.conn.gen++
	m.clear(tWatchdog)
	m.clear(tLongPollOpen)
}

func (m *Machine) scheduleReconnect() {
	base := m.t.backoffBase(m.conn.attempt)
	d := base + time.Duration(m.rand()*m.t.BackoffJitter*float64(base))
	m.scheduleReconnectIn(d)
}

func (m *Machine) scheduleReconnectIn(d time.Duration) {
	m.set(tReconnect, d)
	m.logf("reconnecting in %s", d.Round(time.Millisecond))
}

// Opened feeds a successful open of connection gen.
func (m *Machine) Opened(gen int, now time.Time) []Action {
	m.begin(now)
	if gen == m.conn.gen && m.conn.state == connConnecting {
		m.markOpen()
	}
	return m.finish()
}

func (m *Machine) markOpen() {
	m.conn.state = connOpen
	m.conn.openedAt = m.now
	m.conn.frames = 0
	m.conn.attempt = 0
	m.clear(tLongPollOpen)
	if m.transport.current == protocol.TransportWebSocket {
		m.transport.wsFailures = 0
		m.clear(tRestoreWS)
	} else {
		m.transport.lpFailures, m.transport.fellBack = 0, false
	}
	if m.transport.current == protocol.TransportLongPolling && !m.pending(tRestoreWS) && !m.opts.DisableWebSocket && m.transportUsable(protocol.TransportWebSocket) {
		m.set(tRestoreWS, m.t.RestoreWebSocket)
	}
	if m.cfg.Wire() == protocol.WireJSONRPC {
		m.set(tWatchdog, m.t.FirstPingTimeout)
	}
	if m.openedCarrying() {
		return
	}
	m.setStatus(StatusOnline)
	m.logf("online by %s", m.transport.current)
	m.online = true
	if m.starting {
		m.starting = false
		m.clear(tStartTimeout)
		m.startDone = &StartDone{}
	}
}

// Closed feeds the end of connection gen with the close code the driver saw (0 or 1006 when it saw
// none, as a browser does for a refused handshake).
func (m *Machine) Closed(gen int, code int, now time.Time) []Action {
	m.begin(now)
	if gen != m.conn.gen || m.conn.state == connNone {
		return m.finish()
	}
	m.closed(code)
	return m.finish()
}

func (m *Machine) closed(code int) {
	wasOpen := m.conn.state == connOpen
	short := wasOpen && m.conn.frames == 0 && m.now.Sub(m.conn.openedAt) < m.t.ShortLived
	refusedRotated := m.closedCarrying(wasOpen, short, code)
	m.conn.state = connNone
	m.conn.gen++
	m.clear(tWatchdog)
	m.clear(tLongPollOpen)
	m.stats.LastCloseCode = code
	m.logf("connection closed (code %d, was open: %t)", code, wasOpen)
	if !m.running {
		return
	}
	m.setStatus(StatusOffline)
	if short {
		// A close right after the open, before anything arrived, is how a browser sees a server
		// that accepts and then rejects the channel (its close code is not visible there): treat it
		// like a refused handshake, and do not let the open reset the backoff.
		m.conn.attempt = m.conn.attemptAtOpen + 1
	}
	if refusedRotated {
		// A server that refuses rotated ids (or is down): the dial is made again at once without them,
		// and they are tried once more when a connection opens (openedCarrying).
		m.logf("a dial carrying rotated channels did not open: dialling without them")
		m.connect()
		return
	}
	if code == CloseWrongChannel {
		m.delayedReload(between(m.t.WrongChannelDelay, m.rand()), true)
		return
	}
	if !wasOpen || short {
		m.conn.refused++
		if m.transport.current == protocol.TransportWebSocket {
			m.transport.wsFailures++
		}
		// A browser reports a handshake refused for a stale channel id (HTTP 400) only as a failed
		// dial, so repeated refusals reload the config before the next attempt.
		if m.conn.refused == 2 || (m.conn.refused > 2 && m.conn.refused%4 == 2) {
			m.reload(false)
		}
	} else {
		m.conn.refused = 0
	}
	if m.transport.current == protocol.TransportWebSocket && m.transport.wsFailures >= wsFailuresBeforeLongPolling &&
		m.transportUsable(protocol.TransportLongPolling) {
		m.logf("websocket failed %d times in a row, falling back to long polling", m.transport.wsFailures)
		m.transport.current = protocol.TransportLongPolling
		m.transport.wsFailures = 0
		m.transport.lpFailures = 0
		m.transport.fellBack = true
		m.scheduleReconnectIn(longPollFallbackDelay)
		return
	}
	if m.transport.current == protocol.TransportLongPolling && m.transport.fellBack && !wasOpen {
		m.transport.lpFailures++
		if m.transport.lpFailures >= lpFailuresBeforeWebSocket && m.transportUsable(protocol.TransportWebSocket) {
			m.logf("long polling does not answer either, trying websocket again")
			m.transport.current = protocol.TransportWebSocket
			m.transport.fellBack = false
		}
	}
	m.scheduleReconnect()
}

// PollResult feeds the answer to one long-polling GET of connection gen: status 200 with a body,
// 304 with the Expires and Last-Message-Id headers, 0 when the driver gave up waiting (it then simply
// asks again), or an error status whose body may start with a close code ("4010: Wrong Channel Id.").
func (m *Machine) PollResult(gen int, status int, body []byte, expires, lastMessageID string, now time.Time) []Action {
	m.begin(now)
	if gen != m.conn.gen || m.conn.state == connNone {
		return m.finish()
	}
	switch status {
	case 200:
		if m.conn.state == connConnecting {
			m.markOpen()
			if gen != m.conn.gen {
				return m.finish() // replaced on opening (openedForSwitch): nothing of it is delivered
			}
		}
		if len(body) > 0 {
			m.frame(body, m.cfg.Wire() == protocol.WireProtobuf)
		}
	case 304:
		if m.conn.state == connConnecting {
			m.markOpen()
			if gen != m.conn.gen {
				return m.finish()
			}
		}
		if expires == LongPollIdleExpires && lastMessageID != "" {
			m.advanceMID(lastMessageID)
		}
	case 0:
	default:
		m.closed(closeCodeFromBody(body))
		return m.finish()
	}
	if gen == m.conn.gen && m.conn.state != connNone {
		m.poll()
	}
	return m.finish()
}

func (m *Machine) poll() {
	// The connection's own channels, from the oldest of their positions.
	resume := m.resume
	resume.MID = m.dialFrom(m.conn.carried)
	url, err := m.conn.cfg.ConnectionURLFor(protocol.TransportLongPolling, m.opts.Secure, resume, dialIDs(m.conn.cfg, m.conn.carried))
	if err != nil {
		m.fail(err)
		return
	}
	m.emit(Poll{Gen: m.conn.gen, URL: url})
}

// closeCodeFromBody reads the close code a push server puts at the start of an HTTP error body.
func closeCodeFromBody(body []byte) int {
	if len(body) >= 5 && body[4] == ':' {
		if n, err := strconv.Atoi(string(body[:4])); err == nil {
			return n
		}
	}
	return 0
}

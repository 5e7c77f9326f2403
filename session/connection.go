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

// connect opens a new connection with the current config and resume position.
func (m *Machine) connect() {
	m.clear(tReconnect)
	if m.cfg == nil {
		m.reload(true)
		return
	}
	if m.conn != connNone {
		m.disconnect(CloseConfigReplaced, "reconnect")
	}
	dial := m.dialConfig()
	if dial == m.cfg && m.connCfg != m.cfg {
		// The first connection with this config: its channels may hold messages from where it was
		// applied, though connections with older configs (a drain, a catch-up) moved the position since.
		m.resume.MID = m.earlier(m.resume.MID, m.cfgFrom)
	}
	m.connCfg, m.connMID, m.connFrom = dial, m.resume.MID, m.resume.MID
	url, err := dial.ConnectionURL(m.transport, m.opts.Secure, m.resume)
	if err != nil {
		m.fail(err)
		return
	}
	m.gen++
	m.conn = connConnecting
	m.attemptAtOpen = m.attempt
	m.attempt++
	m.stats.Connects++
	if m.online {
		m.stats.Reconnects++
	}
	m.setStatus(StatusConnect)
	m.logf("connecting by %s (%s), attempt %d: %s", m.transport, dial.Wire(), m.attempt, protocol.RedactURL(url))
	m.emit(Connect{Gen: m.gen, Transport: m.transport, Wire: dial.Wire(), URL: url})
	if m.transport == protocol.TransportLongPolling {
		m.set(tLongPollOpen, m.t.LongPollOpen)
	}
}

// disconnect closes the current connection, if any; its later events are ignored.
func (m *Machine) disconnect(code int, reason string) {
	m.endDrain()
	if m.conn == connNone {
		return
	}
	m.emit(Disconnect{Gen: m.gen, Code: code, Reason: reason})
	m.conn = connNone
	m.catchingUp = false
	m.gen++
	m.clear(tWatchdog)
	m.clear(tLongPollOpen)
}

func (m *Machine) scheduleReconnect() {
	base := m.t.backoffBase(m.attempt)
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
	if gen == m.gen && m.conn == connConnecting {
		m.markOpen()
	}
	return m.finish()
}

func (m *Machine) markOpen() {
	m.conn = connOpen
	m.openedAt = m.now
	m.connFrames = 0
	m.attempt = 0
	m.clear(tLongPollOpen)
	if m.transport == protocol.TransportWebSocket {
		m.wsFailures = 0
		m.clear(tRestoreWS)
	} else {
		m.lpFailures, m.fellBack = 0, false
	}
	if m.transport == protocol.TransportLongPolling && !m.pending(tRestoreWS) && !m.opts.DisableWebSocket && m.transportUsable(protocol.TransportWebSocket) {
		m.set(tRestoreWS, m.t.RestoreWebSocket)
	}
	if m.cfg.Wire() == protocol.WireJSONRPC {
		m.set(tWatchdog, m.t.FirstPingTimeout)
	}
	if m.openedForSwitch() {
		return
	}
	m.setStatus(StatusOnline)
	m.logf("online by %s", m.transport)
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
	if gen != m.gen || m.conn == connNone {
		return m.finish()
	}
	m.closed(code)
	return m.finish()
}

func (m *Machine) closed(code int) {
	m.endDrain()
	catchUp := m.catchingUp
	m.catchingUp = false
	wasOpen := m.conn == connOpen
	short := wasOpen && m.connFrames == 0 && m.now.Sub(m.openedAt) < m.t.ShortLived
	m.conn = connNone
	m.gen++
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
		m.attempt = m.attemptAtOpen + 1
	}
	if catchUp && len(m.owed) > 0 && (!wasOpen || short || code == CloseWrongChannel) {
		// The server refused the rotated ids (or is down): the new config is dialled at once, and a
		// catch-up is tried again with the next reconnect if that fails too.
		m.logf("the catch-up connection did not open: connecting with the new config")
		m.owed[0].skip = true
		// Only a close code says the server refused the ids; a dial that failed, or a connection
		// that ended at once without one, may as well have met a server going down or a dropped
		// network.
		m.owed[0].unheard = code != CloseWrongChannel
		m.connect()
		return
	}
	if code == CloseWrongChannel {
		m.delayedReload(between(m.t.WrongChannelDelay, m.rand()), true)
		return
	}
	if !wasOpen || short {
		m.refused++
		if m.transport == protocol.TransportWebSocket {
			m.wsFailures++
		}
		// A browser reports a handshake refused for a stale channel id (HTTP 400) only as a failed
		// dial, so repeated refusals reload the config before the next attempt.
		if m.refused == 2 || (m.refused > 2 && m.refused%4 == 2) {
			m.reload(false)
		}
	} else {
		m.refused = 0
	}
	if m.transport == protocol.TransportWebSocket && m.wsFailures >= wsFailuresBeforeLongPolling &&
		m.transportUsable(protocol.TransportLongPolling) {
		m.logf("websocket failed %d times in a row, falling back to long polling", m.wsFailures)
		m.transport = protocol.TransportLongPolling
		m.wsFailures = 0
		m.lpFailures = 0
		m.fellBack = true
		m.scheduleReconnectIn(longPollFallbackDelay)
		return
	}
	if m.transport == protocol.TransportLongPolling && m.fellBack && !wasOpen {
		m.lpFailures++
		if m.lpFailures >= lpFailuresBeforeWebSocket && m.transportUsable(protocol.TransportWebSocket) {
			m.logf("long polling does not answer either, trying websocket again")
			m.transport = protocol.TransportWebSocket
			m.fellBack = false
		}
	}
	m.scheduleReconnect()
}

// PollResult feeds the answer to one long-polling GET of connection gen: status 200 with a body,
// 304 with the Expires and Last-Message-Id headers, 0 when the driver gave up waiting (it then simply
// asks again), or an error status whose body may start with a close code ("4010: Wrong Channel Id.").
func (m *Machine) PollResult(gen int, status int, body []byte, expires, lastMessageID string, now time.Time) []Action {
	m.begin(now)
	if gen != m.gen || m.conn == connNone {
		return m.finish()
	}
	switch status {
	case 200:
		if m.conn == connConnecting {
			m.markOpen()
			if gen != m.gen {
				return m.finish() // replaced on opening (openedForSwitch): nothing of it is delivered
			}
		}
		if len(body) > 0 {
			m.frame(body, m.cfg.Wire() == protocol.WireProtobuf)
		}
	case 304:
		if m.conn == connConnecting {
			m.markOpen()
			if gen != m.gen {
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
	if gen == m.gen && m.conn != connNone {
		m.poll()
	}
	return m.finish()
}

func (m *Machine) poll() {
	// The connection's own config: while it drains rotated channels, m.cfg already holds the new ones.
	url, err := m.connCfg.ConnectionURL(protocol.TransportLongPolling, m.opts.Secure, m.resume)
	if err != nil {
		m.fail(err)
		return
	}
	m.emit(Poll{Gen: m.gen, URL: url})
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

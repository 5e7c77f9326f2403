package session

import (
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// The app's own lifecycle calls beside Start and Stop (the official restart, reconnect and the
// browser's online/offline events, docs/protocol.md §14).

// Restart closes the connection with code and reason, loads the config again and connects with it.
// A stopped machine starts.
func (m *Machine) Restart(code int, reason string, now time.Time) []Action {
	if !m.running {
		return m.Start(now)
	}
	m.begin(now)
	m.logf("restart asked (code %d)", code)
	m.disconnect(code, reason)
	m.setStatus(StatusOffline)
	m.clear(tReconnect)
	m.reload(true)
	return m.finish()
}

// Reconnect closes the connection with code and reason and connects again after delay, with the
// config in use. It does nothing to a stopped machine.
func (m *Machine) Reconnect(code int, reason string, delay time.Duration, now time.Time) []Action {
	m.begin(now)
	if !m.running {
		return m.finish()
	}
	m.logf("reconnect asked (code %d)", code)
	m.disconnect(code, reason)
	m.setStatus(StatusOffline)
	if delay < 0 {
		delay = 0
	}
	m.scheduleReconnectIn(delay)
	return m.finish()
}

// Network feeds the browser's word on connectivity (the window's online and offline events).
//
// Offline closes the connection and reports offline at once, without the debounce: the socket is
// dead, and dialling now would only fail (and count towards the fallback to long polling). A
// reconnect stays planned on the longest backoff, in case the browser never says it is back. Online
// connects at once, from the first backoff step, instead of waiting out a delay that grew during the
// outage, and by websocket again when the client had fallen back to long polling (the failures may
// have been the outage); a start still waiting for its config asks for it at once.
func (m *Machine) Network(online bool, now time.Time) []Action {
	m.begin(now)
	if !m.running {
		return m.finish()
	}
	if !online {
		m.netDown = true
		m.logf("the browser went offline")
		m.disconnect(CloseNormal, "offline")
		m.report(StatusOffline)
		m.scheduleReconnectIn(m.t.Backoff[len(m.t.Backoff)-1])
		return m.finish()
	}
	if !m.netDown {
		return m.finish()
	}
	m.netDown = false
	m.logf("the browser is online again")
	m.conn.attempt = 0
	if m.transport.fellBack && !m.opts.DisableWebSocket && m.transportUsable(protocol.TransportWebSocket) {
		// The websocket failures that made the client fall back may have been the outage itself.
		m.transport.current, m.transport.fellBack, m.transport.wsFailures = protocol.TransportWebSocket, false, 0
		m.clear(tRestoreWS)
		if m.conn.state != connNone {
			m.disconnect(CloseNormal, "back to websocket")
		}
	}
	switch {
	case m.cfg == nil:
		if !m.load.loading {
			m.clear(tReload)
			m.reload(true)
		}
	case m.conn.state == connNone:
		m.connect()
	}
	return m.finish()
}

package session

import (
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Tick fires every timer whose deadline has passed.
func (m *Machine) Tick(now time.Time) []Action {
	m.begin(now)
	for t := timer(0); t < numTimers; t++ {
		d := m.deadlines[t]
		if d.IsZero() || now.Before(d) {
			continue
		}
		m.clear(t)
		if m.running || t == tOffline {
			m.fire(t)
		}
	}
	return m.finish()
}

func (m *Machine) fire(t timer) {
	switch t {
	case tReconnect:
		m.connect()
	case tRenew:
		m.logf("channels expired: renewing the config")
		m.reload(false)
	case tSafety:
		if m.expired() && !m.loading && !m.pending(tRenew) {
			m.reload(false)
		}
		m.set(tSafety, m.t.SafetyTick)
	case tWatchdog:
		if m.conn == connOpen {
			m.logf("no ping from the server in time: reconnecting")
			m.disconnect(CloseStuck, "connection stuck")
			m.setStatus(StatusOffline)
			m.attempt = 0
			m.scheduleReconnect()
		}
	case tOffline:
		m.report(StatusOffline)
	case tReload:
		connect := m.reloadConnect
		m.reloadConnect = false
		m.reload(connect)
	case tRestoreWS:
		if m.transport == protocol.TransportLongPolling && m.transportUsable(protocol.TransportWebSocket) {
			m.logf("trying websocket again")
			m.transport = protocol.TransportWebSocket
			m.connect()
		}
	case tStartTimeout:
		if m.starting {
			m.fail(ErrStartTimeout)
		}
	case tSwitch:
		if m.draining != nil {
			if len(m.draining) > 0 {
				m.logf("no channel_expire from the rotated channels in time: switching")
			}
			m.draining = map[string]bool{}
			m.drained("")
		}
	case tLongPollOpen:
		if m.conn == connConnecting && m.transport == protocol.TransportLongPolling {
			m.markOpen()
		}
	}
}

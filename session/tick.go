package session

import (
	"fmt"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Tick fires every timer whose deadline has passed.
func (m *Machine) Tick(now time.Time) []Action {
	m.begin(now)
	for t := timer(0); t < numTimers; t++ {
		d := m.timers.at[t]
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
		if m.expired() && !m.load.loading && !m.pending(tRenew) {
			m.reload(false)
		}
		m.set(tSafety, m.t.SafetyTick)
	case tWatchdog:
		if m.conn.state == connOpen {
			m.logf("no ping from the server in time: reconnecting")
			m.disconnect(CloseStuck, "connection stuck")
			m.setStatus(StatusOffline)
			m.conn.attempt = 0
			m.scheduleReconnect()
		}
	case tOffline:
		m.report(StatusOffline)
	case tReload:
		connect := m.load.delayedConnect
		m.load.delayedConnect = false
		m.reload(connect)
	case tRestoreWS:
		if m.transport.current == protocol.TransportLongPolling && m.transportUsable(protocol.TransportWebSocket) {
			m.logf("trying websocket again")
			m.transport.current = protocol.TransportWebSocket
			m.connect()
		}
	case tStartTimeout:
		if m.starting {
			if m.lastLoadErr != nil && m.cfg == nil {
				// Still no config: the start ends with what kept it from loading (its Bitrix code).
				m.fail(fmt.Errorf("%w; the config load kept failing: %w", ErrStartTimeout, m.lastLoadErr))
				return
			}
			m.fail(ErrStartTimeout)
		}
	case tHold:
		m.reconcile(0)
	case tRetire:
		m.retireExpired()
	case tLongPollOpen:
		if m.conn.state == connConnecting && m.transport.current == protocol.TransportLongPolling {
			m.markOpen()
		}
	}
}

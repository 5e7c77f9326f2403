package session

import (
	"errors"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// ConfigLoaded feeds the answer of a LoadConfig. A config whose connection identity (URLs, channel
// ids, token, version) differs from the one in use replaces it and reconnects at once; an identical
// one keeps the live connection. Renewal is scheduled from the new config's earliest expiry.
func (m *Machine) ConfigLoaded(cfg *protocol.Config, now time.Time) []Action {
	m.begin(now)
	m.configLoaded(cfg)
	return m.finish()
}

func (m *Machine) configLoaded(cfg *protocol.Config) {
	connect, again, ok := m.loadEnded()
	if !ok {
		return
	}
	m.stats.ConfigLoads++
	m.load.startRetries = 0

	old := m.cfg
	if old != nil {
		cfg = keepNewerChannels(old, cfg)
	}
	changed := old == nil || identity(old) != identity(cfg)
	m.cfg = cfg
	if !m.transport.chosen || !m.transportUsable(m.transport.current) {
		t, ok := m.pickTransport()
		if !ok {
			m.fail(ErrNoTransport)
			return
		}
		m.transport.current, m.transport.chosen = t, true
	}
	m.take(cfg)
	if old != nil && changed {
		m.stats.Renewals++
		m.logf("config renewed")
	}
	m.scheduleRenewal()
	m.set(tSafety, m.t.SafetyTick)

	switch {
	case m.conn.state == connNone && (changed || connect || !m.pending(tReconnect)):
		m.connect()
	case m.conn.state != connNone && changed:
		m.reconcile(0)
	}
	if again && m.running {
		// This answer may predate what asked for the second load (a channel_expire arriving while
		// the load was in flight): ask once more. The answer is applied all the same: channels it
		// holds that have rotated since may still carry messages for this client, which the ledger
		// reads until their last word.
		m.reload(false)
	}
}

// ConfigFailed feeds a failed LoadConfig.
//
// While a Start is pending, a failure that a moment may mend (startRetryable: a 5xx, a network error,
// a REST library that threw, an answer that is not JSON) is retried on the reconnect backoff, the
// status staying connect, until StartTimeout; any other (auth, permission, a portal without a push
// server, an unusable config) fails the start at once, so the app learns the Bitrix code. Later, an
// error that retrying cannot mend (permissions, a deleted portal) stops the client; any other is
// retried on Timing.RenewRetry while the live connection, if any, keeps running. Every retry is told
// to the subscribers as a retry event.
func (m *Machine) ConfigFailed(err error, now time.Time) []Action {
	m.begin(now)
	connect, _, ok := m.loadEnded()
	if !ok {
		return m.finish()
	}
	m.stats.LastError = err.Error()
	m.lastLoadErr = err
	var d time.Duration
	switch {
	case m.starting && !startRetryable(err):
		m.fail(err)
		return m.finish()
	case m.starting:
		base := m.t.backoffBase(m.load.startRetries)
		d = base + time.Duration(m.rand()*m.t.BackoffJitter*float64(base))
		m.load.startRetries++
		connect = true
	default:
		if rest, ok := protocol.AsRESTError(err); ok && !rest.Retryable() && !serverSide(rest) {
			m.fail(err)
			return m.finish()
		}
		d = m.renewRetryDelay()
	}
	m.logf("config load failed, retrying in %s: %v", d.Round(time.Millisecond), err)
	m.ev.retry(errorCode(err), err.Error(), d)
	m.delayedReload(d, connect)
	return m.finish()
}

// startRetryable tells whether a config load that failed during Start is worth another try: a REST
// error of the transient class (rate limits, INTERNAL_SERVER_ERROR, 502–504, an unexpected answer) or
// an unknown code answered with a 5xx, and any failure that is not a Bitrix answer at all (the network,
// a REST library that threw, an answer that is not JSON), but not an unusable config.
func startRetryable(err error) bool {
	if rest, ok := protocol.AsRESTError(err); ok {
		switch rest.Class() {
		case protocol.ClassTransient:
			return true
		case protocol.ClassUnknown:
			return serverSide(rest)
		}
		return false
	}
	return !errors.Is(err, protocol.ErrInvalidConfig) && !errors.Is(err, ErrStopped)
}

// serverSide tells an unknown REST error answered with a 5xx status: the portal failed, which a
// moment may mend.
func serverSide(rest *protocol.RESTError) bool {
	return rest.Class() == protocol.ClassUnknown && rest.Status >= 500
}

// errorCode names err for a retry event: the Bitrix code of a REST error, the code of an error that
// carries one (the bridge's REST_FAILED, …), else FAILED.
func errorCode(err error) string {
	if rest, ok := protocol.AsRESTError(err); ok {
		return rest.Code
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && coded.ErrorCode() != "" {
		return coded.ErrorCode()
	}
	return "FAILED"
}

// loadEnded closes the config load under way and returns what was asked of its answer: connect (the
// caller has no live connection to keep) and again (another load was asked for meanwhile). ok is
// false when no load was under way, or the machine was stopped: the answer is then dropped.
func (m *Machine) loadEnded() (connect, again, ok bool) {
	if !m.running || !m.load.loading {
		return false, false, false
	}
	connect, again = m.load.connect, m.load.again
	m.load.loading, m.load.connect, m.load.again = false, false, false
	return connect, again, true
}

// reload asks for the config now. connect tells whether to connect when it arrives even if it is
// unchanged (the caller has no live connection to keep).
//
// A reload asked for while one is in flight is not dropped: the answer on its way may predate the
// reason for the new request, so another load follows it.
func (m *Machine) reload(connect bool) {
	if m.load.loading {
		m.load.connect = m.load.connect || connect
		m.load.again = true
		return
	}
	m.load.loading, m.load.connect = true, connect
	m.clear(tReload)
	m.emit(LoadConfig{})
}

// delayedReload schedules a reload after d, keeping an earlier one if already scheduled.
func (m *Machine) delayedReload(d time.Duration, connect bool) {
	at := m.now.Add(d)
	if !m.pending(tReload) || at.Before(m.timers.at[tReload]) {
		m.timers.at[tReload] = at
	}
	m.load.delayedConnect = m.load.delayedConnect || connect
}

// scheduleRenewal arms the renewal timer from the config's expiries, in server time:
//
//   - channels: just after the earliest channel end, with a small jitter kept under a tenth of the
//     channel lifetime. The portal hands out the same channel until it has expired
//     (docs/protocol.md §3.3, §15), so asking earlier would only return the same ids;
//   - exp (version 5's token): ahead of it by min(60 s, 10 % of the lifetime), because every config call
//     signs a fresh token, so the connection can move to it before the old one lapses.
//
// A time that has already passed (the reloaded config is still expired, or exp is within its margin)
// becomes a retry after Timing.RenewRetry, so a portal that keeps answering the same config is not
// asked in a tight loop.
func (m *Machine) scheduleRenewal() {
	shift := m.cfg.TimeShift
	life := m.lifetime()
	var candidates []time.Time
	if end := m.channelEnd(); !end.IsZero() {
		jitter := between(m.t.RenewJitter, m.rand())
		if life > 0 && jitter > life/10 {
			jitter = life / 10
		}
		candidates = append(candidates, end.Add(shift).Add(jitter))
	}
	if m.cfg.Exp > 0 {
		margin := time.Minute
		if life > 0 && life/10 < margin {
			margin = life / 10
		}
		candidates = append(candidates, time.Unix(m.cfg.Exp, 0).Add(shift).Add(-margin))
	}
	if len(candidates) == 0 {
		m.clear(tRenew)
		return
	}
	var at time.Time
	due := false
	for _, c := range candidates {
		if !c.After(m.now) {
			due = true
			continue
		}
		if at.IsZero() || c.Before(at) {
			at = c
		}
	}
	if due {
		retry := m.now.Add(m.renewRetryDelay())
		if at.IsZero() || retry.Before(at) {
			at = retry
		}
	} else {
		m.load.retries = 0
	}
	m.timers.at[tRenew] = at
}

// channelEnd is the earliest channel end of the config, or zero.
func (m *Machine) channelEnd() time.Time {
	var end time.Time
	for _, ch := range []*protocol.Channel{m.cfg.Channels.Private, m.cfg.Channels.Shared} {
		if ch != nil && !ch.End.IsZero() && (end.IsZero() || ch.End.Before(end)) {
			end = ch.End
		}
	}
	return end
}

// renewRetryDelay is the next delay from Timing.RenewRetry, never longer than the channel lifetime.
func (m *Machine) renewRetryDelay() time.Duration {
	i := m.load.retries
	if i >= len(m.t.RenewRetry) {
		i = len(m.t.RenewRetry) - 1
	}
	m.load.retries++
	d := time.Second
	if i >= 0 {
		d = m.t.RenewRetry[i]
	}
	if life := m.lifetime(); life > 0 && d > life {
		d = life
	}
	return d
}

// lifetime is the shortest channel lifetime in the config, or 0 when unknown.
func (m *Machine) lifetime() time.Duration {
	var life time.Duration
	if m.cfg == nil {
		return 0
	}
	for _, ch := range []*protocol.Channel{m.cfg.Channels.Private, m.cfg.Channels.Shared} {
		if ch == nil || ch.Start.IsZero() || ch.End.IsZero() {
			continue
		}
		if d := ch.End.Sub(ch.Start); d > 0 && (life == 0 || d < life) {
			life = d
		}
	}
	return life
}

// expired reports whether the config's earliest expiry has passed on the local clock.
func (m *Machine) expired() bool {
	if m.cfg == nil {
		return false
	}
	exp := m.cfg.Expiry()
	return !exp.IsZero() && !exp.Add(m.cfg.TimeShift).After(m.now)
}

// keepNewerChannels returns cfg with any channel that is older than the one old holds (an earlier
// start: an answer that left the portal before a channel_expire's new_channel was applied in place)
// replaced by old's, so that a late answer does not take the client back to a retired channel.
func keepNewerChannels(old, cfg *protocol.Config) *protocol.Config {
	merged := *cfg
	kept := false
	for _, pair := range []struct{ have, got **protocol.Channel }{
		{&old.Channels.Private, &merged.Channels.Private},
		{&old.Channels.Shared, &merged.Channels.Shared},
	} {
		have, got := *pair.have, *pair.got
		if have != nil && got != nil && have.ID != got.ID && !have.Start.IsZero() && got.Start.Before(have.Start) {
			*pair.got = have
			kept = true
		}
	}
	if !kept {
		return cfg
	}
	return &merged
}

// identity is what makes two configs lead to different connections.
type connIdentity struct {
	version                         int
	ws, wss, lp, lps, clientID, jwt string
	private, shared                 string
	websocketEnabled                bool
}

func identity(c *protocol.Config) connIdentity {
	id := connIdentity{
		version: c.Server.Version, ws: c.Server.WebSocket, wss: c.Server.WebSocketSecure,
		lp: c.Server.LongPolling, lps: c.Server.LongPollingSecure, clientID: c.ClientID, jwt: c.JWT,
		websocketEnabled: c.Server.WebSocketEnabled,
	}
	if c.Channels.Private != nil {
		id.private = c.Channels.Private.ID
	}
	if c.Channels.Shared != nil {
		id.shared = c.Channels.Shared.ID
	}
	return id
}

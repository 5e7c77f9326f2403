package session

import (
	"math/rand/v2"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Status is the connection status reported to subscribers.
type Status string

// The statuses of docs/protocol.md §10.3.
const (
	StatusOnline  Status = "online"
	StatusOffline Status = "offline"
	StatusConnect Status = "connect"
)

// Close codes the client sends (docs/protocol.md §12.1).
const (
	CloseNormal          = 1000
	CloseConfigReplaced  = 3000
	CloseServerRestarted = 3002
	CloseStuck           = 3005
)

// CloseWrongChannel is the server's close code for a rejected channel id (docs/protocol.md §12.2).
const CloseWrongChannel = 4010

// Options configures a Machine.
type Options struct {
	// Secure picks the config's *_secure URLs (the page is served over https).
	Secure bool
	// DisableWebSocket forces long polling.
	DisableWebSocket bool
	// DedupWindow is how many message ids are remembered; 0 means DefaultDedupWindow.
	DedupWindow int
	// Timing overrides DefaultTiming when set.
	Timing *Timing
	// Rand returns uniform numbers in [0, 1) for jitter; nil means math/rand/v2.
	Rand func() float64
}

// Stats are the machine's counters.
type Stats struct {
	Messages          int64
	DuplicatesSkipped int64
	Garbage           int64
	Frames            int64
	Connects          int64
	Reconnects        int64
	Renewals          int64
	ConfigLoads       int64
	StaleOnline       int64
	BadSystem         int64 // system commands whose params could not be read in full (protocol.ParseSystem)
	LastMID           string
	LastCloseCode     int
	LastError         string
}

type timer int

const (
	tReconnect timer = iota
	tRenew
	tSafety
	tWatchdog
	tOffline
	tReload
	tRestoreWS
	tStartTimeout
	tLongPollOpen
	tHold
	tRetire
	numTimers
)

var timerNames = [numTimers]string{"reconnect", "renew", "safety", "watchdog", "offline", "reload", "restoreWebSocket", "startTimeout", "longPollOpen", "hold", "retire"}

type connState int

const (
	connNone connState = iota
	connConnecting
	connOpen
)

// Machine is the session state machine. It is not safe for concurrent use: one goroutine (the
// driver's) feeds it. Every input takes the current local time and returns the actions to carry out,
// in order; the returned slice belongs to the caller.
type Machine struct {
	opts Options
	t    Timing
	rand func() float64
	now  time.Time

	running  bool
	starting bool
	online   bool // has been online since Start

	cfg       *protocol.Config
	ledger    []*entry // the channels to read and from where, oldest first (ledger.go)
	load      loadState
	conn      connection
	transport transportChoice

	resume       protocol.Resume // the newest position, for stats and a later start
	dedup        *dedup
	timers       timerSet
	reported     Status
	revisionSeen int64
	stats        Stats
	lastLoadErr  error // the last config load failure, for a start that times out
	netDown      bool  // the browser said it went offline, and has not said it is back

	ev        events
	out       []Action
	startDone *StartDone
}

// loadState is the config loading under way, and the reloads asked for.
type loadState struct {
	loading        bool
	connect        bool // connect once the config being loaded arrives
	again          bool // a reload was asked for while one was in flight
	delayedConnect bool // connect after the delayed reload (tReload)
	retries        int  // renewals in a row that got a config still expired
	startRetries   int  // failed loads in a row while a Start is pending
}

// connection is the current (or last) connection and the attempts that led to it.
type connection struct {
	state         connState
	gen           int              // numbers connections: events of an older one are ignored
	cfg           *protocol.Config // the config it was dialled with: its URLs and token
	carried       []*entry         // the ledger's channels it subscribes
	openedAt      time.Time
	frames        int
	attempt       int // dials since the last open, for the backoff
	attemptAtOpen int
	refused       int // dials in a row that did not open (or closed at once)
}

// transportChoice is the transport in use and what decides the fallback between the two.
type transportChoice struct {
	current    protocol.Transport
	chosen     bool
	wsFailures int
	lpFailures int  // long-polling attempts in a row that never opened, since the fallback
	fellBack   bool // long polling is in use because websocket kept failing
}

// timerSet holds the deadline of each timer (zero: not pending).
type timerSet struct {
	at   [numTimers]time.Time
	seen [numTimers]time.Time // as of the last finish
	gen  uint64               // counts the inputs that changed deadlines (TimerGeneration)
}

// New returns a stopped machine.
func New(opts Options) *Machine {
	m := &Machine{opts: opts, t: DefaultTiming(), rand: opts.Rand, reported: StatusOffline}
	if opts.Timing != nil {
		m.t = *opts.Timing
	}
	if m.rand == nil {
		m.rand = rand.Float64
	}
	m.dedup = newDedup(opts.DedupWindow)
	return m
}

// Status returns the reported status.
func (m *Machine) Status() Status { return m.reported }

// Running reports whether the machine was started and not stopped since.
func (m *Machine) Running() bool { return m.running }

// Stats returns the counters.
func (m *Machine) Stats() Stats {
	s := m.stats
	s.LastMID = m.resume.MID
	return s
}

// Config returns the config in use, or nil.
func (m *Machine) Config() *protocol.Config { return m.cfg }

// Transport returns the transport of the current or next connection.
func (m *Machine) Transport() protocol.Transport { return m.transport.current }

// Link is the open connection a driver may write its own frames on: publishing and JSON-RPC calls
// (docs/protocol.md §17, §6.4).
type Link struct {
	Gen       int
	Transport protocol.Transport
	Wire      protocol.Wire
}

// Link returns the connection open now; ok is false while none is (connecting, backing off, stopped).
// A new Gen means a new connection: what was sent on an older one has no answer to wait for.
func (m *Machine) Link() (l Link, ok bool) {
	if m.conn.state != connOpen || m.conn.cfg == nil {
		return Link{}, false
	}
	return Link{Gen: m.conn.gen, Transport: m.transport.current, Wire: m.conn.cfg.Wire()}, true
}

// Resume returns the resume position the next connection will carry.
func (m *Machine) Resume() protocol.Resume { return m.resume }

// SetResume sets the resume position, e.g. one saved by the host app across a page reload.
func (m *Machine) SetResume(r protocol.Resume) { m.resume = r }

// NextDeadline returns the earliest pending timer; ok is false when none is pending.
func (m *Machine) NextDeadline() (deadline time.Time, ok bool) {
	for _, d := range m.timers.at {
		if !d.IsZero() && (!ok || d.Before(deadline)) {
			deadline, ok = d, true
		}
	}
	return deadline, ok
}

// Timers returns the pending timers by name with the time left until each, for debug output.
func (m *Machine) Timers(now time.Time) map[string]time.Duration {
	out := make(map[string]time.Duration)
	for name, d := range m.Deadlines() {
		out[name] = d.Sub(now)
	}
	return out
}

// TimerGeneration changes after every input that set or cleared a timer: a caller keeping a copy of
// Deadlines needs to read them again only when it moved (frames rarely touch a timer).
func (m *Machine) TimerGeneration() uint64 { return m.timers.gen }

// Deadlines returns the pending timers by name with their deadlines.
func (m *Machine) Deadlines() map[string]time.Time {
	out := make(map[string]time.Time)
	for i, d := range m.timers.at {
		if !d.IsZero() {
			out[timerNames[i]] = d
		}
	}
	return out
}

// Reset forgets the resume position and the de-duplication window (for destroy).
func (m *Machine) Reset() {
	m.resume = protocol.Resume{}
	m.dedup.reset()
	m.revisionSeen = 0
}

func (m *Machine) begin(now time.Time) { m.now = now }

func (m *Machine) finish() []Action {
	if m.timers.at != m.timers.seen {
		m.timers.seen = m.timers.at
		m.timers.gen++
	}
	if ev := m.ev.take(); ev != nil {
		m.out = append(m.out, Deliver{Events: ev})
	}
	if m.startDone != nil {
		m.out = append(m.out, *m.startDone)
		m.startDone = nil
	}
	out := m.out
	m.out = nil
	return out
}

func (m *Machine) emit(a Action) { m.out = append(m.out, a) }

func (m *Machine) logf(format string, args ...any) {
	m.out = append(m.out, Log{Text: sprintf(format, args...)})
}

func (m *Machine) set(t timer, d time.Duration) { m.timers.at[t] = m.now.Add(d) }
func (m *Machine) clear(t timer)                { m.timers.at[t] = time.Time{} }
func (m *Machine) pending(t timer) bool         { return !m.timers.at[t].IsZero() }

// Start begins: load the config, connect, and settle with StartDone once online (or failed).
// Starting a running machine settles at once when it is already online, and otherwise joins the
// pending start.
func (m *Machine) Start(now time.Time) []Action {
	m.begin(now)
	if m.running {
		if !m.starting {
			m.startDone = &StartDone{}
		}
		return m.finish()
	}
	m.launch()
	m.reload(true)
	return m.finish()
}

// StartWith begins from a config the app already has (the official start(config)): as Start, with
// cfg taken as the answer of the first config load. Renewals load the config as usual.
func (m *Machine) StartWith(cfg *protocol.Config, now time.Time) []Action {
	m.begin(now)
	if m.running {
		if !m.starting {
			m.startDone = &StartDone{}
		}
		return m.finish()
	}
	m.launch()
	m.load.loading, m.load.connect = true, true
	m.configLoaded(cfg)
	return m.finish()
}

// launch sets a stopped machine running, reporting connect until the start settles.
func (m *Machine) launch() {
	m.running, m.starting, m.online = true, true, false
	m.conn.attempt, m.conn.refused, m.transport.wsFailures, m.load.retries, m.load.startRetries = 0, 0, 0, 0, 0
	m.transport.chosen = false
	m.lastLoadErr = nil
	m.set(tStartTimeout, m.t.StartTimeout)
	m.report(StatusConnect)
}

// Stop disconnects with 1000, cancels every timer and reports offline at once. A pending Start
// settles with ErrStopped. The resume position and the de-duplication window are kept.
func (m *Machine) Stop(now time.Time) []Action {
	return m.StopWith(CloseNormal, "manual stop", now)
}

// StopWith is Stop closing the connection with code and reason (the official stop(code, reason)).
func (m *Machine) StopWith(code int, reason string, now time.Time) []Action {
	m.begin(now)
	m.stopAll(ErrStopped, code, reason)
	return m.finish()
}

func (m *Machine) stopAll(cause error, code int, reason string) {
	if !m.running {
		return
	}
	m.running = false
	m.netDown = false
	if m.starting {
		m.starting = false
		m.startDone = &StartDone{Err: cause}
	}
	m.disconnect(code, reason)
	m.ledger = nil
	m.timers.at = [numTimers]time.Time{}
	m.load.loading, m.load.connect, m.load.again = false, false, false
	m.report(StatusOffline)
}

// fail stops the machine because of an error it cannot recover from.
func (m *Machine) fail(err error) {
	m.stats.LastError = err.Error()
	m.logf("stopping: %v", err)
	m.stopAll(err, CloseNormal, "manual stop")
}

// setStatus reports a status change; offline is reported only after OfflineDebounce, and any other
// status before then cancels it.
func (m *Machine) setStatus(s Status) {
	if s == StatusOffline {
		if m.reported != StatusOffline && !m.pending(tOffline) {
			m.set(tOffline, m.t.OfflineDebounce)
		}
		return
	}
	m.clear(tOffline)
	m.report(s)
}

func (m *Machine) report(s Status) {
	m.clear(tOffline)
	if m.reported != s {
		m.reported = s
		m.ev.status(s)
	}
}

package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
)

// command is a request from a public method to the loop.
type command struct {
	start chan<- error
	with  *protocol.Config      // with start: the config to start from instead of loading one
	out   *outgoing             // a publish or a call to send (outbox.go)
	cfg   chan *protocol.Config // answered with the config once there is one (nil if the loop ends first)
	life  *lifeCmd              // restart, reconnect, stop with a code, the network, a resume position
}

// lifeCmd is one of the app's lifecycle calls (lifecycle.go).
type lifeCmd struct {
	kind   lifeKind
	code   int
	reason string
	delay  time.Duration
	online bool
	mid    string
}

type lifeKind int

const (
	lifeRestart lifeKind = iota
	lifeReconnect
	lifeStop
	lifeNetwork
	lifeResume
)

// eventKind tells what a transport or REST goroutine reports.
type eventKind int

const (
	evConfigLoaded eventKind = iota
	evConfigFailed
	evOpened
	evFrame
	evClosed
	evPoll
)

// event is one report from a goroutine to the loop.
type event struct {
	kind    eventKind
	gen     int
	cfg     *protocol.Config
	err     error
	data    []byte
	binary  bool
	code    int
	status  int
	expires string
	lastID  string
}

// loop owns the state machine from Start to Stop and carries out its actions.
type loop struct {
	c       *Client
	ctx     context.Context
	cancel  context.CancelFunc
	cmds    chan command
	events  chan event
	exiting chan struct{} // closed when the loop no longer takes commands
	done    chan struct{} // closed when every goroutine of the loop has ended

	wg       sync.WaitGroup
	conn     *conn
	waiters  []chan<- error
	deadline time.Time

	batch     []byte    // events of inputs handled since the last OnEvents call, one JSON array; reused
	lastFlush time.Time // when OnEvents was last called
	timerGen  uint64    // the machine's TimerGeneration when the timers were last published

	out outbox // what the app asked to send (outbox.go)
}

// batchWindow is how long after one OnEvents call the events of further frames are held to be
// delivered together. Each OnEvents call costs a crossing into JavaScript, a JSON.parse and a task;
// traffic slower than one frame per window (every steady stream) is delivered frame by frame at once,
// a burst in batches at most batchWindow late.
const batchWindow = 2 * time.Millisecond

// batchFlushBytes delivers a batch at once when it reaches this size, whatever the window says, and
// batchKeepBytes is the largest buffer kept for the next batch.
const (
	batchFlushBytes = 64 << 10
	batchKeepBytes  = 256 << 10
)

func newLoop(c *Client) *loop {
	ctx, cancel := context.WithCancel(context.Background())
	return &loop{
		c: c, ctx: ctx, cancel: cancel,
		cmds: make(chan command), events: make(chan event, 64),
		exiting: make(chan struct{}), done: make(chan struct{}),
	}
}

// spawn runs f on a goroutine the loop waits for before it reports done.
func (l *loop) spawn(f func()) {
	l.wg.Add(1)
	l.c.owned.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.c.owned.Add(-1) // before Done: the loop's end must find the count down
		f()
	}()
}

// post reports an event unless the reporter's context has ended (the loop no longer cares).
func (l *loop) post(ctx context.Context, ev event) {
	select {
	case l.events <- ev:
		return
	default: // the queue is full: wait for room, or for the end
	}
	select {
	case l.events <- ev:
	case <-ctx.Done():
	}
}

func (l *loop) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	defer flushTimer.Stop()
	var flushC <-chan time.Time
	outTimer := time.NewTimer(time.Hour)
	outTimer.Stop()
	defer outTimer.Stop()
	var outAt time.Time
	m := l.c.m
	for {
		l.arm(timer)
		if d, ok := l.nextOutDeadline(); !ok {
			outTimer.Stop()
			outAt = time.Time{}
		} else if !d.Equal(outAt) {
			outTimer.Stop()
			outTimer.Reset(time.Until(d))
			outAt = d
		}
		var acts []session.Action
		var now time.Time // set for a frame or a poll answer, whose events may wait for the batch
		select {
		case cmd := <-l.cmds:
			switch {
			case cmd.start != nil && cmd.with != nil:
				l.waiters = append(l.waiters, cmd.start)
				l.c.remember(cmd.with)
				acts = m.StartWith(cmd.with, time.Now())
			case cmd.start != nil:
				l.waiters = append(l.waiters, cmd.start)
				acts = m.Start(time.Now())
			case cmd.life != nil:
				acts = l.life(m, cmd.life, time.Now())
			case cmd.out != nil:
				l.enqueue(cmd.out)
			case cmd.cfg != nil:
				l.out.cfgWait = append(l.out.cfgWait, cmd.cfg)
			}
		case ev := <-l.events:
			if ev.kind == evFrame || ev.kind == evPoll {
				now = time.Now()
			}
			acts = l.feed(m, ev, now)
		case <-timer.C:
			l.deadline = time.Time{}
			acts = m.Tick(time.Now())
		case <-flushC:
			flushC = nil
		case <-outTimer.C:
			outAt = time.Time{}
		}
		l.apply(acts)
		l.pump(time.Now())
		if len(l.batch) > 0 && flushC == nil {
			var since time.Duration
			if !now.IsZero() {
				since = now.Sub(l.lastFlush)
			}
			switch {
			case now.IsZero() || !m.Running() || since >= batchWindow || len(l.batch) >= batchFlushBytes:
				l.flush()
			case len(l.events) > 0:
				// more reports are queued: take them first, their events join this batch
			default:
				flushTimer.Reset(batchWindow - since)
				flushC = flushTimer.C
			}
		}
		// While events are held, the counters shown keep to what was delivered: a caller that sees
		// a message counted finds it delivered.
		l.publish(len(l.batch) > 0)
		if !m.Running() {
			l.flush()
			l.finish()
			return
		}
	}
}

// flush hands the held events to OnEvents. The buffer is reused for the next batch (OnEvents must not
// keep it), unless it grew past batchKeepBytes.
func (l *loop) flush() {
	if len(l.batch) == 0 {
		return
	}
	l.lastFlush = time.Now()
	if l.c.opts.OnEvents != nil {
		l.c.opts.OnEvents(l.batch)
	}
	if cap(l.batch) > batchKeepBytes {
		l.batch = nil
	} else {
		l.batch = l.batch[:0]
	}
}

// hold adds one input's events (a JSON array) to the batch: the arrays are joined into one.
func (l *loop) hold(events []byte) {
	if len(events) < 2 {
		return
	}
	if len(l.batch) == 0 {
		l.batch = append(l.batch, events...)
		return
	}
	l.batch = append(l.batch[:len(l.batch)-1], ',')
	l.batch = append(l.batch, events[1:]...)
}

// arm points the timer at the machine's next deadline.
func (l *loop) arm(timer *time.Timer) {
	d, ok := l.c.m.NextDeadline()
	if !ok {
		if !l.deadline.IsZero() {
			timer.Stop()
			l.deadline = time.Time{}
		}
		return
	}
	if d.Equal(l.deadline) {
		return
	}
	timer.Stop()
	l.deadline = d
	timer.Reset(time.Until(d))
}

// feed hands one report to the machine; now is the time of the report, or zero to read the clock.
func (l *loop) feed(m *session.Machine, ev event, now time.Time) []session.Action {
	if now.IsZero() {
		now = time.Now()
	}
	switch ev.kind {
	case evConfigLoaded:
		l.c.remember(ev.cfg)
		return m.ConfigLoaded(ev.cfg, now)
	case evConfigFailed:
		return m.ConfigFailed(ev.err, now)
	case evOpened:
		return m.Opened(ev.gen, now)
	case evFrame:
		return m.Frame(ev.gen, ev.data, ev.binary, now)
	case evClosed:
		return m.Closed(ev.gen, ev.code, now)
	case evPoll:
		return m.PollResult(ev.gen, ev.status, ev.data, ev.expires, ev.lastID, now)
	}
	return nil
}

// finish ends the loop: no more commands, every goroutine cancelled and waited for; done is closed
// last, once the loop goroutine no longer counts as running.
func (l *loop) finish() {
	l.c.mu.Lock()
	if l.c.loop == l {
		l.c.loop = nil
	}
	l.c.mu.Unlock()
	close(l.exiting)
	l.closeOut()
	for _, w := range l.waiters {
		w <- ErrStopped // only reached if the machine stopped without settling (never, by design)
	}
	l.waiters = nil
	l.cancel()
	// keep draining reports so no goroutine blocks on a full channel while it winds down
	drained := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(drained)
	}()
	for {
		select {
		case <-l.events:
		case <-drained:
			l.c.owned.Add(-1) // the loop goroutine itself, before done tells that nothing runs
			close(l.done)
			return
		}
	}
}

// publish copies what the getters show; holdStats keeps the counters as they were.
func (l *loop) publish(holdStats bool) {
	m := l.c.m
	c := l.c
	c.mu.Lock()
	if !holdStats {
		c.snap.stats = m.Stats()
	}
	c.snap.status = m.Status()
	c.snap.trans = m.Transport()
	c.snap.cfg = m.Config()
	if gen := m.TimerGeneration(); c.snap.timers == nil || gen != l.timerGen {
		c.snap.timers = m.Deadlines()
		l.timerGen = gen
	}
	if l.conn != nil {
		c.snap.url = l.conn.url
	} else {
		c.snap.url = ""
	}
	c.mu.Unlock()
}

// apply carries out the machine's actions in order.
func (l *loop) apply(acts []session.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case session.LoadConfig:
			l.spawn(l.loadConfig)
		case session.Connect:
			l.closeConn(session.CloseConfigReplaced, "reconnect")
			l.conn = l.open(a)
		case session.Poll:
			if cn := l.conn; cn != nil && cn.gen == a.Gen {
				cn.url = a.URL
				l.spawn(func() { l.longPoll(cn, a.URL) })
			}
		case session.Disconnect:
			if cn := l.conn; cn != nil && cn.gen == a.Gen {
				l.closeConn(a.Code, a.Reason)
			}
		case session.Send:
			if cn := l.conn; cn != nil && cn.gen == a.Gen {
				cn.send(a.Data, a.Binary)
			}
		case session.Answers:
			l.answer(a)
		case session.Deliver:
			l.hold(a.Events)
		case session.StartDone:
			// The getters show the state Start settled in before Start returns.
			l.publish(len(l.batch) > 0)
			for _, w := range l.waiters {
				w <- a.Err
			}
			l.waiters = nil
		case session.Log:
			l.c.logf("%s", a.Text)
		}
	}
}

func (l *loop) loadConfig() {
	_, cfg, err := l.c.loadConfig(l.ctx, map[string]any{"CACHE": "N"})
	if err != nil {
		l.post(l.ctx, event{kind: evConfigFailed, err: err})
		return
	}
	l.post(l.ctx, event{kind: evConfigLoaded, cfg: cfg})
}

// logf writes a debug line with every known secret removed.
func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	c.mu.Lock()
	secrets := c.secrets
	c.mu.Unlock()
	c.opts.Logf("%s", protocol.Redact(line, secrets))
}

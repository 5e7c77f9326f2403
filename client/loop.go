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
	stop  bool
}

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
}

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
		defer l.c.owned.Add(-1)
		defer l.wg.Done()
		f()
	}()
}

// post reports an event unless the reporter's context has ended (the loop no longer cares).
func (l *loop) post(ctx context.Context, ev event) {
	select {
	case l.events <- ev:
	case <-ctx.Done():
	}
}

func (l *loop) run() {
	defer l.c.owned.Add(-1)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	m := l.c.m
	for {
		l.arm(timer)
		var acts []session.Action
		select {
		case cmd := <-l.cmds:
			switch {
			case cmd.start != nil:
				l.waiters = append(l.waiters, cmd.start)
				acts = m.Start(time.Now())
			case cmd.stop:
				acts = m.Stop(time.Now())
			}
		case ev := <-l.events:
			acts = l.feed(m, ev)
		case <-timer.C:
			l.deadline = time.Time{}
			acts = m.Tick(time.Now())
		}
		l.apply(acts)
		l.publish()
		if !m.Running() {
			l.finish()
			return
		}
	}
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

func (l *loop) feed(m *session.Machine, ev event) []session.Action {
	now := time.Now()
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

// finish ends the loop: no more commands, every goroutine cancelled and waited for.
func (l *loop) finish() {
	l.c.mu.Lock()
	if l.c.loop == l {
		l.c.loop = nil
	}
	l.c.mu.Unlock()
	close(l.exiting)
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
			close(l.done)
			return
		}
	}
}

// publish copies what the getters show.
func (l *loop) publish() {
	m := l.c.m
	c := l.c
	c.mu.Lock()
	c.snap.stats = m.Stats()
	c.snap.status = m.Status()
	c.snap.trans = m.Transport()
	c.snap.cfg = m.Config()
	c.snap.timers = m.Deadlines()
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
		case session.Deliver:
			if l.c.opts.OnEvents != nil {
				l.c.opts.OnEvents(a.Events)
			}
		case session.StartDone:
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

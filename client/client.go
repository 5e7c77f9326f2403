package client

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
	"github.com/tidwall/gjson"
)

// Options configures a Client.
type Options struct {
	// REST calls pull.application.config.get through the app's session. Required.
	REST REST
	// Secure tells whether the page is served over https, which picks the *_secure URLs of the config.
	Secure bool
	// OnEvents receives JSON arrays of the events that frames produced, and the status and revision
	// events (see package session for their shapes), in order. Frames that arrive back to back are
	// delivered together, held at most a couple of milliseconds; a lone frame is delivered at once.
	// It is called from the client's own goroutine, one call at a time, and must not block for long;
	// batch is reused after the call returns, so copy it to keep it.
	OnEvents func(batch []byte)
	// Logf, when set, receives debug lines. Every secret of every config seen is removed first.
	Logf func(format string, args ...any)
	// LongPoller performs long-polling GETs; nil means net/http natively. In the browser the bridge
	// passes one built on fetch (without it, long polling is unavailable).
	LongPoller LongPoller
	// DedupWindow is how many recent message ids are remembered to skip duplicates; 0 means 1000.
	DedupWindow int
	// DisableWebSocket forces long polling (apps behind websocket-hostile proxies, tests).
	DisableWebSocket bool
	// Timing overrides the protocol's delays (tests and demos shorten them); nil keeps the defaults.
	Timing *session.Timing
	// SendTimeout bounds how long a publish or a call waits for an open connection before it fails
	// with CodeNotConnected; 0 means DefaultSendTimeout.
	SendTimeout time.Duration
	// ReadLimit is the largest frame accepted; a larger one drops the connection, which then resumes
	// from the last message id. 0 means DefaultReadLimit.
	ReadLimit int64
}

// DefaultReadLimit is the default largest frame: the push server's own limit on a published body
// (1 MiB) plus room for its framing.
const DefaultReadLimit = 1<<20 + 64<<10

// restTimeout bounds one REST call made by the client.
const restTimeout = 30 * time.Second

// Stats are the client's counters, as getStats() returns them to JavaScript.
type Stats struct {
	Messages          int64  `json:"messages"`
	DuplicatesSkipped int64  `json:"duplicatesSkipped"`
	GarbageFrames     int64  `json:"garbageFrames"`
	Frames            int64  `json:"frames"`
	Connects          int64  `json:"connects"`
	Reconnects        int64  `json:"reconnects"`
	Renewals          int64  `json:"renewals"`
	ConfigLoads       int64  `json:"configLoads"`
	StaleOnline       int64  `json:"staleOnline"`
	LastMID           string `json:"lastMid"`
	LastCloseCode     int    `json:"lastCloseCode"`
	LastError         string `json:"lastError,omitempty"`
	Status            string `json:"status"`
	Transport         string `json:"transport"`
	Wire              string `json:"wire"`
	// Goroutines counts the goroutines this client owns right now: 0 once stopped.
	Goroutines int64 `json:"goroutines"`
}

// ErrDestroyed is returned by every call on a destroyed client.
var ErrDestroyed = errors.New("b24pull: client destroyed")

// ErrStopped is returned by a Start that Stop or Destroy ended before the client went online.
var ErrStopped = session.ErrStopped

// Client keeps one Push & Pull connection alive. Its methods are safe for concurrent use.
//
// While started, one goroutine owns the session state machine and carries out what it asks; the
// transports and REST calls run on goroutines of their own that report back to it. Stop ends all of
// them: no goroutine, timer or connection survives it.
type Client struct {
	opts Options
	m    *session.Machine // touched only by the loop goroutine, or under mu while no loop runs

	mu        sync.Mutex
	loop      *loop
	destroyed bool
	snap      snapshot
	secrets   []string
	watched   map[int]bool // users whose status changes the app follows (presence.go)

	publicIDs publicIDCache // other users' app channels, for version 4 publishing (publicids.go)
	publishes line          // keeps publishes in call order until each is handed to the loop
	owned     atomic.Int64
}

// snapshot is what the loop publishes for the getters after each step.
type snapshot struct {
	stats  session.Stats
	status session.Status
	trans  protocol.Transport
	cfg    *protocol.Config
	url    string
	timers map[string]time.Time
}

// New returns a stopped client.
func New(opts Options) *Client {
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = DefaultReadLimit
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.LongPoller == nil {
		opts.LongPoller = defaultLongPoller()
	}
	c := &Client{opts: opts}
	c.m = session.New(session.Options{
		Secure: opts.Secure, DisableWebSocket: opts.DisableWebSocket,
		DedupWindow: opts.DedupWindow, Timing: opts.Timing,
	})
	c.snap.status = session.StatusOffline
	return c
}

// GetConfig makes one pull.application.config.get call and returns its result object as JSON text,
// after checking that it parses. A Bitrix error comes back as *protocol.RESTError.
func (c *Client) GetConfig(ctx context.Context, cache, reopen bool) (json.RawMessage, error) {
	if c.isDestroyed() {
		return nil, ErrDestroyed
	}
	answer, cfg, err := c.loadConfig(ctx, map[string]any{"CACHE": yn(cache), "REOPEN": yn(reopen)})
	if err != nil {
		return nil, err
	}
	c.remember(cfg)
	res := gjson.GetBytes(answer, "result")
	if !res.IsObject() {
		return answer, nil
	}
	return json.RawMessage(res.Raw), nil
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// loadConfig calls pull.application.config.get and parses the answer.
func (c *Client) loadConfig(ctx context.Context, params map[string]any) (json.RawMessage, *protocol.Config, error) {
	if c.opts.REST == nil {
		return nil, nil, errors.New("b24pull: no REST caller configured")
	}
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	answer, err := c.opts.REST.Call(ctx, "pull.application.config.get", params)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := protocol.ParseConfig(answer, time.Now())
	if err != nil {
		return nil, nil, err
	}
	return answer, cfg, nil
}

// remember adds a config's secrets to the redaction list.
func (c *Client) remember(cfg *protocol.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range cfg.Secrets() {
		if s != "" && !contains(c.secrets, s) {
			c.secrets = append(c.secrets, s)
		}
	}
	// keep the list bounded over days of renewals: the newest secrets matter most
	if n := len(c.secrets); n > 256 {
		c.secrets = append(c.secrets[:0:0], c.secrets[n-256:]...)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *Client) isDestroyed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.destroyed
}

// Start connects and returns once the client is online, or with the error that stopped it: the
// REST error of the config call (a *protocol.RESTError carrying the Bitrix code), a config error, or
// ErrStopped. While a start is pending, further calls join it; on an online client it returns nil.
// ctx bounds only the wait: the client keeps starting when ctx ends first. A start that fails
// returns once every goroutine of the client has ended (or ctx is done).
func (c *Client) Start(ctx context.Context) error {
	return c.start(ctx, nil)
}

// start is Start, from cfg when it is not nil.
func (c *Client) start(ctx context.Context, cfg *protocol.Config) error {
	for {
		l, err := c.ensureLoop()
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		select {
		case l.cmds <- command{start: done, with: cfg}:
		case <-l.exiting:
			<-l.done
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-done:
			if err != nil {
				// Only a stop settles a start with an error: wait until the loop has ended, so that
				// the caller finds nothing of the client running.
				select {
				case <-l.done:
				case <-ctx.Done():
				}
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ensureLoop returns the running loop, starting one when none runs.
func (c *Client) ensureLoop() (*loop, error) {
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return nil, ErrDestroyed
	}
	if l := c.loop; l != nil {
		c.mu.Unlock()
		return l, nil
	}
	l := newLoop(c)
	c.loop = l
	c.mu.Unlock()
	c.owned.Add(1)
	go l.run()
	return l, nil
}

// Stop disconnects, cancels every timer and waits until every goroutine of the client has ended (or
// ctx is done). The client can be started again; it resumes from the last message id.
func (c *Client) Stop(ctx context.Context) error {
	return c.StopWith(ctx, session.CloseNormal, "manual stop")
}

// Destroy stops the client for good and forgets its resume position and secrets.
func (c *Client) Destroy(ctx context.Context) error {
	c.mu.Lock()
	c.destroyed = true
	c.mu.Unlock()
	err := c.Stop(ctx)
	c.mu.Lock()
	if c.loop == nil {
		c.m.Reset()
	}
	c.secrets = nil
	c.snap.cfg = nil
	c.watched = nil
	c.mu.Unlock()
	c.publicIDs.mu.Lock()
	c.publicIDs.byUser = nil
	c.publicIDs.mu.Unlock()
	return err
}

// Status is "online", "offline" or "connect".
func (c *Client) Status() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.snap.status)
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snap.stats
	out := Stats{
		Messages: s.Messages, DuplicatesSkipped: s.DuplicatesSkipped, GarbageFrames: s.Garbage,
		Frames: s.Frames, Connects: s.Connects, Reconnects: s.Reconnects, Renewals: s.Renewals,
		ConfigLoads: s.ConfigLoads, StaleOnline: s.StaleOnline, LastMID: s.LastMID,
		LastCloseCode: s.LastCloseCode, LastError: protocol.Redact(s.LastError, c.secrets),
		Status: string(c.snap.status), Goroutines: c.owned.Load(),
	}
	if c.snap.cfg != nil {
		out.Transport = c.snap.trans.String()
		out.Wire = c.snap.cfg.Wire().String()
	}
	return out
}

// DebugInfo returns connection facts with every secret removed, as JSON text.
func (c *Client) DebugInfo() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := struct {
		Status    string                `json:"status"`
		Transport string                `json:"transport,omitempty"`
		URL       string                `json:"url,omitempty"`
		Config    *protocol.ConfigFacts `json:"config,omitempty"`
		Timers    map[string]float64    `json:"timers"`
		Stats     Stats                 `json:"stats"`
	}{Status: string(c.snap.status), Timers: map[string]float64{}}
	c.mu.Unlock()
	info.Stats = c.Stats()
	c.mu.Lock()
	if c.snap.cfg != nil {
		f := c.snap.cfg.Facts()
		info.Config = &f
		info.Transport = c.snap.trans.String()
	}
	if c.snap.url != "" {
		info.URL = protocol.RedactURL(c.snap.url)
	}
	now := time.Now()
	for k, d := range c.snap.timers {
		info.Timers[k] = d.Sub(now).Round(time.Millisecond).Seconds()
	}
	b, err := json.Marshal(info)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(protocol.Redact(string(b), c.secrets))
}

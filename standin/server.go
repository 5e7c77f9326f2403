package standin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Keep-alive periods of the push server (docs/protocol.md §13).
const (
	// rpcPingPeriod is the JSON-RPC server's text ping period.
	rpcPingPeriod = 10 * time.Second
	// wsPingPeriod is Push server 1.0/2.0's websocket control ping period.
	wsPingPeriod = 120 * time.Second
	// writeTimeout bounds one frame write; a client that cannot take a frame in that time is dropped.
	writeTimeout = 10 * time.Second
)

// Server is a running stand-in: a portal listener and a push listener. All methods are safe for
// concurrent use and none blocks for long.
type Server struct {
	opts     Options
	clientID string // the portal's licence code, shared mode
	hostID   string // JWT iss

	now          func() time.Time
	rpcPingEvery time.Duration
	wsPingEvery  time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	hub   *hub
	stats counters

	portalSrv *http.Server
	portalURL string

	// pushMu guards the push listener's life cycle and closed.
	pushMu      sync.Mutex
	pushAddr    string // resolved host:port, kept across restarts
	pushURL     string
	pushSrv     *http.Server
	pushDown    bool
	pushGen     int
	pushHandler http.Handler
	closed      bool

	// mu guards the portal state in portal.go.
	mu     sync.Mutex
	portal portalState

	// frames is what the portal pages of portal_frame.go keep; it has its own lock.
	frames frameState

	// connMu guards the connections.
	connMu   sync.Mutex
	conns    map[*wsConn]struct{}
	polls    map[*longPoll]struct{}
	online   map[int]int
	lastSeen map[int]time.Time
	// watchers holds, per user, the JSON-RPC connections watching its status (presence.go).
	watchers map[int]map[*wsConn]struct{}

	dupRemaining atomic.Int64
	delay        atomic.Int64 // nanoseconds
}

// tuning holds what tests may change before the listeners open.
type tuning struct {
	now          func() time.Time
	start        time.Time // server:startdate; now() when zero
	lastSeq      uint64    // the message counter's value before the first publish
	rpcPingEvery time.Duration
	wsPingEvery  time.Duration
}

// Start opens the portal and push listeners and returns the running stand-in. It fails on a bad
// option, a non-loopback address or a port it cannot bind.
func Start(opts Options) (*Server, error) {
	return start(opts, tuning{})
}

func start(opts Options, t tuning) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.start.IsZero() {
		t.start = t.now()
	}
	if t.rpcPingEvery <= 0 {
		t.rpcPingEvery = rpcPingPeriod
	}
	if t.wsPingEvery <= 0 {
		t.wsPingEvery = wsPingPeriod
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:         opts,
		clientID:     "standin" + randomHex(12),
		hostID:       randomHex(16),
		now:          t.now,
		rpcPingEvery: t.rpcPingEvery,
		wsPingEvery:  t.wsPingEvery,
		ctx:          ctx,
		cancel:       cancel,
		hub:          newHub(t.start.Unix(), t.lastSeq, opts.Trace),
		conns:        map[*wsConn]struct{}{},
		polls:        map[*longPoll]struct{}{},
		online:       map[int]int{},
		lastSeen:     map[int]time.Time{},
		watchers:     map[int]map[*wsConn]struct{}{},
	}
	s.portal.init(t.start)

	portalLn, err := net.Listen("tcp", opts.PortalAddr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to listen for the portal: %w", err)
	}
	pushLn, err := net.Listen("tcp", opts.PushAddr)
	if err != nil {
		cancel()
		_ = portalLn.Close()
		return nil, fmt.Errorf("failed to listen for the push server: %w", err)
	}
	s.portalURL = "http://" + portalLn.Addr().String()
	s.pushAddr = pushLn.Addr().String()
	s.pushURL = "http://" + s.pushAddr
	s.pushHandler = s.pushRoutes()
	s.portalSrv = newHTTPServer(s.portalRoutes())
	s.serve(s.portalSrv, portalLn)
	s.pushMu.Lock()
	s.servePushLocked(pushLn)
	s.pushMu.Unlock()
	s.logf("standin: version %d %s, portal %s, push %s", opts.Version, opts.Mode, s.portalURL, s.pushURL)
	return s, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
}

// servePushLocked starts a push HTTP server generation on ln. pushMu is held.
func (s *Server) servePushLocked(ln net.Listener) {
	s.pushSrv = newHTTPServer(s.pushHandler)
	s.pushDown = false
	s.pushGen++
	s.serve(s.pushSrv, ln)
}

// PortalURL returns the portal's base URL, http://127.0.0.1:<port>; REST is at /rest/<method>.json.
func (s *Server) PortalURL() string { return s.portalURL }

// PushURL returns the push server's base URL, http://127.0.0.1:<port>, with /bitrix/subws/,
// /bitrix/sub/, /bitrix/pub/ and /bitrix/rest/. It stays the same across Restart.
func (s *Server) PushURL() string { return s.pushURL }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	s.pushMu.Lock()
	st.PushDown = s.pushDown && !s.closed
	s.pushMu.Unlock()
	return st
}

// Close stops both listeners, closes every connection without a close frame, and returns once every
// goroutine of the stand-in has ended. Calling it again does nothing.
func (s *Server) Close() error {
	s.pushMu.Lock()
	if s.closed {
		s.pushMu.Unlock()
		return nil
	}
	s.closed = true
	pushSrv := s.pushSrv
	s.pushSrv = nil
	s.pushDown = true
	s.pushMu.Unlock()

	s.cancel()
	err := s.portalSrv.Close()
	if pushSrv != nil {
		if perr := pushSrv.Close(); err == nil {
			err = perr
		}
	}
	s.dropAll()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("failed to close the stand-in: %w", err)
	}
	return nil
}

// enter registers a long-lived handler with Close; false once the stand-in is closing.
func (s *Server) enter() bool {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) leave() { s.wg.Done() }

// logf logs through Options.Logf when set. Callers never pass secrets.
func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// sleep waits d or until the stand-in closes; false when it closed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// listenTCP opens a TCP listener on addr.
func listenTCP(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

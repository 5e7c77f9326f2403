//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/standin"
)

// relUser is the user whose app token the reliability page calls REST with.
const relUser = 7

// relTiming shortens the protocol's delays (minutes and tens of seconds) so that a soak meets
// hundreds of recoveries: every value keeps the order of the defaults it replaces.
var relTiming = map[string]any{
	"backoff":                []int{50, 200, 400, 800, 1000},
	"restartDelay":           []int{100, 500},
	"wrongChannelDelay":      []int{100, 400},
	"renewJitter":            []int{10, 100},
	"renewRetry":             []int{100, 300, 600},
	"channelExpireReconnect": 50,
	"offlineDebounce":        300,
	"longPollOpen":           500,
	"startTimeout":           15000,
	"safetyTick":             1000,
}

// relSite serves the reliability page (e2e/web/pages) and the built browser package (js/) from the
// stand-in's portal listener, so that REST needs no CORS. With csp set, pages carry a strict Content
// Security Policy: scripts from the origin only, wasm compilation allowed, no eval, no inline code.
type relSite struct {
	testSite
	csp atomic.Pointer[string]
}

func newRelSite(t *testing.T) *relSite { return &relSite{testSite: newTestSite(t)} }

func (s *relSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if csp := s.csp.Load(); csp != nil {
		w.Header().Set("Content-Security-Policy", *csp)
	}
	if !s.serve(w, r) {
		http.NotFound(w, r)
	}
}

// relOptions choose the stand-in and the client of one run.
type relOptions struct {
	standin standin.Options // Handler and Logf are set by relStart
	// csp, when set, is the page's Content-Security-Policy; "%PUSH%" stands for the push server's
	// host:port.
	csp string
	// client options of soak.create besides the token: timing (merged over relTiming), debug, secure,
	// disableWebSocket.
	client map[string]any
	// network keeps the CDP Network domain on (off by default: it doubles websocket costs).
	network bool
}

// relRun is one stand-in and one tab of the reliability page.
type relRun struct {
	ctx   context.Context
	srv   *standin.Server
	page  *browser.Page
	token string

	logMu sync.Mutex
	logs  []string // the stand-in's log lines
}

// relStart starts a stand-in serving the page, opens the page in b and creates the client (not
// started). The tab and the stand-in close with the test; the page's console is printed when it fails.
func relStart(t *testing.T, b *browser.Browser, opts relOptions) *relRun {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	site := newRelSite(t)
	r := &relRun{ctx: ctx}
	so := opts.standin
	so.Handler = site
	so.Logf = func(format string, args ...any) {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		if len(r.logs) < 100000 {
			r.logs = append(r.logs, fmt.Sprintf(format, args...))
		}
	}
	srv, err := standin.Start(so)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	r.srv = srv
	if opts.csp != "" {
		csp := strings.ReplaceAll(opts.csp, "%PUSH%", strings.TrimPrefix(srv.PushURL(), "http://"))
		site.csp.Store(&csp)
	}
	r.token = srv.NewToken(relUser, false)

	openCtx, openCancel := context.WithTimeout(ctx, 30*time.Second)
	defer openCancel()
	page, err := b.NewPage(openCtx, srv.PortalURL()+webdeps.PagesPrefix+"soak.html")
	require.NoError(t, err)
	r.page = page
	t.Cleanup(page.Close)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("B24PULL_E2E_CONSOLE") != "" {
			lines := r.consoleLines(t)
			if len(lines) > 200 && os.Getenv("B24PULL_E2E_CONSOLE") == "" {
				lines = lines[len(lines)-200:]
			}
			t.Logf("page console (last %d lines):\n  %s", len(lines), strings.Join(lines, "\n  "))
			t.Logf("stand-in stats: %+v", srv.Stats())
		}
	})
	require.NoError(t, page.WaitFor(ctx, `window.soakReady === true || window.soakError !== undefined`, 30*time.Second))
	var loadErr string
	require.NoError(t, page.Eval(ctx, `window.soakError || ''`, &loadErr))
	require.Empty(t, loadErr, "the page failed to load the module")

	timing := map[string]any{}
	for k, v := range relTiming {
		timing[k] = v
	}
	args := map[string]any{"token": r.token}
	for k, v := range opts.client {
		if k == "timing" {
			for tk, tv := range v.(map[string]any) {
				timing[tk] = tv
			}
			continue
		}
		args[k] = v
	}
	args["timing"] = timing
	r.eval(t, `soak.create(`+relJSON(t, args)+`)`, nil)
	return r
}

// relBrowser launches a browser for one test.
func relBrowser(t *testing.T, network bool) *browser.Browser {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{NetworkDomainOff: !network})
	require.NoError(t, err)
	return b
}

func relJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// eval evaluates expr in the page with a bound of 2 minutes.
func (r *relRun) eval(t *testing.T, expr string, out any) {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, r.page.Eval(ctx, expr, out), "evaluating %s", expr)
}

// relResult is what soak.start() and soak.getConfig() answer.
type relResult struct {
	OK          bool   `json:"ok"`
	IsError     bool   `json:"isError"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Message     string `json:"message"`
	Status      int    `json:"status"`
}

// start starts the client and waits until the push server counts its subscription: a first
// connection has no mid to resume from, so what is published before that reaches nobody.
func (r *relRun) start(t *testing.T) {
	var res relResult
	r.eval(t, `soak.start()`, &res)
	require.True(t, res.OK, "start() failed: %+v", res)
	r.waitSubscribed(t)
}

func (r *relRun) waitSubscribed(t *testing.T) {
	require.Eventually(t, func() bool {
		st := r.srv.Stats()
		return st.ConnectionsOpen+st.LongPollsPending > 0
	}, 10*time.Second, 10*time.Millisecond, "the client's subscription never reached the push server")
}

func (r *relRun) consoleLines(t *testing.T) []string {
	var lines []string
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	if err := r.page.Eval(ctx, `soak.consoleLines()`, &lines); err != nil {
		return append(r.page.Console(), "(soak.consoleLines failed: "+err.Error()+")")
	}
	return lines
}

func (r *relRun) standinLogs() []string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return slices.Clone(r.logs)
}

// relProbe is soak.probe(): what a leak would grow.
type relProbe struct {
	ClientGoroutines  int64 `json:"clientGoroutines"`
	JSFuncs           int64 `json:"jsFuncs"`
	RuntimeGoroutines int64 `json:"runtimeGoroutines"`
	RuntimeJSFuncs    int64 `json:"runtimeJSFuncs"`
	ClientTimers      int   `json:"clientTimers"`
	Timers            int   `json:"timers"`
	Listeners         int   `json:"listeners"`
	WasmMemory        int64 `json:"wasmMemory"`
	HeapLive          int64 `json:"heapLive"` // Go heap found live by the last collection
	GCCycles          int64 `json:"gcCycles"`
	Sockets           int   `json:"sockets"`
}

func (r *relRun) probe(t *testing.T) relProbe {
	var p relProbe
	r.eval(t, `soak.probe()`, &p)
	return p
}

func (r *relRun) stats(t *testing.T) pageStats {
	var s pageStats
	r.eval(t, `soak.stats()`, &s)
	return s
}

//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
)

const (
	// modUser is the non-admin user the page's session belongs to.
	modUser = 7
	// modModule and modCommand are what the page's subscribers listen to (module.js); modOther is a
	// command only the module subscriber receives.
	modModule  = "application"
	modCommand = "e2e_cmd"
	modOther   = "e2e_other"

	modLive     = 10 * time.Second // an event live, or after a recovery the shortened timings make quick
	modStartMax = 20 * time.Second // start(): the page's startTimeout is 15 s
	modTeardown = 5 * time.Second  // goroutines and funcs returning to the baseline after destroy
)

// moduleSite is the Handler of one stand-in's portal listener: the test pages under /pages/, the
// built browser package under /b24pull/, the BX24 stand-in of the demo at /demo/bx24-local.js, and
// the session it loads at /module/session?kind=user|webhook.
type moduleSite struct {
	testSite
	srv atomic.Pointer[standin.Server]

	mu     sync.Mutex
	tokens []string // every access token the session handed out
}

func newModuleSite(t *testing.T) *moduleSite {
	site := newTestSite(t)
	_, err := os.Stat(filepath.Join(site.root, "demo", "web", "bx24-local.js"))
	require.NoError(t, err, "demo/web/bx24-local.js is missing")
	return &moduleSite{testSite: site}
}

func (s *moduleSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serve(w, r) {
		return
	}
	switch r.URL.Path {
	case "/demo/bx24-local.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, filepath.Join(s.root, "demo", "web", "bx24-local.js"))
	case "/module/session":
		s.serveSession(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveSession answers what bx24-local.js expects: {portal, token, user, admin}, with a fresh app
// token of modUser, or the stand-in's webhook token for kind=webhook.
func (s *moduleSite) serveSession(w http.ResponseWriter, r *http.Request) {
	srv := s.srv.Load()
	if srv == nil {
		http.Error(w, "the stand-in is starting", http.StatusServiceUnavailable)
		return
	}
	session := map[string]any{"portal": srv.PortalURL(), "user": modUser, "admin": false}
	if r.URL.Query().Get("kind") == "webhook" {
		session["token"], session["user"], session["admin"] = srv.WebhookToken(), 1, true
	} else {
		session["token"] = srv.NewToken(modUser, false)
	}
	s.mu.Lock()
	s.tokens = append(s.tokens, session["token"].(string))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(session)
}

func (s *moduleSite) issuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

// modOptions choose the stand-in and the page of one run.
type modOptions struct {
	standin standin.Options // Version and Handler are set by startModule
	webhook bool            // the page's BX24 authenticates with the webhook token
	// breakWebSocket makes the page replace the configs' websocket URLs with a path of the push
	// server that answers every handshake with 404.
	breakWebSocket bool
	// client options of module.js's mt.create: disableWebSocket, timing overrides, prefetchConfig.
	client map[string]any
}

// modRun is one stand-in and one tab running the module against it.
type modRun struct {
	ctx     context.Context
	version int
	srv     *standin.Server
	site    *moduleSite
	page    *browser.Page
	next    int      // number of the next published event
	keys    []string // keys of every published event
	infos   []string // getDebugInfo() snapshots taken during the run
}

// pageStats is what getStats() returns: the client's counters and the bridge's.
type pageStats struct {
	client.Stats
	JSFuncs           int64 `json:"jsFuncs"`
	RuntimeGoroutines int64 `json:"runtimeGoroutines"`
}

// startModule starts a stand-in of version serving the page, opens the page and creates the client
// (not started). Cleanups close both and, when the test failed (or B24PULL_E2E_CONSOLE is set), print
// the page's console, which holds the module's debug log, and both sides' counters.
func startModule(t *testing.T, b *browser.Browser, version int, opts modOptions) *modRun {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	t.Cleanup(cancel)
	site := newModuleSite(t)
	so := opts.standin
	so.Version, so.Handler = version, site
	srv, err := standin.Start(so)
	require.NoError(t, err)
	site.srv.Store(srv)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	kind := "user"
	if opts.webhook {
		kind = "webhook"
	}
	page, err := b.NewPage(ctx, srv.PortalURL()+webdeps.PagesPrefix+"module.html?session="+kind)
	require.NoError(t, err)
	r := &modRun{ctx: ctx, version: version, srv: srv, site: site, page: page, next: 1}
	t.Cleanup(page.Close)
	t.Cleanup(func() { r.dump(t) })
	require.NoError(t, page.WaitFor(ctx, `window.mtReady === true || window.mtError !== undefined`, 30*time.Second))
	var loadErr string
	require.NoError(t, page.Eval(ctx, `window.mtError || ''`, &loadErr))
	require.Empty(t, loadErr, "the page failed to load the module")

	client := map[string]any{}
	for k, v := range opts.client {
		client[k] = v
	}
	if opts.breakWebSocket {
		client["breakWebSocket"] = "ws" + strings.TrimPrefix(srv.PushURL(), "http") + "/bitrix/nows/"
	}
	args, err := json.Marshal(client)
	require.NoError(t, err)
	require.NoError(t, page.Eval(ctx, `mt.create(`+string(args)+`)`, nil))
	return r
}

// dump prints the page's console and the counters when the test failed.
func (r *modRun) dump(t *testing.T) {
	if !t.Failed() && os.Getenv("B24PULL_E2E_CONSOLE") == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stats any
	var got struct {
		Counts map[string]int `json:"counts"`
	}
	_ = r.page.Eval(ctx, `(() => { try { return mt.stats(); } catch (e) { return String(e); } })()`, &stats)
	_ = r.page.Eval(ctx, `mt.counts()`, &got)
	// The console first: a CI log that keeps only the end of the output still shows the counts.
	t.Logf("v%d page console (the module's debug log):\n  %s", r.version, strings.Join(r.page.Console(), "\n  "))
	t.Logf("v%d server stats: %+v", r.version, r.srv.Stats())
	t.Logf("v%d client stats: %v", r.version, stats)
	lost, doubled := r.tally(got.Counts)
	t.Logf("v%d deliveries: %d published (%s … %s), never delivered %v, delivered more than once %v",
		r.version, len(r.keys), first(r.keys), last(r.keys), lost, doubled)
}

func first(keys []string) string {
	if len(keys) == 0 {
		return "-"
	}
	return keys[0]
}

func last(keys []string) string {
	if len(keys) == 0 {
		return "-"
	}
	return keys[len(keys)-1]
}

// start calls start() and requires it to resolve, then waits until the server has subscribed the
// connection: before the first message the client has no mid, and an event published before its
// subscription reaches nobody.
func (r *modRun) start(t *testing.T) {
	res := r.startResult(t)
	require.True(t, res.OK, "start() rejected: %+v", res)
	r.waitSubscribed(t)
}

// startOutcome is what mt.start() returns.
type startOutcome struct {
	OK          bool   `json:"ok"`
	IsError     bool   `json:"isError"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Message     string `json:"message"`
	Status      int    `json:"status"`
}

func (r *modRun) startResult(t *testing.T) startOutcome {
	ctx, cancel := context.WithTimeout(r.ctx, modStartMax)
	defer cancel()
	var res startOutcome
	require.NoError(t, r.page.Eval(ctx, `mt.start()`, &res))
	return res
}

func (r *modRun) waitSubscribed(t *testing.T) {
	require.NoError(t, r.until(modLive, func() bool {
		st := r.srv.Stats()
		return st.ConnectionsOpen+st.LongPollsPending > 0
	}), "the server never subscribed the client")
}

// waitFreshPoll waits for a long-polling GET that arrived just now and is held.
func (r *modRun) waitFreshPoll(t *testing.T) {
	polls := r.srv.Stats().LongPolls
	require.NoError(t, r.until(modLive, func() bool {
		st := r.srv.Stats()
		return st.LongPolls > polls && st.LongPollsPending > 0
	}), "no long-polling GET arrived")
}

// until polls cond every 20 ms for at most timeout.
func (r *modRun) until(timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %v: %w", timeout, ctx.Err())
		}
	}
	return nil
}

// key numbers the next event.
func (r *modRun) key() string {
	k := fmt.Sprintf("e%d", r.next)
	r.next++
	r.keys = append(r.keys, k)
	return k
}

// publish sends an event from the backend side (Server.Publish, as pull.application.event.add does
// for an administrator): to the page's user when toUser, else to the app's shared channel.
func (r *modRun) publish(t *testing.T, toUser bool) string {
	k := r.key()
	var users []int
	if toUser {
		users = []int{modUser}
	}
	require.NoError(t, r.srv.Publish(users, modModule, "e2e_evt", json.RawMessage(fmt.Sprintf(`{"k":%q}`, k))))
	return k
}

// publishPage sends an event with pull.application.event.add through the page's BX24.callMethod.
func (r *modRun) publishPage(t *testing.T, toUser bool, command string) string {
	k := r.key()
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`mt.publish(%t, %q, {k: %q, to_user: %t})`, toUser, command, k, toUser), &res))
	require.True(t, res.OK, "pull.application.event.add through BX24: %s", res.Error)
	return k
}

// waitKeys waits until every event of keys was delivered.
func (r *modRun) waitKeys(t *testing.T, timeout time.Duration, keys ...string) {
	list, err := json.Marshal(keys)
	require.NoError(t, err)
	require.NoError(t, r.page.WaitFor(r.ctx, `mt.has(`+string(list)+`)`, timeout), "events %v were not delivered", keys)
}

// assertExactlyOnce checks that every published event arrived exactly once and nothing else did.
func (r *modRun) assertExactlyOnce(t *testing.T) {
	var got struct {
		Counts  map[string]int `json:"counts"`
		Unkeyed int            `json:"unkeyed"`
	}
	require.NoError(t, r.page.Eval(r.ctx, `mt.counts()`, &got))
	lost, doubled := r.tally(got.Counts)
	assert.Empty(t, lost, "events never delivered (of %d)", len(r.keys))
	assert.Empty(t, doubled, "events delivered more than once")
	for k := range got.Counts {
		assert.Contains(t, r.keys, k, "an event that was never published was delivered")
	}
	assert.Zero(t, got.Unkeyed, "events of module %s without a key were delivered", modModule)
}

// tally splits the published keys into those never delivered and those delivered more than once.
func (r *modRun) tally(counts map[string]int) (lost, doubled []string) {
	for _, k := range r.keys {
		switch n := counts[k]; {
		case n == 0:
			lost = append(lost, k)
		case n > 1:
			doubled = append(doubled, fmt.Sprintf("%s×%d", k, n))
		}
	}
	return lost, doubled
}

func (r *modRun) stats(t *testing.T) pageStats {
	var s pageStats
	require.NoError(t, r.page.Eval(r.ctx, `mt.stats()`, &s))
	return s
}

func (r *modRun) statuses(t *testing.T) []string {
	var s []string
	require.NoError(t, r.page.Eval(r.ctx, `mt.statuses()`, &s))
	return s
}

// waitOnline waits for getStatus() to say online.
func (r *modRun) waitOnline(t *testing.T, timeout time.Duration) {
	require.NoError(t, r.page.WaitFor(r.ctx, `mt.status() === 'online'`, timeout), "the client did not come back online")
}

// waitStat waits until a getStats() expression holds, e.g. `s.renewals > 3`.
func (r *modRun) waitStat(t *testing.T, timeout time.Duration, cond string) {
	require.NoError(t, r.page.WaitFor(r.ctx, `(s => `+cond+`)(mt.stats())`, timeout), "waiting for %s", cond)
}

// snapshot keeps a getDebugInfo() snapshot for the secrets check.
func (r *modRun) snapshot(t *testing.T) {
	var info string
	require.NoError(t, r.page.Eval(r.ctx, `mt.debugInfo()`, &info))
	r.infos = append(r.infos, info)
}

// finishOutcome is what mt.finish() returns.
type finishOutcome struct {
	DebugInfo string `json:"debugInfo"`
	Stopped   *struct {
		Goroutines int64  `json:"goroutines"`
		Status     string `json:"status"`
	} `json:"stopped"`
	Destroyed struct {
		Goroutines int64  `json:"goroutines"`
		Status     string `json:"status"`
		JSFuncs    int64  `json:"jsFuncs"`
	} `json:"destroyed"`
	StartAfterDestroy string `json:"startAfterDestroy"`
}

type runtimeStats struct {
	JSFuncs    int64 `json:"jsFuncs"`
	Goroutines int64 `json:"goroutines"`
}

// finish ends the client (stop() first when stopFirst, then destroy()) and checks what every run
// must leave: no goroutine of the client, the module's js.Funcs and goroutines back to the baseline
// taken before any client existed, no page exception, and no secret of any config, nor any access
// token, in the page's console or in getDebugInfo().
func (r *modRun) finish(t *testing.T, stopFirst bool) {
	var out finishOutcome
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`mt.finish(%t)`, stopFirst), &out))
	if stopFirst {
		require.NotNil(t, out.Stopped)
		assert.Zero(t, out.Stopped.Goroutines, "goroutines of the client after stop()")
		assert.Equal(t, "offline", out.Stopped.Status)
	}
	assert.Zero(t, out.Destroyed.Goroutines, "getStats().goroutines after destroy()")
	assert.Equal(t, "offline", out.Destroyed.Status)
	assert.Equal(t, "DESTROYED", out.StartAfterDestroy, "start() after destroy()")

	var base runtimeStats
	require.NoError(t, r.page.Eval(r.ctx, `mt.baseline()`, &base))
	err := r.page.WaitFor(r.ctx, fmt.Sprintf(`(s => s.jsFuncs === %d && s.goroutines <= %d)(mt.runtime())`,
		base.JSFuncs, base.Goroutines), modTeardown)
	var now runtimeStats
	require.NoError(t, r.page.Eval(r.ctx, `mt.runtime()`, &now))
	assert.NoError(t, err, "the module did not return to its baseline after destroy(): baseline %+v, now %+v "+
		"(jsFuncs right after destroy() resolved: %d)", base, now, out.Destroyed.JSFuncs)

	r.checkSecrets(t, append(r.infos, out.DebugInfo)...)
	assert.Empty(t, r.page.Exceptions(), "uncaught exceptions on the page")
	// What Go's syscall/js prints when JavaScript calls a released js.Func or the program ended.
	for _, line := range r.page.Console() {
		for _, bad := range []string{"call to released function", "Go program has already exited", "internal error"} {
			assert.NotContains(t, line, bad,
				"the page's console (a late JavaScript callback reached a js.Func that destroy() released?)")
		}
	}
}

// checkSecrets looks for every secret of every config the page received (channel ids, public ids,
// signatures, the JWT and its parts) and every access token the session handed out in the page's
// console (as the page wrote it, and as captured by the browser) and in the debug infos.
func (r *modRun) checkSecrets(t *testing.T, infos ...string) {
	var configs, raw []string
	require.NoError(t, r.page.Eval(r.ctx, `mt.configs()`, &configs))
	require.NoError(t, r.page.Eval(r.ctx, `mt.rawConsole()`, &raw))
	secrets := map[string]string{}
	for _, tok := range r.site.issuedTokens() {
		secrets[tok] = "access token"
	}
	for _, c := range configs {
		cfg, err := protocol.ParseConfig([]byte(c), time.Now())
		if !assert.NoError(t, err, "a config the page received does not parse") {
			continue
		}
		for _, s := range cfg.Secrets() {
			secrets[s] = "config secret"
		}
	}
	haystacks := map[string][]string{
		"page console (raw)":     raw,
		"page console (browser)": r.page.Console(),
		"getDebugInfo()":         infos,
	}
	for where, lines := range haystacks {
		for i, line := range lines {
			for s, kind := range secrets {
				if strings.Contains(line, s) {
					assert.Failf(t, "a secret leaked", "%s line %d holds a %s: %s", where, i, kind,
						strings.ReplaceAll(line, s, "<secret>"))
				}
			}
		}
	}
	if len(configs) == 0 && !r.srvRefusesConfig() {
		assert.Fail(t, "the page recorded no config: the secrets check checked nothing")
	}
}

// srvRefusesConfig tells whether this run's portal answered no config (start rejected).
func (r *modRun) srvRefusesConfig() bool {
	return r.srv.Stats().RESTErrors > 0 && r.srv.Stats().RESTCalls == r.srv.Stats().RESTErrors
}

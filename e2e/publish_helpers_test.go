//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
)

const (
	// pubSender publishes, pubReceiver receives, pubBystander listens and must receive nothing: three
	// users of the same app on one stand-in, one tab each.
	pubSender    = 7
	pubReceiver  = 9
	pubBystander = 11
	// pubModule is the module id of every client message of the publishing tests (publish.js).
	pubModule = "e2e_pub"
	// pubSendTimeout is the tabs' sendTimeout: long enough for a publish made during a fault to wait
	// for the reconnect rather than reject.
	pubSendTimeout = 15 * time.Second
	// pubSettle bounds the wait for every call of a burst to settle: the longest a call may wait for a
	// connection plus the 5 s answer bound, with a margin.
	pubSettle = pubSendTimeout + 10*time.Second
	// pubOutage is how long the push server is down while the sender publishes. With pubBackoff the
	// clients make at most three failed dials in that time: a fourth would make them fall back to
	// long polling (session: wsFailuresBeforeLongPolling), which cannot carry client publishing.
	pubOutage = 600 * time.Millisecond
	// pubQuiet is how long the test keeps watching after the last expected delivery, for duplicates and
	// strays.
	pubQuiet = 500 * time.Millisecond
)

// pubBackoff is the tabs' reconnect delays (module.js's, 50, 200, 400 ms…, would fall back to long
// polling within a second of outage).
var pubBackoff = []int{50, 400, 800, 800, 1000}

// pubSite is a moduleSite whose session also belongs to any user named in its query,
// /module/session?kind=user&user=N, so that each tab of one stand-in is another user of the app
// (publish.html asks for the user of its own query). The tokens go to the site's list, which the
// secrets check of every tab reads.
type pubSite struct{ *moduleSite }

func (s pubSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/module/session" || r.URL.Query().Get("user") == "" {
		s.moduleSite.ServeHTTP(w, r)
		return
	}
	srv := s.srv.Load()
	user, err := strconv.Atoi(r.URL.Query().Get("user"))
	switch {
	case err != nil || user <= 0:
		http.Error(w, "user must be a positive id", http.StatusBadRequest)
		return
	case srv == nil:
		http.Error(w, "the stand-in is starting", http.StatusServiceUnavailable)
		return
	}
	token := srv.NewToken(user, false)
	s.mu.Lock()
	s.tokens = append(s.tokens, token)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"portal": srv.PortalURL(), "token": token, "user": user, "admin": false})
}

// pubStand is one stand-in and the tabs open on it, each a modRun of its own (so that modRun's
// waits and teardown checks apply to each).
type pubStand struct {
	ctx     context.Context
	b       *browser.Browser
	version int
	srv     *standin.Server
	site    *moduleSite
	tabs    []*modRun

	finished map[*modRun]bool

	mu     sync.Mutex
	stored map[string][]int // the n of each client message of pubModule, by command, in the push server's order
}

// startPubStand starts a stand-in of version whose portal serves the test pages and per-user
// sessions. Its context bounds the whole scenario.
func startPubStand(t *testing.T, b *browser.Browser, version int, opts standin.Options) *pubStand {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	site := newModuleSite(t)
	s := &pubStand{ctx: ctx, b: b, version: version, site: site, finished: map[*modRun]bool{}, stored: map[string][]int{}}
	opts.Version, opts.Handler, opts.Trace = version, pubSite{site}, s.trace
	srv, err := standin.Start(opts)
	require.NoError(t, err)
	s.srv = srv
	site.srv.Store(srv)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return s
}

// trace is the stand-in's Trace: it keeps the order in which the push server took the client
// messages of pubModule (their bodies only: the keys are secrets), so that a delivery out of order
// can be told from a sender that wrote out of order.
func (s *pubStand) trace(what string, _ []string, _ string, body []byte) {
	if what != "publish" {
		return
	}
	var m struct {
		Module  string `json:"module_id"`
		Command string `json:"command"`
		Params  struct {
			N int `json:"n"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &m) != nil || m.Module != pubModule {
		return
	}
	s.mu.Lock()
	s.stored[m.Command] = append(s.stored[m.Command], m.Params.N)
	s.mu.Unlock()
}

// storedOrder returns the n of command's messages in the order the push server took them.
func (s *pubStand) storedOrder(command string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stored[command])
}

// open opens publish.html as user, creates the client (not started) with sendTimeout pubSendTimeout,
// pubBackoff and the given client options of mt.create (which replace those), and subscribes pt's
// listeners.
func (s *pubStand) open(t *testing.T, user int, client map[string]any) *modRun {
	page, err := s.b.NewPage(s.ctx, fmt.Sprintf("%s%spublish.html?user=%d", s.srv.PortalURL(), webdeps.PagesPrefix, user))
	require.NoError(t, err)
	r := &modRun{ctx: s.ctx, version: s.version, srv: s.srv, site: s.site, page: page, next: 1}
	t.Cleanup(page.Close)
	t.Cleanup(func() { r.dump(t) })
	require.NoError(t, page.WaitFor(s.ctx, `(window.mtReady === true && window.pt !== undefined) || window.mtError !== undefined`, 30*time.Second))
	var loadErr string
	require.NoError(t, page.Eval(s.ctx, `window.mtError || ''`, &loadErr))
	require.Empty(t, loadErr, "the page failed to load the module")

	opts := map[string]any{"sendTimeout": pubSendTimeout.Milliseconds(), "timing": map[string]any{"backoff": pubBackoff}}
	for k, v := range client {
		opts[k] = v
	}
	args, err := json.Marshal(opts)
	require.NoError(t, err)
	require.NoError(t, page.Eval(s.ctx, `mt.create(`+string(args)+`)`, nil))
	require.NoError(t, page.Eval(s.ctx, `pt.listen()`, nil))
	s.tabs = append(s.tabs, r)
	return r
}

// startAll starts the tabs' clients and waits until the push server has subscribed one websocket
// per tab: a message published before its receiver's subscription reaches nobody.
func (s *pubStand) startAll(t *testing.T, tabs ...*modRun) {
	want := s.srv.Stats().ConnectionsOpen + int64(len(tabs))
	for _, r := range tabs {
		res := r.startResult(t)
		require.True(t, res.OK, "start() rejected: %+v", res)
	}
	require.NoError(t, tabs[0].until(modLive, func() bool { return s.srv.Stats().ConnectionsOpen >= want }),
		"the server did not subscribe every tab")
}

// waitAllOnline waits until every tab's client says online and the push server holds a websocket
// for each.
func (s *pubStand) waitAllOnline(t *testing.T, tabs ...*modRun) {
	for _, r := range tabs {
		r.waitOnline(t, modLive)
	}
	require.NoError(t, tabs[0].until(modLive, func() bool { return s.srv.Stats().ConnectionsOpen >= int64(len(tabs)) }),
		"the server does not hold a websocket for every tab")
}

// finish ends one tab with modRun.finish: stop, destroy, no leftover goroutine or js.Func, no page
// exception, no secret of the tab's own configs in its console.
func (s *pubStand) finish(t *testing.T, r *modRun) {
	if !s.finished[r] {
		s.finished[r] = true
		r.finish(t, true)
	}
}

// finishAll ends every tab not ended yet (finish), then looks for the secrets of every tab's
// configs, and the public channels the pages were handed, in the console of every tab: a tab that
// received another's messages or channels must not print them either.
func (s *pubStand) finishAll(t *testing.T) {
	for _, r := range s.tabs {
		s.finish(t, r)
	}
	secrets := map[string]string{}
	for _, tok := range s.site.issuedTokens() {
		secrets[tok] = "access token"
	}
	for _, r := range s.tabs {
		var configs, held []string
		require.NoError(t, r.page.Eval(s.ctx, `mt.configs()`, &configs))
		require.NoError(t, r.page.Eval(s.ctx, `pt.heldChannels()`, &held))
		for _, c := range configs {
			cfg, err := protocol.ParseConfig([]byte(c), time.Now())
			if !assert.NoError(t, err, "a config the page received does not parse") {
				continue
			}
			for _, sec := range cfg.Secrets() {
				secrets[sec] = "config secret"
			}
		}
		for _, ch := range held {
			secrets[ch] = "public channel"
			for _, part := range strings.Split(ch, ".") {
				if len(part) >= 16 {
					secrets[part] = "public channel part"
				}
			}
		}
	}
	for i, r := range s.tabs {
		var raw []string
		require.NoError(t, r.page.Eval(s.ctx, `mt.rawConsole()`, &raw))
		for where, lines := range map[string][]string{"console (raw)": raw, "console (browser)": r.page.Console(), "getDebugInfo()": r.infos} {
			for j, line := range lines {
				for sec, kind := range secrets {
					if strings.Contains(line, sec) {
						assert.Failf(t, "a secret leaked", "tab %d %s line %d holds a %s: %s", i, where, j, kind,
							strings.ReplaceAll(line, sec, "<secret>"))
					}
				}
			}
		}
	}
}

// pubOutcome is how one call settled (publish.js: burst outcomes and pt.outcome).
type pubOutcome struct {
	N           int             `json:"n"`
	MS          int             `json:"ms"`
	Settled     string          `json:"settled"` // resolved, rejected, threw, returned
	Value       string          `json:"value"`   // what it resolved with: undefined, object, …
	Result      json.RawMessage `json:"result"`
	IsError     bool            `json:"isError"`
	Code        string          `json:"code"`
	Description string          `json:"description"`
}

// pubReceived is what pt.received() reports of a tab's `client` messages of pubModule.
type pubReceived struct {
	ByCommand    map[string][]int `json:"byCommand"`
	SenderTypes  []float64        `json:"senderTypes"`
	SenderIDs    []string         `json:"senderIDs"` // public ids in version 4: compared, never printed
	BadInfo      int              `json:"badInfo"`
	AsServer     int              `json:"asServer"`
	CommandCalls []struct {
		Argc     int    `json:"argc"`
		Command  string `json:"command"`
		N        int    `json:"n"`
		InfoType string `json:"infoType"`
	} `json:"commandCalls"`
}

func received(t *testing.T, r *modRun) pubReceived {
	var got pubReceived
	require.NoError(t, r.page.Eval(r.ctx, `pt.received()`, &got))
	return got
}

// pubBurst is the spec of pt.burst: Users for sendMessage, else Channel (the name of a channel the
// page holds) for sendMessageToChannels.
type pubBurst struct {
	Users   []int  `json:"users,omitempty"`
	Channel string `json:"channel,omitempty"`
	Command string `json:"command"`
	Count   int    `json:"count"`
	Spacing int    `json:"spacing"` // ms
	Expiry  int    `json:"expiry"`
}

func startBurst(t *testing.T, r *modRun, tag string, spec pubBurst) {
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`pt.burst(%q, %s)`, tag, b), nil))
}

type burstProgress struct {
	Sent    int `json:"sent"`
	Settled int `json:"settled"`
}

func progress(t *testing.T, r *modRun, tag string) burstProgress {
	var p burstProgress
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`pt.progress(%q)`, tag), &p))
	return p
}

// waitSent waits until at least n calls of the burst were made.
func waitSent(t *testing.T, r *modRun, tag string, n int) {
	require.NoError(t, r.page.WaitFor(r.ctx, fmt.Sprintf(`pt.progress(%q).sent >= %d`, tag, n), modLive),
		"burst %s did not reach %d calls", tag, n)
}

// waitSettled waits until all count calls of the burst settled and returns their outcomes, by n.
func waitSettled(t *testing.T, r *modRun, tag string, count int) []pubOutcome {
	require.NoError(t, r.page.WaitFor(r.ctx, fmt.Sprintf(`pt.progress(%q).settled >= %d`, tag, count), pubSettle),
		"the calls of burst %s did not all settle", tag)
	var out []pubOutcome
	require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`pt.outcomes(%q)`, tag), &out))
	require.Len(t, out, count)
	return out
}

// waitDelivered waits until the tab received every n of ns for command.
func waitDelivered(t *testing.T, r *modRun, command string, ns []int, timeout time.Duration) {
	list, err := json.Marshal(ns)
	require.NoError(t, err)
	expr := fmt.Sprintf(`((want, got) => want.every((n) => got.includes(n)))(%s, pt.received().byCommand[%q] || [])`, list, command)
	require.NoError(t, r.page.WaitFor(r.ctx, expr, timeout), "%s: not every resolved message arrived", command)
}

// evalOutcome runs pt.outcome with the JavaScript function fn (of the client).
func evalOutcome(t *testing.T, r *modRun, fn string) pubOutcome {
	var out pubOutcome
	require.NoError(t, r.page.Eval(r.ctx, `pt.outcome(`+fn+`)`, &out))
	return out
}

// publishTally is what one burst came to.
type publishTally struct {
	Sent, Resolved, Delivered int
	Rejected                  map[string]int // by code
	SlowestMS                 int
}

func (p publishTally) String() string {
	codes := make([]string, 0, len(p.Rejected))
	for c, n := range p.Rejected {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(codes)
	return fmt.Sprintf("sent %d, resolved %d, rejected %d %v, delivered %d, slowest call %d ms",
		p.Sent, p.Resolved, p.Sent-p.Resolved, codes, p.Delivered, p.SlowestMS)
}

// mayHaveArrived are the rejections after which the message may or may not have been delivered
// (the connection died, or the acknowledgement did not come, after it was written).
var mayHaveArrived = []string{"CONNECTION_LOST", "TIMEOUT"}

// neverSent are the rejections of a message that was never written.
var neverSent = []string{"NOT_CONNECTED", "PUBLISHING_UNAVAILABLE"}

// checkBurst compares how the calls of a burst settled with what the receiver got for command
// (stored: what the push server took, in its order): every resolved call arrived exactly once; the
// sender wrote the messages in the order of the calls, the deliveries came in that order and each
// at most once; a call rejected with a code of neverSent never arrived; one of mayHaveArrived
// arrived at most once; no other outcome occurs (a synchronous throw, a resolution with the wrong
// value, another code); nothing arrived that was never published. wantValue is what a resolved
// call resolves with: "undefined" in version 4, "object" (the server's answer) in version 5.
func checkBurst(t *testing.T, label string, outcomes []pubOutcome, got, stored []int, wantValue string) publishTally {
	tally := publishTally{Sent: len(outcomes), Delivered: len(got), Rejected: map[string]int{}}
	count := map[int]int{}
	for _, n := range got {
		count[n]++
	}
	if !assert.True(t, slices.IsSorted(stored), "%s: the sender wrote the messages out of order: the push server took %v", label, stored) {
		// A call that stalls on its way to the client's queue can be overtaken by a later one.
		for _, o := range outcomes[:min(5, len(outcomes))] {
			t.Logf("%s: call %d settled after %d ms", label, o.N, o.MS)
		}
	}
	assert.True(t, slices.IsSorted(got), "%s: deliveries out of order: %v (the push server took %v)", label, got, stored)
	for n, c := range count {
		assert.Equal(t, 1, c, "%s: message %d arrived %d times", label, n, c)
		assert.True(t, n >= 1 && n <= len(outcomes), "%s: message %d was never published", label, n)
	}
	for _, o := range outcomes {
		tally.SlowestMS = max(tally.SlowestMS, o.MS)
		switch {
		case o.Settled == "resolved":
			tally.Resolved++
			assert.Equal(t, wantValue, o.Value, "%s: message %d resolved with", label, o.N)
			assert.Equal(t, 1, count[o.N], "%s: message %d resolved but arrived %d times", label, o.N, count[o.N])
		case o.Settled == "rejected" && o.IsError && slices.Contains(neverSent, o.Code):
			tally.Rejected[o.Code]++
			assert.Zero(t, count[o.N], "%s: message %d rejected with %s (never sent) but arrived", label, o.N, o.Code)
		case o.Settled == "rejected" && o.IsError && slices.Contains(mayHaveArrived, o.Code):
			tally.Rejected[o.Code]++
			assert.LessOrEqual(t, count[o.N], 1, "%s: message %d (%s) arrived more than once", label, o.N, o.Code)
		default:
			tally.Rejected[o.Code+"?"]++
			assert.Failf(t, "an undocumented outcome", "%s: message %d: %+v", label, o.N, o)
		}
	}
	return tally
}

// rejectedWith asserts that a call rejected with an Error of code (not a synchronous throw).
func rejectedWith(t *testing.T, code string, o pubOutcome, what string) {
	assert.Equal(t, "rejected", o.Settled, "%s: settled %s (%s %s)", what, o.Settled, o.Code, o.Description)
	assert.True(t, o.IsError, "%s: the rejection is not an Error", what)
	assert.Equal(t, code, o.Code, "%s: %s", what, o.Description)
	assert.NotEmpty(t, o.Description, "%s: no description", what)
}

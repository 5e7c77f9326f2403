//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
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
	diffUser  = 7 // the user both clients run as
	diffAdmin = 1 // the administrator who publishes with pull.application.event.add
	diffOther = 8 // a user whose status both clients follow (version 5)

	diffLive    = 10 * time.Second // a message live, or replayed after a reconnect of about a second
	diffRestart = 25 * time.Second // server_restart: the official client reconnects after 15 s
	// diffSettle is how long a stage waits after its last delivery before the next: long enough for
	// a second copy of a message to arrive, or a call that should not come.
	diffSettle = 500 * time.Millisecond
)

// diffTiming shortens b24pull's one delay that the official client does not have: the random
// 10–120 s wait after config_expire and server_restart (docs/protocol.md §11). Every other delay is
// the protocol's default, which matches the official client's where the stream below reaches it
// (the first reconnect after 0.5 s, channel_expire's reconnect after 1 s, offline reported after
// 5 s).
var diffTiming = map[string]any{"restartDelay": []int{200, 500}}

// TestDifferential runs the official client (@bitrix24/b24jssdk 2.2.0's PullClient, as a REST app)
// and b24pull side by side in one page, as the same user of one stand-in, subscribed identically
// (differential.js: whole-module and command subscriptions of types server and client, module ids
// in lower case and in others, handler objects with and without getMap and with
// getSubscriptionType 'client' and 'online', online subscriptions with and without a command,
// status, revision, and probes of the delivery rules). Both take one stream: portal events
// (pull.application.event.add as an administrator, and the stand-in's Publish for other modules),
// client messages (versions 4 and 5), online messages, and the system commands, with a dropped
// connection, a channel renewal, config_expire, the browser going offline and back, and
// server_restart in the middle. Versions 3, 4 and 5 run at once.
//
// Every callback call is recorded per client with a deep copy of its arguments; after normalising
// what differs by nature (normalise: server_time_ago, sender ids) the two logs must be equal
// (compareLogs: each subscription's calls message by message, the subscribers of each message and
// their order, the order of each channel's messages, the order of all messages), except where the
// ```differences block of docs/migrating.md lists a difference. The test checks both ways: every difference it records is listed, and every
// listed difference it can bring about in a version shows in that version.
func TestDifferential(t *testing.T) {
	browser.Require(t)
	webdeps.Require(t)
	list, err := loadDifferences()
	require.NoError(t, err)

	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	deps, err := webdeps.NewHandler()
	require.NoError(t, err)

	// Goroutines rather than t.Parallel, as in the other suites: most of a run is waiting.
	var wg sync.WaitGroup
	for _, version := range []int{3, 4, 5} {
		wg.Go(func() {
			t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { runDifferential(t, b, deps, version, list) })
		})
	}
	wg.Wait()
}

// diffRun is one version's stand-in and page.
type diffRun struct {
	ctx     context.Context
	version int
	srv     *standin.Server
	page    *browser.Page
	admin   string // the administrator's token, to publish with
	auth    string // the user's token, both clients' REST auth
	next    int    // params.n of the next message
}

func runDifferential(t *testing.T, b *browser.Browser, deps http.Handler, version int, list []listedDifference) {
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	began := time.Now()

	site := diffSite{testSite: newTestSite(t), deps: deps}
	srv, err := standin.Start(standin.Options{Version: version, Handler: site})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	page, err := b.NewPage(ctx, srv.PortalURL()+webdeps.PagesPrefix+"differential.html")
	require.NoError(t, err)
	t.Cleanup(page.Close)
	r := &diffRun{ctx: ctx, version: version, srv: srv, page: page,
		admin: srv.NewToken(diffAdmin, true), auth: srv.NewToken(diffUser, false), next: 1}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("B24PULL_E2E_CONSOLE") != "" {
			t.Logf("v%d console:\n  %s", version, strings.Join(page.Console(), "\n  "))
		}
	})
	require.NoError(t, page.WaitFor(ctx, `window.diffReady === true`, 30*time.Second), "the page did not load both clients")

	r.start(t)
	stages := []struct {
		name string
		run  func(*testing.T)
	}{
		{"live", r.stageLive},
		{"drop", r.stageDrop},
		{"renewal", r.stageRenewal},
		{"config_expire", r.stageConfigExpire},
		{"browser_offline", r.stageBrowserOffline},
		{"server_restart", r.stageServerRestart},
	}
	for _, s := range stages {
		if !t.Run(s.name, s.run) {
			return // later stages build on both clients being online
		}
	}
	r.pause(t, diffSettle)

	var logs diffLogs
	require.NoError(t, page.Eval(ctx, `window.diff.logs()`, &logs))
	for _, client := range []string{diffOfficial, diffB24pull} {
		require.NotEmpty(t, logs[client], "the %s client's log is empty", client)
		logs[client] = normalise(logs[client])
	}
	dumpLogs(t, version, logs)
	rep := compareLogs(version, logs, list)
	for _, line := range rep.Unexplained {
		assert.Fail(t, "a difference docs/migrating.md does not list", "v%d: %s", version, line)
	}
	for _, line := range rep.Problems {
		assert.Fail(t, "a listed difference does not hold as listed", "v%d: %s", version, line)
	}
	var observed, missing []string
	for _, d := range list {
		if !d.appliesTo(version) {
			continue
		}
		switch n := rep.Observed[d.ID]; {
		case n > 0:
			observed = append(observed, fmt.Sprintf("%s×%d", d.ID, n))
		case !d.Optional:
			missing = append(missing, d.ID)
		}
	}
	sort.Strings(observed)
	assert.Empty(t, missing, "v%d: differences docs/migrating.md lists for this version that did not show", version)
	t.Logf("v%d: %d calls of the official client, %d of b24pull; differences seen: %s",
		version, len(logs[diffOfficial]), len(logs[diffB24pull]), strings.Join(observed, ", "))

	r.checkSecrets(t)
	var finished map[string]confCall
	require.NoError(t, page.Eval(ctx, `window.diff.finish()`, &finished))
	for client, res := range finished {
		assert.True(t, res.OK, "%s destroy(): %+v", client, res.Error)
	}
	assert.Empty(t, page.Exceptions(), "uncaught exceptions on the page")
	t.Logf("v%d: the differential run took %v", version, time.Since(began).Round(100*time.Millisecond))
}

// dumpLogs writes the normalised logs to $B24PULL_DIFF_DUMP/differential-v<version>.json when that
// variable names a directory: the record to read when the list and the clients part ways.
func dumpLogs(t *testing.T, version int, logs diffLogs) {
	dir := os.Getenv("B24PULL_DIFF_DUMP")
	if dir == "" {
		return
	}
	data, err := json.MarshalIndent(logs, "", " ")
	require.NoError(t, err)
	path := filepath.Join(dir, fmt.Sprintf("differential-v%d.json", version))
	require.NoError(t, os.WriteFile(path, data, 0o644))
	t.Logf("v%d: the normalised logs are in %s", version, path)
}

// start creates, subscribes and starts both clients and waits until both are online.
func (r *diffRun) start(t *testing.T) {
	args, err := json.Marshal(map[string]any{"auth": r.auth, "userId": diffUser, "timing": diffTiming})
	require.NoError(t, err)
	var res map[string]confCall
	require.NoError(t, r.page.Eval(r.ctx, `window.diff.start(`+string(args)+`)`, &res))
	for _, client := range []string{diffOfficial, diffB24pull} {
		require.True(t, res[client].OK, "%s start(): %+v", client, res[client].Error)
	}
	r.waitOnline(t, diffLive)
	if r.version >= 5 {
		var watched []confCall
		require.NoError(t, r.page.Eval(r.ctx, fmt.Sprintf(`window.diff.watchStatus(%d)`, diffOther), &watched))
		for i, w := range watched {
			require.True(t, w.OK, "subscribeUserStatusChange of client %d: %+v", i, w.Error)
		}
	}
}

// stageLive: with both clients online, every kind of message once (docs/protocol.md §7, §10).
func (r *diffRun) stageLive(t *testing.T) {
	// The app's events: each command to the user and to the app's shared channel, and one without
	// params (the portal writes them as []).
	for _, command := range []string{"alpha", "beta", "gammaFallback", "delta", "other"} {
		r.publish(t, true, command)
		r.publish(t, false, command)
	}
	r.publishEmpty(t)
	// The probes, one module each (differential.js).
	r.publishModule(t, "probe.mutate", "change")
	r.publishModule(t, "probe.throw", "boom")
	r.publishModule(t, "probe.unsub", "cut")
	r.publishModule(t, "probe.unsub", "later")
	r.publishModule(t, "probe.twice", "hello")
	r.publishModule(t, "probe.plain", "hello")
	r.publishModule(t, "probe.instance", "hello")
	r.publishOnline(t)
	r.clientMessages(t)
	r.fence(t, diffLive)
}

// stageDrop: the push server drops every connection (1006); what is published meanwhile arrives
// once both are back (docs/protocol.md §8.3, §14.1).
func (r *diffRun) stageDrop(t *testing.T) {
	r.srv.DropConnections()
	r.publish(t, true, "alpha")
	r.publish(t, false, "beta")
	r.fence(t, diffLive)
	r.waitOnline(t, diffLive)
}

// stageRenewal: the portal rotates the app's channels and says so on the old ones, worded as for
// the portal's own channels (private: get_config; shared: reconnect with new_channel), which both
// clients act on at once. Worded as the portal words app channels (typed by the app's client id),
// the official client reconnects with its stale ids, is refused, and recovers only when its 60 s
// config check finds a channel past its end; e2e/conformance_test.go covers that, and it would only
// delay this stream.
func (r *diffRun) stageRenewal(t *testing.T) {
	require.NoError(t, r.srv.ExpireChannelsVariant(standin.ScopeAll, standin.VariantPortal))
	r.publish(t, true, "alpha")
	r.publish(t, false, "beta")
	r.fence(t, diffLive)
	r.waitOnline(t, diffLive)
	// Client messages on the renewed channels.
	r.clientMessages(t)
	r.fence(t, diffLive)
}

// stageConfigExpire: config_expire makes both reload the config (docs/protocol.md §11).
func (r *diffRun) stageConfigExpire(t *testing.T) {
	r.srv.ConfigExpire()
	r.publish(t, true, "alpha")
	r.fence(t, diffLive)
	r.waitOnline(t, diffLive)
}

// stageBrowserOffline: the window says offline, then online a second later; a message published
// in between arrives after it.
func (r *diffRun) stageBrowserOffline(t *testing.T) {
	require.NoError(t, r.page.Eval(r.ctx, `window.diff.network(false)`, nil))
	r.publish(t, true, "alpha")
	r.pause(t, time.Second)
	require.NoError(t, r.page.Eval(r.ctx, `window.diff.network(true)`, nil))
	r.fence(t, diffLive)
	r.waitOnline(t, diffLive)
}

// stageServerRestart: server_restart makes both reconnect after a pause (the official client's is
// 15 s); what is published meanwhile is replayed (docs/protocol.md §11).
func (r *diffRun) stageServerRestart(t *testing.T) {
	r.srv.ServerRestartMessage()
	r.publish(t, true, "alpha")
	r.fence(t, diffRestart)
	r.waitOnline(t, diffLive)
}

// publish sends command with params {n, to} through pull.application.event.add as the
// administrator: to the user when toUser (to "user"), else to the app's shared channel (to
// "shared"). It returns n.
func (r *diffRun) publish(t *testing.T, toUser bool, command string) int {
	n := r.next
	r.next++
	to := "shared"
	if toUser {
		to = "user"
	}
	r.callEventAdd(t, toUser, command, map[string]any{"n": n, "to": to})
	return n
}

// publishEmpty sends command "empty" without params to the user.
func (r *diffRun) publishEmpty(t *testing.T) {
	r.callEventAdd(t, true, "empty", map[string]any{})
}

func (r *diffRun) callEventAdd(t *testing.T, toUser bool, command string, params map[string]any) {
	body := map[string]any{"COMMAND": command, "PARAMS": params}
	if toUser {
		body["USER_ID"] = diffUser
	}
	var ok bool
	require.NoError(t, callREST(r.ctx, r.srv.PortalURL(), "pull.application.event.add", r.admin, body, &ok))
	require.True(t, ok, "pull.application.event.add result")
}

// publishModule sends command with params {n, to: "user"} to the user in another module, as the portal
// publishes its modules' events (the stand-in's Publish: pull.application.event.add publishes to
// module application only).
func (r *diffRun) publishModule(t *testing.T, module, command string) int {
	n := r.next
	r.next++
	require.NoError(t, r.srv.Publish([]int{diffUser}, module, command, json.RawMessage(fmt.Sprintf(`{"n":%d,"to":"user"}`, n))))
	return n
}

// publishOnline sends messages of module "online" to the app's shared channel: a command the
// online subscriptions name, another, and (version 5) userStatusChange of the followed user, its id
// once as a number and once as a string. A portal sends online messages on its own shared channel,
// which app connections do not read (docs/protocol.md §18): this injects them to show how each client
// routes them.
func (r *diffRun) publishOnline(t *testing.T) {
	online := func(command, params string) {
		require.NoError(t, r.srv.Publish(nil, "online", command, json.RawMessage(params)))
	}
	online("diffOnline", fmt.Sprintf(`{"n":%d,"to":"shared"}`, r.next))
	online("otherOnline", fmt.Sprintf(`{"n":%d,"to":"shared"}`, r.next+1))
	r.next += 2
	if r.version >= 5 {
		online("userStatusChange", fmt.Sprintf(`{"user_id":%d,"online":true,"n":%d,"to":"shared"}`, diffOther, r.next))
		online("userStatusChange", fmt.Sprintf(`{"user_id":"%d","online":false,"n":%d,"to":"shared"}`, diffOther, r.next+1))
		r.next += 2
	}
}

// clientMessages publishes client messages once both are online (versions 4 and 5; version 3 has no
// client publishing, docs/protocol.md §17) and waits until both received each: from b24pull to the
// user, with the module id in lower case and in another; from the official client to the user
// (version 5) or to its own private channel's public id (version 4, where its sendMessage names the
// user's portal channel, which no app connection reads).
func (r *diffRun) clientMessages(t *testing.T) {
	if r.version < 4 {
		return
	}
	r.waitOnline(t, diffLive)
	var ns []int
	send := func(from string, to any, module string) {
		n := r.next
		r.next++
		args, err := json.Marshal(map[string]any{"from": from, "to": to, "moduleId": module, "n": n, "expiry": 60})
		require.NoError(t, err)
		var res confCall
		require.NoError(t, r.page.Eval(r.ctx, `window.diff.sendClient(`+string(args)+`)`, &res))
		require.True(t, res.OK, "%s sendMessage %d: %+v", from, n, res.Error)
		ns = append(ns, n)
	}
	send(diffB24pull, []int{diffUser}, "application")
	send(diffB24pull, []int{diffUser}, "Application")
	if r.version == 4 {
		send(diffOfficial, "ownChannel", "application")
	} else {
		send(diffOfficial, []int{diffUser}, "application")
	}
	for _, n := range ns {
		r.waitSeen(t, "cli.all", n, diffLive)
	}
}

// fence publishes one more event to the user and waits until both clients' whole-module subscriber
// got it: what was published before it reached them too (one connection each, in order).
func (r *diffRun) fence(t *testing.T, timeout time.Duration) {
	n := r.publish(t, true, "fence")
	r.waitSeen(t, "srv.all", n, timeout)
	r.pause(t, diffSettle)
}

// waitSeen waits until both clients recorded a call of stream for message n.
func (r *diffRun) waitSeen(t *testing.T, stream string, n int, timeout time.Duration) {
	t.Helper()
	if err := r.page.WaitFor(r.ctx, fmt.Sprintf(`window.diff.seen(%q, %d)`, stream, n), timeout); err != nil {
		var counts map[string]int
		_ = r.page.Eval(r.ctx, fmt.Sprintf(`({official: diff.count('official', %q), b24pull: diff.count('b24pull', %q)})`, stream, stream), &counts)
		require.NoError(t, err, "message %d did not reach %s of both clients (calls so far: %v)", n, stream, counts)
	}
}

// waitOnline waits until both clients are connected and say online.
func (r *diffRun) waitOnline(t *testing.T, timeout time.Duration) {
	t.Helper()
	err := r.page.WaitFor(r.ctx, `(s => s.official.connected && s.official.status === 'online' && `+
		`s.b24pull.connected && s.b24pull.status === 'online')(window.diff.state())`, timeout)
	if err != nil {
		var state any
		_ = r.page.Eval(r.ctx, `window.diff.state()`, &state)
		require.NoError(t, err, "both clients online (state %v)", state)
	}
}

// pause sleeps d, or fails when the run's context ends first.
func (r *diffRun) pause(t *testing.T, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.ctx.Done():
		require.NoError(t, r.ctx.Err())
	}
}

// checkSecrets looks for the secrets of every config the page received (channel ids, public ids,
// signatures, the JWT), and the user's access token, in the page's console.
func (r *diffRun) checkSecrets(t *testing.T) {
	var configs []string
	require.NoError(t, r.page.Eval(r.ctx, `window.diff.configs()`, &configs))
	require.NotEmpty(t, configs, "the page recorded no config: the secrets check would check nothing")
	secrets := map[string]string{r.auth: "access token"}
	for _, c := range configs {
		cfg, err := protocol.ParseConfig([]byte(c), time.Now())
		if !assert.NoError(t, err, "a config the page received does not parse") {
			continue
		}
		for _, s := range cfg.Secrets() {
			secrets[s] = "config secret"
		}
	}
	for i, line := range r.page.Console() {
		for s, kind := range secrets {
			if strings.Contains(line, s) {
				assert.Failf(t, "a secret leaked", "console line %d holds a %s: %s", i, kind, strings.ReplaceAll(line, s, "<secret>"))
			}
		}
	}
}

// TestDifferencesList checks the ```differences block of docs/migrating.md without a browser: it
// parses, and every stream it names is one differential.js records, so that a renamed subscription
// cannot leave an entry that no longer matches anything.
func TestDifferencesList(t *testing.T) {
	list, err := loadDifferences()
	require.NoError(t, err)
	root, err := webdeps.RepoRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "e2e", "web", "pages", "differential.js"))
	require.NoError(t, err)
	page := string(data)
	// A stream is a quoted subscription name, a handler's name and one of its methods
	// ("mapped.onAlpha"), or the start of a name made in a template ("userStatus.*").
	recorded := func(stream string) bool {
		s := strings.TrimPrefix(stream, "subscribe:")
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			return strings.Contains(page, "`"+prefix)
		}
		if strings.Contains(page, "'"+s+"'") {
			return true
		}
		i := strings.LastIndex(s, ".")
		return i > 0 && strings.Contains(page, "'"+s[:i]+"'") && strings.Contains(page, s[i+1:]+"(")
	}
	for _, d := range list {
		for _, s := range append(slices.Clone(d.Streams), slices.Collect(maps.Values(d.As))...) {
			assert.True(t, recorded(s), "difference %s names %s, which differential.js does not record", d.ID, s)
		}
	}
}

// TestCompareLogs checks the comparison on made-up logs: a listed field difference is explained and
// counted, an unlisted one is reported, a silent entry holds or is reported broken, and a message
// whose subscribers are called in another order is reported.
func TestCompareLogs(t *testing.T) {
	yes := true
	call := func(stream, command string, n int, args ...any) diffCall {
		return diffCall{Stream: stream, Command: command, N: float64(n), To: "user", Args: args}
	}
	msg := func(extra map[string]any) map[string]any {
		return map[string]any{"command": "a", "params": map[string]any{"n": 1.0}, "extra": extra}
	}
	list := []listedDifference{
		{ID: "sender", Kind: "field", Versions: []int{4}, Field: "sender.id", Official: json.RawMessage(`""`), B24pull: json.RawMessage(`"<absent>"`)},
		{ID: "case", Kind: "silent", Silent: diffOfficial, Versions: []int{4}, Streams: []string{"upper"}, As: map[string]string{"upper": "all"}},
		{ID: "never", Observable: new(bool), Why: "not here"},
	}
	official := []diffCall{call("all", "a", 1, msg(map[string]any{"sender": map[string]any{"type": 2.0, "id": ""}}))}
	mine := []diffCall{
		call("all", "a", 1, msg(map[string]any{"sender": map[string]any{"type": 2.0}})),
		call("upper", "a", 1, msg(map[string]any{"sender": map[string]any{"type": 2.0}})),
	}
	rep := compareLogs(4, diffLogs{diffOfficial: official, diffB24pull: mine}, list)
	assert.Empty(t, rep.Unexplained)
	assert.Empty(t, rep.Problems)
	assert.Equal(t, map[string]int{"sender": 1, "case": 1}, rep.Observed)

	// In version 5 neither entry applies: both differences are unexplained.
	rep = compareLogs(5, diffLogs{diffOfficial: official, diffB24pull: mine}, list)
	assert.Len(t, rep.Unexplained, 3, "the sender id, the upper stream, and the order of message a#1: %q", rep.Unexplained)

	// A silent client that calls breaks its entry.
	rep = compareLogs(4, diffLogs{diffOfficial: append(slices.Clone(official), mine[1]), diffB24pull: mine[:1]}, list)
	assert.Len(t, rep.Problems, 1, "%q", rep.Problems)

	// Subscribers of one message called in another order.
	a, b := call("x", "a", 1), call("y", "a", 1)
	b.Self = &yes
	rep = compareLogs(4, diffLogs{diffOfficial: {a, b}, diffB24pull: {b, a}}, list)
	require.Len(t, rep.Unexplained, 1, "%q", rep.Unexplained)
	assert.Contains(t, rep.Unexplained[0], "message a#1")

	// normalise hides server_time_ago and numbers the senders in order of first appearance.
	got := normalise([]diffCall{
		{Args: []any{map[string]any{"server_time_ago": 1.5, "sender": map[string]any{"id": "abc"}}}},
		{Args: []any{map[string]any{"sender": map[string]any{"id": "def"}}}},
		{Args: []any{map[string]any{"sender": map[string]any{"id": "abc"}}}},
	})
	assert.Equal(t, []any{map[string]any{"server_time_ago": diffAgo, "sender": map[string]any{"id": "<sender-1>"}}}, got[0].Args)
	assert.Equal(t, "<sender-2>", got[1].Args[0].(map[string]any)["sender"].(map[string]any)["id"])
	assert.Equal(t, "<sender-1>", got[2].Args[0].(map[string]any)["sender"].(map[string]any)["id"])
}

//go:build !js

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/standin"
)

// TestModule runs the b24pull browser package (js/, built by scripts/build-wasm.sh) in headless
// Chromium against the stand-in, as an app page does: the page's BX24 is the demo's BX24 stand-in
// (demo/web/bx24-local.js) and the client uses it for every REST call. Versions 3, 4 and 5 run at
// once; in each, the 60 s renewal run goes on beside the other scenarios, which run one after
// another. Every scenario has a stand-in and a tab of its own, and ends with the teardown checks of
// modRun.finish: no goroutine or js.Func left after destroy(), no page exception, no secret in the
// console or the debug info. The client runs with the protocol's delays shortened (module.js).
func TestModule(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)

	// Goroutines rather than t.Parallel: -parallel defaults to the number of cores (2 here), and
	// most of a run is waiting.
	var wg sync.WaitGroup
	for _, version := range []int{3, 4, 5} {
		wg.Go(func() {
			t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { runModuleVersion(t, b, version) })
		})
	}
	wg.Wait()
}

// modScenario is one scenario of TestModule; versions nil means every version.
type modScenario struct {
	name     string
	versions []int
	run      func(t *testing.T, b *browser.Browser, version int)
}

var modScenarios = []modScenario{
	{"delivery", nil, modDelivery},
	{"system_commands", nil, modSystemCommands},
	{"expire_during_load", nil, modExpireDuringLoad},
	{"restart", nil, modRestart},
	{"wrong_channel", nil, modWrongChannel},
	{"long_polling", []int{3, 4}, modLongPolling},
	{"websocket_fallback", []int{3, 4}, modWebSocketFallback},
	{"no_transport", []int{5}, modNoTransport},
	{"rest_errors", nil, modRESTErrors},
	{"garbage", nil, modGarbage},
	{"destroy_during_rest", nil, modDestroyDuringREST},
}

func runModuleVersion(t *testing.T, b *browser.Browser, version int) {
	var wg sync.WaitGroup
	wg.Go(func() { t.Run("renewal", func(t *testing.T) { modRenewal(t, b, version) }) })
	for _, s := range modScenarios {
		if s.versions == nil || slices.Contains(s.versions, version) {
			t.Run(s.name, func(t *testing.T) { s.run(t, b, version) })
		}
	}
	wg.Wait()
}

// modDelivery: events sent with pull.application.event.add through the page's BX24.callMethod, to
// the user and to the app's shared channel, reach the subscribers in the documented shapes:
// {moduleId, callback} gets ({command, params, extra}, info), {moduleId, command, callback} gets
// (params, extra, command, info); the status subscriber sees connect, then online.
func modDelivery(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	toUser := r.publishPage(t, true, modCommand)
	shared := r.publishPage(t, false, modCommand)
	other := r.publishPage(t, true, modOther)
	r.waitKeys(t, modLive, toUser, shared, other)
	r.snapshot(t)

	statuses := r.statuses(t)
	require.GreaterOrEqual(t, len(statuses), 2, "statuses: %v", statuses)
	assert.Equal(t, []string{"connect", "online"}, statuses[:2])

	var calls struct {
		Module []struct {
			Argc    int            `json:"argc"`
			Message map[string]any `json:"message"`
			Info    map[string]any `json:"info"`
		} `json:"module"`
		Command []struct {
			Argc    int            `json:"argc"`
			Params  map[string]any `json:"params"`
			Extra   map[string]any `json:"extra"`
			Command string         `json:"command"`
			Info    map[string]any `json:"info"`
		} `json:"command"`
		StatusInfo []map[string]any `json:"statusInfo"`
	}
	require.NoError(t, r.page.Eval(r.ctx, `mt.calls()`, &calls))
	info := map[string]any{"type": "server", "moduleId": modModule}

	require.Len(t, calls.Module, 3, "module subscriber calls")
	var commands []string
	for _, c := range calls.Module {
		assert.Equal(t, 2, c.Argc, "module subscriber arguments")
		assert.ElementsMatch(t, []string{"command", "params", "extra"}, mapKeys(c.Message))
		assert.Equal(t, info, c.Info)
		commands = append(commands, fmt.Sprint(c.Message["command"]))
		extra, _ := c.Message["extra"].(map[string]any)
		assertExtra(t, version, extra)
	}
	assert.ElementsMatch(t, []string{modCommand, modCommand, modOther}, commands)

	require.Len(t, calls.Command, 2, "command subscriber calls: only %s", modCommand)
	var keys []any
	for _, c := range calls.Command {
		assert.Equal(t, 4, c.Argc, "command subscriber arguments")
		assert.Equal(t, modCommand, c.Command)
		assert.Equal(t, info, c.Info)
		assertExtra(t, version, c.Extra)
		keys = append(keys, c.Params["k"])
		// BX24 form-encodes params, so scalars arrive as strings, as from a real portal.
		assert.Equal(t, fmt.Sprint(c.Params["k"] == toUser), c.Params["to_user"])
	}
	assert.ElementsMatch(t, []any{toUser, shared}, keys)
	require.NotEmpty(t, calls.StatusInfo)
	assert.Equal(t, map[string]any{"type": "status"}, calls.StatusInfo[0])

	st := r.stats(t)
	assert.Equal(t, map[int]string{3: "text", 4: "protobuf", 5: "json-rpc"}[version], st.Wire)
	assert.Equal(t, "websocket", st.Transport)
	assert.EqualValues(t, 3, st.Messages)
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// assertExtra checks the extra the portal adds to an event, plus server_time_ago from the client.
func assertExtra(t *testing.T, version int, extra map[string]any) {
	require.NotNil(t, extra, "extra")
	assert.EqualValues(t, 19, extra["revision_web"])
	assert.IsType(t, "", extra["server_time"])
	ago, ok := extra["server_time_ago"].(float64)
	assert.True(t, ok && ago >= 0 && ago < 60, "server_time_ago: %v", extra["server_time_ago"])
	if version == 3 {
		assert.NotContains(t, extra, "sender", "legacy text carries no sender")
	} else {
		assert.Equal(t, map[string]any{"type": float64(2)}, extra["sender"], "sender BACKEND")
	}
}

func mapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// modRenewal: with 3 s channels for 60 s and about 5 events a second, alternately to the user and to
// the shared channel, every event arrives exactly once while the client renews its channels.
func modRenewal(t *testing.T, b *browser.Browser, version int) {
	const (
		lifetime = 3 * time.Second
		duration = 60 * time.Second
		interval = 200 * time.Millisecond
	)
	r := startModule(t, b, version, modOptions{standin: standin.Options{ChannelLifetime: lifetime}})
	r.start(t)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	began := time.Now()
	for n := 0; time.Since(began) < duration; n++ {
		r.publish(t, n%2 == 0)
		if n%50 == 25 {
			r.snapshot(t)
		}
		select {
		case <-tick.C:
		case <-r.ctx.Done():
			require.NoError(t, r.ctx.Err())
		}
	}
	r.waitKeys(t, 15*time.Second, r.keys...)
	r.waitOnline(t, modLive)
	st := r.stats(t)
	t.Logf("v%d renewal: %d events, renewals %d, config loads %d, reconnects %d, duplicates skipped %d; server: %d rotations, %d refused, %d replayed",
		version, len(r.keys), st.Renewals, st.ConfigLoads, st.Reconnects, st.DuplicatesSkipped,
		r.srv.Stats().Rotations, r.srv.Stats().HandshakesRefused, r.srv.Stats().Replayed)
	r.assertExactlyOnce(t)
	assert.GreaterOrEqual(t, st.Renewals, int64(15), "3 s channels for 60 s")
	r.finish(t, false)
}

// modSystemCommands: channel_expire (both wordings, both scopes), config_expire and server_restart;
// events published right after each arrive exactly once.
func modSystemCommands(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	r.waitKeys(t, modLive, r.publish(t, true)) // from here on the client resumes from a mid

	expire := func(scope, variant string) func() error {
		return func() error { return r.srv.ExpireChannelsVariant(scope, variant) }
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"channel_expire_app_private", expire(standin.ScopePrivate, standin.VariantApp)},
		{"channel_expire_app_shared", expire(standin.ScopeShared, standin.VariantApp)},
		{"channel_expire_portal_private", expire(standin.ScopePrivate, standin.VariantPortal)},
		{"channel_expire_portal_shared", expire(standin.ScopeShared, standin.VariantPortal)},
		{"config_expire", func() error { r.srv.ConfigExpire(); return nil }},
		{"server_restart", func() error { r.srv.ServerRestartMessage(); return nil }},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			before := r.stats(t)
			require.NoError(t, step.do())
			// Published at once, while the client reacts (the reaction may wait up to
			// restartDelay), and again once it has.
			u, s := r.publish(t, true), r.publish(t, false)
			if step.name == "server_restart" {
				r.waitStat(t, modLive, fmt.Sprintf(`s.reconnects > %d`, before.Reconnects))
			} else {
				// The client reloaded its config or applied the new channel.
				r.waitStat(t, modLive, fmt.Sprintf(`s.configLoads + s.renewals > %d`, before.ConfigLoads+before.Renewals))
			}
			r.waitOnline(t, modLive)
			r.waitKeys(t, modLive, u, s, r.publish(t, true), r.publish(t, false))
			r.snapshot(t)
		})
		if !ok {
			break
		}
	}
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// modExpireDuringLoad: channel_expire arrives while a config load is in flight whose answer the
// portal gave before the rotation (a slow portal: the page holds BX24's answer). An event sent to the
// user's new channel, then one sent to the shared channel (which reaches the client on its old
// connection and moves its mid past the first), must both arrive once the client has the new
// channel, here after the next config_expire. In real use the load in flight is a renewal retry
// near the channel's end, when the portal rotates the channel on an event for the user.
func modExpireDuringLoad(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	r.waitKeys(t, modLive, r.publish(t, true))
	require.NoError(t, r.page.Eval(r.ctx, `mt.holdNextConfig()`, nil))
	r.srv.ConfigExpire()
	require.NoError(t, r.page.WaitFor(r.ctx, `mt.isHeld()`, modLive), "the config_expire reload")
	loads := r.stats(t).ConfigLoads
	require.NoError(t, r.srv.ExpireChannelsVariant(standin.ScopePrivate, standin.VariantApp))
	toNew := r.publish(t, true)
	shared := r.publish(t, false)
	r.waitKeys(t, modLive, shared)
	require.NoError(t, r.page.Eval(r.ctx, `mt.releaseHeld()`, nil))
	r.waitStat(t, modLive, fmt.Sprintf(`s.configLoads > %d`, loads))
	r.srv.ConfigExpire()
	r.waitKeys(t, modLive, toNew, r.publish(t, true), r.publish(t, false))
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// modRestart: the push server is down for 2 s while events are published; the client reconnects
// and the server replays them from its mid: no loss, no duplicate.
func modRestart(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	r.waitKeys(t, modLive, r.publish(t, true), r.publish(t, false), r.publish(t, true))
	before := r.stats(t)
	seen := len(r.statuses(t))
	replayed := r.srv.Stats().Replayed

	r.srv.Restart(2 * time.Second)
	var during []string
	for i := range 6 {
		during = append(during, r.publish(t, i%2 == 0))
	}
	require.True(t, r.srv.Stats().PushDown, "the events were published while the server was down")
	r.waitKeys(t, 15*time.Second, during...)
	r.waitOnline(t, modLive)
	r.waitKeys(t, modLive, r.publish(t, true), r.publish(t, false))

	after := r.stats(t)
	t.Logf("v%d restart: transport %s after the restart, reconnects %d, config loads %d",
		version, after.Transport, after.Reconnects-before.Reconnects, after.ConfigLoads-before.ConfigLoads)
	assert.Greater(t, after.Reconnects, before.Reconnects)
	assert.GreaterOrEqual(t, r.srv.Stats().Replayed-replayed, int64(len(during)), "the events came as a replay")
	assert.Contains(t, r.statuses(t)[seen:], "offline", "the status subscriber saw the outage")
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// modWrongChannel: the client's channel ids go stale while it is disconnected (the connections
// drop, then the portal rotates every channel of the app). Its reconnect with the old ids is
// refused, with close code 4010 after the handshake (Reject4010) or at the handshake with HTTP 400
// (the real server's way, seen by a browser only as a failed dial). Either way the client reloads
// its config and comes back; what was published meanwhile arrives once. The browser build does not
// see the 4010 code either (coder/websocket keeps it from Read, client/transport.go): it recovers
// because connections that close right after opening count as refused handshakes.
func modWrongChannel(t *testing.T, b *browser.Browser, version int) {
	// A first reconnect after 400 ms rather than 50 ms: the rotation must happen before it.
	r := startModule(t, b, version, modOptions{client: map[string]any{
		"timing": map[string]any{"backoff": []int{400, 400, 800, 800, 1000}},
	}})
	r.start(t)
	r.waitKeys(t, modLive, r.publish(t, true))
	for _, reject := range []bool{true, false} {
		ok := t.Run(fmt.Sprintf("reject4010=%t", reject), func(t *testing.T) {
			r.srv.Reject4010(reject)
			before := r.stats(t)
			refused := r.srv.Stats().HandshakesRefused
			r.srv.DropConnections()
			require.NoError(t, r.srv.ExpireChannelsVariant(standin.ScopeAll, standin.VariantApp))
			u, s := r.publish(t, true), r.publish(t, false)
			r.waitKeys(t, 15*time.Second, u, s)
			r.waitOnline(t, modLive)
			after := r.stats(t)
			assert.Greater(t, r.srv.Stats().HandshakesRefused, refused, "the client tried its stale ids")
			assert.Greater(t, after.ConfigLoads, before.ConfigLoads, "the client reloaded its config")
			r.snapshot(t)
		})
		if !ok {
			break
		}
	}
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// modLongPolling: with disableWebSocket the events travel by long polling, across idle polls that
// end in 304, and no websocket is ever opened. The client is destroyed while a GET is held.
func modLongPolling(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{
		standin: standin.Options{LongPollHold: time.Second},
		client:  map[string]any{"disableWebSocket": true},
	})
	r.start(t)
	assert.Equal(t, "long-polling", r.stats(t).Transport)
	// No mid before the first message: an event published while no GET is held would be skipped
	// by the next idle 304, whose Last-Message-Id is then the newest stored id (docs/protocol.md §5.2).
	// Publish right after a GET arrived.
	r.waitFreshPoll(t)
	first := []string{r.publish(t, true), r.publish(t, false), r.publish(t, true)}
	r.waitKeys(t, modLive, first...)
	// Two idle polls answered 304 (hold 1 s) before the next events.
	polls := r.srv.Stats().LongPolls
	require.NoError(t, r.until(modLive, func() bool { return r.srv.Stats().LongPolls >= polls+2 }))
	r.waitKeys(t, modLive, r.publish(t, false), r.publish(t, true))
	r.snapshot(t)
	assert.Zero(t, r.srv.Stats().ConnectionsTotal, "a websocket was opened")
	assert.Equal(t, "long-polling", r.stats(t).Transport)
	r.assertExactlyOnce(t)
	r.finish(t, false) // destroy() while a GET is held

}

// modWebSocketFallback: the config's websocket URL answers every handshake with 404 (a proxy that
// refuses upgrades) while long polling works: the client falls back to long polling by itself.
// The stand-in cannot refuse websockets alone, so the page rewrites the URL in the configs BX24
// hands the client.
func modWebSocketFallback(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{
		standin:        standin.Options{LongPollHold: time.Second},
		breakWebSocket: true,
	})
	r.start(t)
	st := r.stats(t)
	assert.Equal(t, "long-polling", st.Transport)
	r.waitFreshPoll(t)
	r.waitKeys(t, modLive, r.publish(t, true), r.publish(t, false))
	assert.Zero(t, r.srv.Stats().ConnectionsTotal, "no websocket reached the push server")
	r.assertExactlyOnce(t)
	r.finish(t, true)
}

// modNoTransport: version 5 has no long polling, so disableWebSocket leaves no transport: start()
// must reject rather than hang.
func modNoTransport(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{client: map[string]any{"disableWebSocket": true}})
	res := r.startResult(t)
	t.Logf("v%d disableWebSocket: start() gave %+v", version, res)
	assert.False(t, res.OK, "start() resolved without a transport")
	assert.True(t, res.IsError, "the rejection is an Error")
	assert.NotEmpty(t, res.Code)
	st := r.stats(t)
	assert.Equal(t, "offline", st.Status)
	assert.Zero(t, st.Goroutines)
	r.finish(t, true)
}

// modRESTErrors: the portal's refusals reach start()'s rejection unchanged: WRONG_AUTH_TYPE for a
// webhook token, SERVER_ERROR when the push server is not configured.
func modRESTErrors(t *testing.T, b *browser.Browser, version int) {
	cases := []struct {
		name    string
		webhook bool
		prep    func(*standin.Server)
		code    string
		text    string
		status  int
	}{
		{"WRONG_AUTH_TYPE", true, func(*standin.Server) {}, "WRONG_AUTH_TYPE",
			"Get access to application config available only for application authorization.", 403},
		{"SERVER_ERROR", false, func(s *standin.Server) { s.SetPushConfigured(false) }, "SERVER_ERROR",
			"Push & Pull server is not configured", 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The portal changes after the client was created: its config call must come from start(),
			// not from the prefetch createPullClient makes.
			r := startModule(t, b, version, modOptions{webhook: tc.webhook, client: map[string]any{"prefetchConfig": false}})
			tc.prep(r.srv)
			res := r.startResult(t)
			assert.False(t, res.OK)
			assert.True(t, res.IsError, "the rejection is an Error")
			assert.Equal(t, tc.code, res.Code)
			assert.Equal(t, tc.text, res.Description)
			assert.Equal(t, tc.text, res.Message)
			assert.Equal(t, tc.status, res.Status)
			st := r.stats(t)
			assert.Equal(t, "offline", st.Status)
			assert.Zero(t, st.Goroutines)
			r.finish(t, true)
		})
	}
}

// modGarbage: a frame no client can read is counted and skipped; the connection stays up and later
// events arrive.
func modGarbage(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	r.waitKeys(t, modLive, r.publish(t, true))
	before := r.stats(t)
	r.srv.SendGarbage()
	r.waitStat(t, modLive, `s.garbageFrames >= 1`)
	r.waitKeys(t, modLive, r.publish(t, true), r.publish(t, false))
	after := r.stats(t)
	assert.Equal(t, before.Connects, after.Connects, "the connection stayed up")
	assert.Equal(t, before.Reconnects, after.Reconnects)
	r.assertExactlyOnce(t)
	r.finish(t, false)
}

// modDestroyDuringREST: destroy() while a REST call is in flight in BX24 ends that call with
// DESTROYED, and BX24's late callback finds nothing released in its way.
func modDestroyDuringREST(t *testing.T, b *browser.Browser, version int) {
	r := startModule(t, b, version, modOptions{})
	r.start(t)
	var outcome string
	require.NoError(t, r.page.Eval(r.ctx, `mt.destroyDuringRest()`, &outcome))
	assert.Equal(t, "DESTROYED", outcome, "the pending getConfig()")
	r.finish(t, false)
}

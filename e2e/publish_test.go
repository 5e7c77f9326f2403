//go:build !js

package e2e

import (
	"context"
	"encoding/json"
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

// Sizes of the publishing run: toUser messages with sendMessage and toChannel with
// sendMessageToChannels, the two bursts at once; self messages to the sender's own user.
const (
	pubToUser    = 40
	pubToChannel = 20
	pubSelf      = 10
	pubExpiry    = 600 // s: messages to a receiver that is reconnecting are replayed by mid
)

// TestPublish runs client publishing in headless Chromium against the stand-in, as apps use it:
// three tabs of one app on one stand-in, users 7 (the sender), 9 (the receiver) and 11 (a
// bystander). Versions 4 and 5 run at once, beside the rejections of versions 3 and 4.
func TestPublish(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)

	var wg sync.WaitGroup
	for _, version := range []int{4, 5} {
		wg.Go(func() {
			t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { pubDelivery(t, b, version) })
		})
	}
	wg.Go(func() { t.Run("unavailable", func(t *testing.T) { pubUnavailable(t, b) }) })
	wg.Wait()
}

// pubDelivery: the sender publishes pubToUser messages to user 9 with sendMessage and, at the same
// time, pubToChannel to user 9's public app channel with sendMessageToChannels, one every 50 and
// 100 ms, expiry pubExpiry. Meanwhile every connection drops (the receiver reconnects and is
// replayed what it missed), the channels are renewed, and the push server goes down for a second
// while the sender publishes (its calls wait for the reconnect). Then: every call that resolved
// arrived at the receiver exactly once and in order, every rejection is a documented one whose
// message never arrived (CONNECTION_LOST and TIMEOUT: at most once), and nothing reached the sender
// or the bystander. Then the sender sends to itself, and the argument checks, the presence calls
// (version 5) or their refusal (version 4), and the teardown checks of every tab.
//
// The public channel of version 4 is the receiver's config's channels.private.public_id (it equals
// what pull.channel.public.list with APPLICATION=Y gives for the user). Version 5 configs have no
// private channel; pull.channel.public.list with APPLICATION=Y gives the signed public id of the
// user's app channel, which the version 5 push server maps to the user (standin/jsonrpc.go
// resolvePublicLocked), so the channel half runs in both versions.
//
// The renewal rotates the shared channel only (VariantApp: channel_expire with a new_channel, the
// clients reconnect). Rotating the private channels would change the receiver's public id in
// version 4, and what the sender then sends to the old one, cached by the client or handed over by
// the app, is stored for a channel no one reads any more.
//
// The stand-in has no way to drop one connection only: each fault hits all three tabs.
func pubDelivery(t *testing.T, b *browser.Browser, version int) {
	began := time.Now()
	s := startPubStand(t, b, version, standin.Options{})
	sender := s.open(t, pubSender, nil)
	receiver := s.open(t, pubReceiver, nil)
	bystander := s.open(t, pubBystander, nil)

	// Before start(): not connected, refused at once.
	o := evalOutcome(t, bystander, `(c) => c.sendMessage([9], 'e2e_pub', 'early', {})`)
	rejectedWith(t, "NOT_CONNECTED", o, "sendMessage before start()")
	assert.Less(t, o.MS, 1000, "refused at once")

	s.startAll(t, sender, receiver, bystander)
	var supported, enabled bool
	require.NoError(t, sender.page.Eval(s.ctx, `mt.client().isPublishingSupported()`, &supported))
	require.NoError(t, sender.page.Eval(s.ctx, `mt.client().isPublishingEnabled()`, &enabled))
	assert.True(t, supported, "isPublishingSupported")
	assert.True(t, enabled, "isPublishingEnabled")

	// The receiver's public channel, kept in the sender's page as "b".
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	require.NoError(t, sender.page.Eval(s.ctx, `pt.appPublicChannel('b-rest', 9)`, &res))
	require.True(t, res.OK, "pull.channel.public.list APPLICATION=Y: %s", res.Error)
	if version == 4 {
		var own string
		require.NoError(t, receiver.page.Eval(s.ctx, `pt.ownPublicChannel()`, &own))
		require.NotEmpty(t, own, "the receiver's config has no channels.private.public_id")
		arg, err := json.Marshal(own)
		require.NoError(t, err)
		require.NoError(t, sender.page.Eval(s.ctx, `pt.setChannel('b', `+string(arg)+`)`, nil))
		var same bool
		require.NoError(t, sender.page.Eval(s.ctx, `pt.sameChannel('b', 'b-rest')`, &same))
		assert.True(t, same, "channels.private.public_id is the app channel pull.channel.public.list APPLICATION=Y names")
	} else {
		require.NoError(t, sender.page.Eval(s.ctx, `pt.setChannel('b', pt.heldChannels()[0])`, nil))
	}
	// One message first, awaited: in version 4 it makes the client look up and cache the receiver's
	// public channel, so that the calls of the burst do not race that lookup. Calls made while it is
	// in flight are TestPublishOrder's subject.
	o = evalOutcome(t, sender, `(c) => c.sendMessage([9], 'e2e_pub', 'first', {n: 1})`)
	require.Equal(t, "resolved", o.Settled, "the first message: %s %s", o.Code, o.Description)
	waitDelivered(t, receiver, "first", []int{1}, modLive)

	startBurst(t, sender, "users", pubBurst{Users: []int{pubReceiver}, Command: "to_user", Count: pubToUser, Spacing: 50, Expiry: pubExpiry})
	startBurst(t, sender, "channels", pubBurst{Channel: "b", Command: "to_channel", Count: pubToChannel, Spacing: 100, Expiry: pubExpiry})
	before := sender.stats(t)
	waitSent(t, sender, "users", 10)
	s.srv.DropConnections()
	waitSent(t, sender, "users", 20)
	require.NoError(t, s.srv.ExpireChannelsVariant(standin.ScopeShared, standin.VariantApp))
	waitSent(t, sender, "users", 28)
	s.srv.Restart(pubOutage)

	users := waitSettled(t, sender, "users", pubToUser)
	channels := waitSettled(t, sender, "channels", pubToChannel)
	resolvedOf := func(out []pubOutcome) (ns []int) {
		for _, o := range out {
			if o.Settled == "resolved" {
				ns = append(ns, o.N)
			}
		}
		return ns
	}
	waitDelivered(t, receiver, "to_user", resolvedOf(users), 15*time.Second)
	waitDelivered(t, receiver, "to_channel", resolvedOf(channels), 15*time.Second)
	time.Sleep(pubQuiet)

	wantValue := map[int]string{4: "undefined", 5: "object"}[version]
	got := received(t, receiver)
	toUser := checkBurst(t, "to_user", users, got.ByCommand["to_user"], s.storedOrder("to_user"), wantValue)
	toChannel := checkBurst(t, "to_channel", channels, got.ByCommand["to_channel"], s.storedOrder("to_channel"), wantValue)
	assert.Equal(t, []float64{1}, got.SenderTypes, "extra.sender.type is CLIENT (1)")
	assert.Len(t, got.SenderIDs, 1, "one sender id for every message of one sender")
	if len(got.SenderIDs) == 1 {
		assert.NotEmpty(t, got.SenderIDs[0], "extra.sender.id")
	}
	assert.Zero(t, got.BadInfo, "info of a client message is {type: 'client', moduleId}")
	assert.Zero(t, got.AsServer, "a client message reached a server subscriber")
	var toChannelCalls []int
	for _, c := range got.CommandCalls {
		assert.Equal(t, 4, c.Argc, "command subscriber arguments")
		assert.Equal(t, "to_channel", c.Command)
		assert.Equal(t, "client", c.InfoType)
		toChannelCalls = append(toChannelCalls, c.N)
	}
	assert.Equal(t, got.ByCommand["to_channel"], toChannelCalls, "the command subscriber got what the module subscriber got of its command")
	for name, r := range map[string]*modRun{"the sender": sender, "the bystander": bystander} {
		other := received(t, r)
		assert.Empty(t, other.ByCommand, "%s received messages sent to user 9", name)
	}
	after := sender.stats(t)
	st := s.srv.Stats()
	t.Logf("v%d to_user: %s", version, toUser)
	t.Logf("v%d to_channel: %s", version, toChannel)
	t.Logf("v%d faults: sender reconnects %d, renewals %d; server: %d client publishes, %d refused, %d replayed, %d rotations",
		version, after.Reconnects-before.Reconnects, after.Renewals-before.Renewals,
		st.ClientPublishes, st.ClientErrors, st.Replayed, st.Rotations)
	assert.Positive(t, after.Reconnects-before.Reconnects, "the sender reconnected during the burst")

	// To oneself: every message comes back once, in order; no other tab gets it.
	s.waitAllOnline(t, sender, receiver, bystander)
	startBurst(t, sender, "self", pubBurst{Users: []int{pubSender}, Command: "self", Count: pubSelf, Spacing: 20})
	self := waitSettled(t, sender, "self", pubSelf)
	waitDelivered(t, sender, "self", resolvedOf(self), modLive)
	time.Sleep(pubQuiet)
	selfTally := checkBurst(t, "self", self, received(t, sender).ByCommand["self"], s.storedOrder("self"), wantValue)
	assert.Equal(t, pubSelf, selfTally.Resolved, "sendMessage to oneself, connected and undisturbed")
	assert.Empty(t, received(t, receiver).ByCommand["self"], "the receiver got the sender's messages to itself")
	t.Logf("v%d self: %s", version, selfTally)

	pubArguments(t, sender)
	if version == 5 {
		pubPresence(t, sender)
		// A channel whose signature is wrong: the server refuses the publish call.
		o := evalOutcome(t, sender, `(c) => c.sendMessageToChannels([((ch) => ch.slice(0, -1) + (ch.endsWith('0') ? '1' : '0'))(pt.heldChannels()[0])], 'e2e_pub', 'forged', {})`)
		rejectedWith(t, "RPC_ERROR", o, "a forged signature (v5)")
	} else {
		for _, call := range []string{
			`(c) => c.getUsersLastSeen([7, 9])`,
			`(c) => c.listChannels()`,
			`(c) => c.ping()`,
			`(c) => c.subscribeUserStatusChange(11, () => {})`,
		} {
			rejectedWith(t, "JSON_RPC_REQUIRED", evalOutcome(t, sender, call), call+" on version 4")
		}
	}
	s.finishAll(t)
	t.Logf("v%d publishing run: %v", version, time.Since(began).Round(100*time.Millisecond))
}

// pubArguments: unusable arguments reject with INVALID_ARGUMENT, as a PullError, never a throw.
func pubArguments(t *testing.T, r *modRun) {
	for _, call := range []string{
		`(c) => c.sendMessage([], 'e2e_pub', 'x')`,
		`(c) => c.sendMessage('9', 'e2e_pub', 'x')`,
		`(c) => c.sendMessage([9, -1], 'e2e_pub', 'x')`,
		`(c) => c.sendMessage([9.5], 'e2e_pub', 'x')`,
		`(c) => c.sendMessage([9], '', 'x')`,
		`(c) => c.sendMessage([9], 'e2e_pub', '')`,
		`(c) => c.sendMessage([9], 'e2e_pub', 'x', [1, 2])`,
		`(c) => c.sendMessage([9], 'e2e_pub', 'x', 'params')`,
		`(c) => c.sendMessage([9], 'e2e_pub', 'x', {}, -1)`,
		`(c) => c.sendMessage([9], 'e2e_pub', 'x', {}, 1.5)`,
		`(c) => c.sendMessage([9], 'e2e_pub', 'x', { big: 10n })`,
		`(c) => c.sendMessageToChannels([], 'e2e_pub', 'x')`,
		`(c) => c.sendMessageToChannels('a.b', 'e2e_pub', 'x')`,
		`(c) => c.sendMessageToChannels([42], 'e2e_pub', 'x')`,
		`(c) => c.sendMessageToChannels([{ publicId: 'a' }], 'e2e_pub', 'x')`,
		`(c) => c.sendMessageToChannels(['no-signature'], 'e2e_pub', 'x')`,
		`(c) => c.getUsersLastSeen([])`,
		`(c) => c.getUsersLastSeen(['x'])`,
		`(c) => c.ping(-1)`,
		`(c) => c.subscribeUserStatusChange(0, () => {})`,
		`(c) => c.subscribeUserStatusChange(11, 'not a function')`,
	} {
		rejectedWith(t, "INVALID_ARGUMENT", evalOutcome(t, r, call), call)
	}
}

// pubPresence: the JSON-RPC presence calls answer; users connected now were last seen 0 s ago and a
// user never seen is left out.
func pubPresence(t *testing.T, r *modRun) {
	var p struct {
		Ping         pubOutcome `json:"ping"`
		ListChannels struct {
			pubOutcome
			Count int      `json:"count"`
			Types []string `json:"types"`
		} `json:"listChannels"`
		LastSeen pubOutcome `json:"lastSeen"`
	}
	require.NoError(t, r.page.Eval(r.ctx, `pt.presence([7, 9, 404])`, &p))
	assert.Equal(t, "resolved", p.Ping.Settled, "ping: %s %s", p.Ping.Code, p.Ping.Description)
	assert.Equal(t, "resolved", p.ListChannels.Settled, "listChannels: %s %s", p.ListChannels.Code, p.ListChannels.Description)
	assert.Equal(t, "object", p.ListChannels.Value)
	assert.Positive(t, p.ListChannels.Count, "listChannels names the connection's channels")
	require.Equal(t, "resolved", p.LastSeen.Settled, "getUsersLastSeen: %s %s", p.LastSeen.Code, p.LastSeen.Description)
	var seen map[string]float64
	require.NoError(t, json.Unmarshal(p.LastSeen.Result, &seen))
	assert.Equal(t, map[string]float64{"7": 0, "9": 0}, seen, "getUsersLastSeen([7, 9, 404])")
}

// pubUnavailable: where client publishing cannot work it is refused at once with
// PUBLISHING_UNAVAILABLE, and the presence calls with JSON_RPC_REQUIRED: a version 3 server, and a
// version 4 client on long polling (disableWebSocket).
func pubUnavailable(t *testing.T, b *browser.Browser) {
	for _, c := range []struct {
		name    string
		version int
		client  map[string]any
	}{
		{"v3", 3, nil},
		{"v4_long_polling", 4, map[string]any{"disableWebSocket": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startPubStand(t, b, c.version, standin.Options{})
			r := s.open(t, pubSender, c.client)
			res := r.startResult(t)
			require.True(t, res.OK, "start() rejected: %+v", res)
			var supported, enabled bool
			require.NoError(t, r.page.Eval(s.ctx, `mt.client().isPublishingSupported()`, &supported))
			require.NoError(t, r.page.Eval(s.ctx, `mt.client().isPublishingEnabled()`, &enabled))
			assert.Equal(t, c.version > 3, supported, "isPublishingSupported")
			assert.Equal(t, c.version > 3, enabled, "isPublishingEnabled")
			for _, call := range []string{
				`(c) => c.sendMessage([9], 'e2e_pub', 'x', {}, 60)`,
				`(c) => c.sendMessageToChannels(['0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef01234567'], 'e2e_pub', 'x')`,
			} {
				o := evalOutcome(t, r, call)
				rejectedWith(t, "PUBLISHING_UNAVAILABLE", o, call)
				assert.Less(t, o.MS, 1000, "%s: refused at once", call)
			}
			rejectedWith(t, "JSON_RPC_REQUIRED", evalOutcome(t, r, `(c) => c.getUsersLastSeen([7])`), "getUsersLastSeen")
			pubArguments(t, r)
			s.finishAll(t)
		})
	}
}

// TestPublishOrder: calls made in quick succession, one every 5 ms without waiting for the previous
// one, go out in the order they were made, in versions 4 and 5. Each round publishes to a user the
// sender has not published to before, so that in version 4 the first calls find no public channel
// cached and the client asks the portal for it (pull.channel.public.list) while later calls are
// made. The order is the one the push server took the messages in (standin Trace): no receiver is
// needed.
func TestPublishOrder(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, version := range []int{4, 5} {
		wg.Go(func() {
			t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
				s := startPubStand(t, b, version, standin.Options{})
				sender := s.open(t, pubSender, nil)
				s.startAll(t, sender)
				for _, user := range []int{21, 22, 23} {
					command := fmt.Sprintf("order_%d", user)
					rest := s.srv.Stats().RESTCalls
					startBurst(t, sender, command, pubBurst{Users: []int{user}, Command: command, Count: 20, Spacing: 5})
					out := waitSettled(t, sender, command, 20)
					for _, o := range out {
						assert.Equal(t, "resolved", o.Settled, "%s: call %d: %s %s", command, o.N, o.Code, o.Description)
					}
					stored := s.storedOrder(command)
					t.Logf("v%d %s: the push server took %v; %d REST calls meanwhile", version, command, stored, s.srv.Stats().RESTCalls-rest)
					assert.Len(t, stored, 20)
					assert.True(t, slices.IsSorted(stored), "%s: the messages went out in another order than the calls were made", command)
				}
				s.finishAll(t)
			})
		})
	}
	wg.Wait()
}

// TestPublishUserStatus: subscribeUserStatusChange(11) in user 7's tab (version 5) reports
// {userId: 11, isOnline: true} when a tab of user 11 connects and {userId: 11, isOnline: false}
// once that tab's client is destroyed; after unsubscribeUserStatusChange, another tab of user 11
// coming online is not reported. It needs a stand-in that sends online/userStatusChange on status
// subscriptions (docs/protocol.md §18).
func TestPublishUserStatus(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	s := startPubStand(t, b, 5, standin.Options{})
	watcher := s.open(t, pubSender, nil)
	s.startAll(t, watcher)
	require.NoError(t, watcher.page.Eval(s.ctx, `pt.watchStatus(11)`, nil), "subscribeUserStatusChange(11)")

	type statusEvent struct {
		UserID   int  `json:"userId"`
		IsOnline bool `json:"isOnline"`
	}
	events := func() []statusEvent {
		var ev []statusEvent
		require.NoError(t, watcher.page.Eval(s.ctx, `pt.statusEvents()`, &ev))
		return ev
	}
	waitEvents := func(n int, what string) {
		require.NoError(t, watcher.page.WaitFor(s.ctx, fmt.Sprintf(`pt.statusEvents().length >= %d`, n), modLive),
			"%s was not reported; so far: %+v", what, events())
	}

	first := s.open(t, pubBystander, nil)
	s.startAll(t, first)
	waitEvents(1, "user 11 coming online")
	s.finish(t, first)
	waitEvents(2, "user 11 going offline")
	assert.Equal(t, []statusEvent{{11, true}, {11, false}}, events())

	require.NoError(t, watcher.page.Eval(s.ctx, `pt.unwatchStatus(11)`, nil), "unsubscribeUserStatusChange(11)")
	second := s.open(t, pubBystander, nil)
	s.startAll(t, second)
	time.Sleep(time.Second)
	assert.Len(t, events(), 2, "a status change reported after unsubscribeUserStatusChange")
	s.finishAll(t)
}

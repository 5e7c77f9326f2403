//go:build !js

package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peer is one user's instance of the app: a client of its own on the shared stand-in, counting the
// client messages it receives by params.n, and the REST calls it makes by method.
type peer struct {
	user int
	c    *client.Client

	mu     sync.Mutex
	status []string       // online/userStatusChange events: "<user_id>:<online>"
	got    map[string]int // "<command>#<n>" → deliveries
	first  map[string]map[string]any
	rest   map[string]int
}

func newPeer(t *testing.T, srv *standin.Server, user int, tune func(*client.Options)) *peer {
	t.Helper()
	p := &peer{user: user, got: map[string]int{}, first: map[string]map[string]any{}, rest: map[string]int{}}
	base := &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(user, false)}
	opts := client.Options{
		REST: client.RESTFunc(func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
			p.mu.Lock()
			p.rest[method]++
			p.mu.Unlock()
			return base.Call(ctx, method, params)
		}),
		OnEvents: p.onEvents,
		Timing:   fastTiming(),
	}
	if tune != nil {
		tune(&opts)
	}
	p.c = client.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.c.Destroy(ctx)
	})
	return p
}

func (p *peer) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, p.c.Start(ctx))
}

func (p *peer) onEvents(batch []byte) {
	var evs []map[string]any
	if err := json.Unmarshal(batch, &evs); err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		if e["type"] == "online" && e["command"] == "userStatusChange" {
			params, _ := e["params"].(map[string]any)
			p.status = append(p.status, fmt.Sprintf("%v:%v", params["user_id"], params["online"]))
		}
		if e["type"] != "client" {
			continue
		}
		params, _ := e["params"].(map[string]any)
		key := fmt.Sprintf("%v#%v", e["command"], params["n"])
		p.got[key]++
		if p.first[key] == nil {
			p.first[key] = e
		}
	}
}

func (p *peer) count(command string, n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[fmt.Sprintf("%s#%d", command, n)]
}

func (p *peer) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	sum := 0
	for _, n := range p.got {
		sum += n
	}
	return sum
}

func (p *peer) statuses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.status...)
}

func (p *peer) restCalls(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rest[method]
}

// waitCount waits until the peer received command #n at least once.
func (p *peer) waitCount(t *testing.T, command string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return p.count(command, n) > 0 }, 5*time.Second, 5*time.Millisecond,
		"%s #%d never reached user %d", command, n, p.user)
}

// startAll starts the peers and waits until the push server reads each connection's channels: a
// server accepts a websocket before it subscribes it, and a live message sent in between is not
// for it.
func startAll(t *testing.T, srv *standin.Server, peers ...*peer) {
	t.Helper()
	for _, p := range peers {
		p.start(t)
	}
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen >= int64(len(peers)) }, 5*time.Second, 5*time.Millisecond)
}

func msg(command string, n int) protocol.ClientMessage {
	return protocol.ClientMessage{ModuleID: "application", Command: command, Params: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A client's messages to itself come back once each, in order, as client messages with the sender in
// extra, in both versions that can publish.
func TestSendMessageToSelfComesBackOnce(t *testing.T) {
	for _, v := range []int{4, 5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			defer srv.Close()
			a := newPeer(t, srv, 7, nil)
			startAll(t, srv, a)
			ctx := bounded(t)
			const n = 50
			for i := 1; i <= n; i++ {
				res, err := a.c.SendMessage(ctx, []int{7}, msg("self", i))
				require.NoError(t, err, "message %d", i)
				if v == 5 {
					assert.JSONEq(t, `{}`, string(res), "the publish call's result")
				} else {
					assert.Nil(t, res, "version 4 has no answer to pass on")
				}
			}
			require.Eventually(t, func() bool { return a.total() >= n }, 5*time.Second, 5*time.Millisecond)
			time.Sleep(100 * time.Millisecond) // room for a duplicate to show
			for i := 1; i <= n; i++ {
				assert.Equal(t, 1, a.count("self", i), "message %d", i)
			}
			e := a.first["self#1"]
			assert.Equal(t, "application", e["moduleId"])
			extra, _ := e["extra"].(map[string]any)
			sender, _ := extra["sender"].(map[string]any)
			assert.EqualValues(t, 1, sender["type"], "sender type CLIENT: %v", extra)
			assert.Zero(t, a.restCalls("pull.channel.public.list"), "the own app channel comes from the config")
		})
	}
}

// A message to another user reaches that user's instance of the same app and nobody else; version 4
// names the receiver by its app channel's public id, asked of the portal once and then cached.
func TestSendMessageReachesTheOtherUsersApp(t *testing.T) {
	for _, v := range []int{4, 5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			defer srv.Close()
			a, b, c := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil), newPeer(t, srv, 11, nil)
			startAll(t, srv, a, b, c)
			ctx := bounded(t)
			for i := 1; i <= 5; i++ {
				_, err := a.c.SendMessage(ctx, []int{9}, msg("to_b", i))
				require.NoError(t, err)
			}
			_, err = a.c.SendMessage(ctx, []int{9, 11}, msg("to_bc", 1))
			require.NoError(t, err)
			for i := 1; i <= 5; i++ {
				b.waitCount(t, "to_b", i)
			}
			b.waitCount(t, "to_bc", 1)
			c.waitCount(t, "to_bc", 1)
			time.Sleep(100 * time.Millisecond)
			assert.Equal(t, 6, b.total(), "user 9 got each message once")
			assert.Equal(t, 1, c.total(), "user 11 got only what was sent to it")
			assert.Zero(t, a.total(), "the sender got nothing it did not send to itself")
			if v == 4 {
				assert.Equal(t, 2, a.restCalls("pull.channel.public.list"),
					"one lookup for user 9, one for user 11; the cache served the rest")
			} else {
				assert.Zero(t, a.restCalls("pull.channel.public.list"), "version 5 servers resolve user ids")
			}
		})
	}
}

// sendMessageToChannels publishes to a public channel as a config names it: the receiver's
// channels.private.public_id.
func TestSendMessageToChannels(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	a, b := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil)
	startAll(t, srv, a, b)
	ctx := bounded(t)
	cfg, err := b.c.GetConfig(ctx, true, false)
	require.NoError(t, err)
	var parsed struct {
		Channels struct {
			Private struct {
				PublicID string `json:"public_id"`
			} `json:"private"`
		} `json:"channels"`
	}
	require.NoError(t, json.Unmarshal(cfg, &parsed))
	_, err = a.c.SendMessageToChannels(ctx, []string{parsed.Channels.Private.PublicID}, msg("chan", 1))
	require.NoError(t, err)
	b.waitCount(t, "chan", 1)

	// A signature that does not match: the push server closes the connection (4021) instead of
	// acknowledging; nothing is delivered, and the client says so and reconnects.
	bad := parsed.Channels.Private.PublicID[:33] + strings.Repeat("0", 40)
	_, err = a.c.SendMessageToChannels(ctx, []string{bad}, msg("chan", 2))
	assert.Equal(t, client.CodeConnectionLost, client.CodeOf(err), "%v", err)
	_, err = a.c.SendMessageToChannels(ctx, []string{parsed.Channels.Private.PublicID}, msg("chan", 4))
	require.NoError(t, err, "sent on the next connection")
	b.waitCount(t, "chan", 4)
	for _, bad := range []string{"", "nodot", "0f1e.00"} {
		_, err = a.c.SendMessageToChannels(ctx, []string{bad}, msg("chan", 3))
		assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err), "%q: %v", bad, err)
	}
	_, err = a.c.SendMessageToChannels(ctx, nil, msg("chan", 3))
	assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err))
	time.Sleep(200 * time.Millisecond)
	assert.Zero(t, b.count("chan", 2))
	assert.Equal(t, 2, b.total())
}

// In version 5 the server answers every publish: a bad signature is a JSON-RPC error.
func TestSendMessageToChannelsRPCError(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 5})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	startAll(t, srv, a)
	_, err = a.c.SendMessageToChannels(bounded(t), []string{strings.Repeat("a", 32) + "." + strings.Repeat("0", 40)}, msg("chan", 1))
	require.Error(t, err)
	assert.Equal(t, client.CodeRPCError, client.CodeOf(err), "%v", err)
	var rpcErr *protocol.RPCError
	require.ErrorAs(t, err, &rpcErr)
	assert.Equal(t, protocol.RPCInvalidParams, rpcErr.Code)
}

// The public ids are kept until their end and asked again after it.
func TestPublicIDsAreFetchedAgainAfterTheirEnd(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4, ChannelLifetime: 2 * time.Second})
	require.NoError(t, err)
	defer srv.Close()
	a, b := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil)
	startAll(t, srv, a, b)
	ctx := bounded(t)
	_, err = a.c.SendMessage(ctx, []int{9}, msg("x", 1))
	require.NoError(t, err)
	_, err = a.c.SendMessage(ctx, []int{9}, msg("x", 2))
	require.NoError(t, err)
	assert.Equal(t, 1, a.restCalls("pull.channel.public.list"))
	time.Sleep(2500 * time.Millisecond)
	// The receiver renews its own two-second channels meanwhile: the server keeps this one for it.
	later := msg("x", 3)
	later.Expiry = 60
	_, err = a.c.SendMessage(ctx, []int{9}, later)
	require.NoError(t, err)
	assert.Equal(t, 2, a.restCalls("pull.channel.public.list"), "the cached id ended")
	b.waitCount(t, "x", 3)
}

// A portal error of the public id lookup comes back as the Bitrix error.
func TestPublicIDLookupFailure(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	startAll(t, srv, a)
	srv.FailREST("QUERY_LIMIT_EXCEEDED", 1)
	_, err = a.c.SendMessage(bounded(t), []int{9}, msg("x", 1))
	re, ok := protocol.AsRESTError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "QUERY_LIMIT_EXCEEDED", re.Code)
}

// Where publishing cannot work, the call fails at once with a code that says why.
func TestPublishingUnavailable(t *testing.T) {
	cases := []struct {
		name string
		opts standin.Options
		tune func(*client.Options)
		code string
	}{
		{"v3", standin.Options{Version: 3}, nil, client.CodePublishingUnavailable},
		{"publish_enabled false", standin.Options{Version: 4, PublishDisabled: true}, nil, client.CodePublishingUnavailable},
		{"long polling", standin.Options{Version: 4}, func(o *client.Options) { o.DisableWebSocket = true }, client.CodePublishingUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := standin.Start(tc.opts)
			require.NoError(t, err)
			defer srv.Close()
			a := newPeer(t, srv, 7, tc.tune)
			a.start(t) // nothing is delivered here: no need to wait for the subscription
			if tc.opts.PublishDisabled {
				assert.True(t, a.c.PublishingSupported())
				assert.False(t, a.c.PublishingEnabled())
			}
			began := time.Now()
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("x", 1))
			assert.Equal(t, tc.code, client.CodeOf(err), "%v", err)
			assert.Less(t, time.Since(began), time.Second, "refused at once")
			_, err = a.c.SendMessageToChannels(bounded(t), []string{strings.Repeat("a", 32) + ".00"}, msg("x", 1))
			assert.Equal(t, tc.code, client.CodeOf(err), "%v", err)
			_, err = a.c.Ping(bounded(t), 0)
			assert.Equal(t, client.CodeJSONRPCRequired, client.CodeOf(err), "%v", err)
		})
	}
	t.Run("reports", func(t *testing.T) {
		for v, want := range map[int][2]bool{3: {false, false}, 4: {true, true}, 5: {true, true}} {
			srv, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			a := newPeer(t, srv, 7, nil)
			assert.False(t, a.c.PublishingSupported(), "no config yet")
			startAll(t, srv, a)
			assert.Equal(t, want, [2]bool{a.c.PublishingSupported(), a.c.PublishingEnabled()}, "v%d", v)
			_ = srv.Close()
		}
	})
}

// Bad arguments and a client that is not started are refused with a code.
func TestPublishArgumentsAndState(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 5})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	ctx := bounded(t)
	_, err = a.c.SendMessage(ctx, []int{7}, msg("x", 1))
	assert.Equal(t, client.CodeNotConnected, client.CodeOf(err), "not started: %v", err)
	_, err = a.c.Ping(ctx, 0)
	assert.Equal(t, client.CodeNotConnected, client.CodeOf(err), "not started: %v", err)
	startAll(t, srv, a)
	for _, m := range []protocol.ClientMessage{
		{Command: "x"}, {ModuleID: "m"}, {ModuleID: "m", Command: "x", Params: json.RawMessage(`[1]`)},
		{ModuleID: "m", Command: "x", Expiry: -5},
	} {
		_, err = a.c.SendMessage(ctx, []int{7}, m)
		assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err), "%+v: %v", m, err)
	}
	for _, users := range [][]int{nil, {0}, {7, -1}} {
		_, err = a.c.SendMessage(ctx, users, msg("x", 1))
		assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err), "%v", users)
		_, err = a.c.UsersLastSeen(ctx, users)
		assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err), "%v", users)
	}
	assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(a.c.SubscribeUserStatus(ctx, 0)))
	assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(a.c.UnsubscribeUserStatus(ctx, -1)))
	require.NoError(t, a.c.Destroy(ctx))
	_, err = a.c.SendMessage(ctx, []int{7}, msg("x", 1))
	assert.ErrorIs(t, err, client.ErrDestroyed)
}

// A message sent while the connection is down waits for the next one and is delivered once; one that
// no connection takes within the send timeout fails, and is never sent later.
func TestPublishWhileDisconnected(t *testing.T) {
	for _, v := range []int{4, 5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			defer srv.Close()
			a := newPeer(t, srv, 7, func(o *client.Options) {
				o.SendTimeout = 3 * time.Second
				// An outage makes the client fall back to long polling, which cannot carry a publish;
				// back on websocket soon, the waiting message goes out.
				o.Timing.RestoreWebSocket = 300 * time.Millisecond
			})
			startAll(t, srv, a)
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("down", 0))
			require.NoError(t, err) // version 4: the public ids are known before the server goes down
			a.waitCount(t, "down", 0)

			srv.Restart(time.Second)
			require.Eventually(t, func() bool { return a.c.Status() != "online" }, 5*time.Second, 5*time.Millisecond)
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("down", 1))
			require.NoError(t, err, "waited for the connection to come back")
			a.waitCount(t, "down", 1)

			// Sent at once after the server went down, before the client noticed: either it waited
			// for the next connection and arrived, or it was written on the dead one and the client
			// says it was lost. Never a success that does not arrive.
			srv.Restart(500 * time.Millisecond)
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("down", 4))
			if err == nil {
				a.waitCount(t, "down", 4)
			} else {
				assert.Equal(t, client.CodeConnectionLost, client.CodeOf(err), "%v", err)
			}
			waitBack(t, srv, a)
			lost := a.count("down", 4) == 0

			srv.Restart(6 * time.Second)
			require.Eventually(t, func() bool { return a.c.Status() != "online" }, 5*time.Second, 5*time.Millisecond)
			began := time.Now()
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("down", 2))
			assert.Contains(t, []string{client.CodeNotConnected, client.CodePublishingUnavailable}, client.CodeOf(err),
				"no connection, or only long polling: %v", err)
			assert.InDelta(t, 3, time.Since(began).Seconds(), 1, "failed at the send timeout")
			waitBack(t, srv, a)
			_, err = a.c.SendMessage(bounded(t), []int{7}, msg("down", 3))
			require.NoError(t, err)
			a.waitCount(t, "down", 3)
			time.Sleep(100 * time.Millisecond)
			assert.Zero(t, a.count("down", 2), "a failed message was sent after all")
			if lost {
				assert.Equal(t, 3, a.total())
			} else {
				assert.Equal(t, 4, a.total())
			}
		})
	}
}

// waitBack waits until the push server is up and the peer connected to it again. The status alone
// does not tell: offline is reported only after a debounce.
func waitBack(t *testing.T, srv *standin.Server, p *peer) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen > 0 && p.c.Status() == "online" },
		15*time.Second, 20*time.Millisecond)
}

// Stop settles every call still waiting.
func TestStopSettlesWaitingCalls(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 5})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	startAll(t, srv, a)
	srv.Restart(5 * time.Second)
	require.Eventually(t, func() bool { return a.c.Status() != "online" }, 5*time.Second, 10*time.Millisecond)
	var done atomic.Int32
	errc := make(chan error, 2)
	go func() {
		_, err := a.c.SendMessage(context.Background(), []int{7}, msg("x", 1))
		done.Add(1)
		errc <- err
	}()
	go func() { _, err := a.c.Ping(context.Background(), 0); done.Add(1); errc <- err }()
	time.Sleep(200 * time.Millisecond)
	assert.Zero(t, done.Load(), "both wait for the connection")
	ctx := bounded(t)
	require.NoError(t, a.c.Stop(ctx))
	for i := 0; i < 2; i++ {
		select {
		case err := <-errc:
			assert.Equal(t, client.CodeNotConnected, client.CodeOf(err), "%v", err)
		case <-ctx.Done():
			t.Fatal("a call still waits after stop")
		}
	}
	assert.Zero(t, a.c.Stats().Goroutines)
}

// The presence calls of version 5: ping, listChannels, last seen merged from the push server and the
// portal, and the timeout of an unanswered call.
func TestPresenceCalls(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 5})
	require.NoError(t, err)
	defer srv.Close()
	a, b, gone := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil), newPeer(t, srv, 13, nil)
	startAll(t, srv, a, b, gone)
	ctx := bounded(t)
	require.NoError(t, gone.c.Stop(ctx))

	res, err := a.c.Ping(ctx, 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(res))

	res, err = a.c.ListChannels(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(res), `"channels"`)

	require.Eventually(t, func() bool {
		res, err = a.c.UsersLastSeen(ctx, []int{7, 9, 13, 404})
		return err == nil && strings.Contains(string(res), `"13"`)
	}, 5*time.Second, 50*time.Millisecond, "the stopped user shows as last seen: %s %v", res, err)
	var seen map[string]float64
	require.NoError(t, json.Unmarshal(res, &seen))
	assert.Equal(t, 0.0, seen["7"], "connected now")
	assert.Equal(t, 0.0, seen["9"], "connected now")
	assert.GreaterOrEqual(t, seen["13"], 0.0)
	assert.NotContains(t, seen, "404", "never seen")
	assert.Equal(t, 1, a.restCalls("pull.api.user.getLastSeen"), "the portal was asked about the users the push server did not know")

	srv.DelayFrames(3 * time.Second)
	began := time.Now()
	_, err = a.c.Ping(ctx, 300*time.Millisecond)
	assert.Equal(t, client.CodeTimeout, client.CodeOf(err), "%v", err)
	assert.Less(t, time.Since(began), 2*time.Second)
	srv.DelayFrames(0)
}

// User status subscriptions are accepted, bring the user's status changes to online subscribers,
// and are made again on every new connection until they end.
func TestUserStatusSubscriptionSurvivesReconnects(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 5})
	require.NoError(t, err)
	defer srv.Close()
	a, b := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil)
	startAll(t, srv, a)
	ctx := bounded(t)
	require.NoError(t, a.c.SubscribeUserStatus(ctx, 9))
	wantStatus := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool { return len(a.statuses()) >= len(want) }, 5*time.Second, 10*time.Millisecond,
			"status events: %v", a.statuses())
		assert.Equal(t, want, a.statuses())
	}
	b.start(t)
	wantStatus("9:true")
	require.NoError(t, b.c.Stop(ctx))
	wantStatus("9:true", "9:false")

	calls := srv.Stats().RPCCalls
	srv.DropConnections()
	waitBack(t, srv, a)
	require.Eventually(t, func() bool { return srv.Stats().RPCCalls > calls }, 5*time.Second, 5*time.Millisecond,
		"the subscription was not made again on the new connection")
	b.start(t)
	wantStatus("9:true", "9:false", "9:true")

	require.NoError(t, a.c.UnsubscribeUserStatus(ctx, 9))
	calls = srv.Stats().RPCCalls
	srv.DropConnections()
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen >= 2 && a.c.Status() == "online" }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.c.Stop(ctx))
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, calls, srv.Stats().RPCCalls, "an ended subscription was made again")
	assert.Len(t, a.statuses(), 3, "a status change after the subscription ended: %v", a.statuses())
}

// A start whose first config calls fail with a 500 and then with a 502 HTML page (a REST function that
// throws) goes online after retrying, and delivers everything sent after it.
func TestStartSurvivesAPortalHiccup(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	calls := 0
	a := newPeer(t, srv, 7, func(o *client.Options) {
		inner := o.REST
		o.REST = client.RESTFunc(func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
			calls++
			if method == "pull.application.config.get" && calls == 2 {
				return nil, fmt.Errorf("HTTP 502: <html><body>Bad Gateway</body></html>")
			}
			return inner.Call(ctx, method, params)
		})
	})
	srv.FailREST("INTERNAL_SERVER_ERROR", 1)
	ctx := bounded(t)
	require.NoError(t, a.c.Start(ctx))
	assert.Equal(t, 3, calls, "two failures, then the config")
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen >= 1 }, 5*time.Second, 5*time.Millisecond)
	for i := 1; i <= 5; i++ {
		_, err := a.c.SendMessage(ctx, []int{7}, msg("after", i))
		require.NoError(t, err)
	}
	for i := 1; i <= 5; i++ {
		a.waitCount(t, "after", i)
	}
	assert.Equal(t, 5, a.total())
}

// Publishes keep the order of the calls, also when the goroutines carrying them run in another order
// and the first waits for a public id lookup.
func TestPublishesKeepTheCallOrder(t *testing.T) {
	for _, v := range []int{4, 5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			defer srv.Close()
			a, b := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil)
			var order []int
			var mu sync.Mutex
			b.c = client.New(client.Options{
				REST: &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(9, false)}, Timing: fastTiming(),
				OnEvents: func(batch []byte) {
					var evs []map[string]any
					_ = json.Unmarshal(batch, &evs)
					mu.Lock()
					defer mu.Unlock()
					for _, e := range evs {
						if p, ok := e["params"].(map[string]any); ok && e["type"] == "client" {
							order = append(order, int(p["n"].(float64)))
						}
					}
				},
			})
			t.Cleanup(func() { _ = b.c.Destroy(context.Background()) })
			startAll(t, srv, a, b)
			ctx := bounded(t)
			const n = 30
			places := make([]context.Context, n)
			for i := range places {
				places[i] = a.c.InLine(ctx)
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := n - 1; i >= 0; i-- { // started last first
				wg.Go(func() { _, errs[i] = a.c.SendMessage(places[i], []int{9}, msg("seq", i)) })
			}
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "message %d", i)
			}
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == n }, 5*time.Second, 5*time.Millisecond)
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, order, "delivered in call order")

			// A refused publish gives its place up: the ones after it still go.
			bad := a.c.InLine(ctx)
			good := a.c.InLine(ctx)
			goodErr := make(chan error, 1)
			go func() { _, err := a.c.SendMessage(good, []int{9}, msg("after_refused", 1)); goodErr <- err }()
			_, err = a.c.SendMessage(bad, nil, msg("refused", 1))
			assert.Equal(t, client.CodeInvalidArgument, client.CodeOf(err))
			require.NoError(t, <-goodErr, "the one after the refused one went")
		})
	}
}

// A receiver's channel rotated before its end leaves a cached public id nobody reads: the
// acknowledgement of the next message says so, the id is dropped, and the message after that goes to
// the new channel (version 4).
func TestRotatedReceiverIsLookedUpAgain(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	a, b := newPeer(t, srv, 7, nil), newPeer(t, srv, 9, nil)
	startAll(t, srv, a, b)
	ctx := bounded(t)
	_, err = a.c.SendMessage(ctx, []int{9}, msg("rot", 1))
	require.NoError(t, err)
	b.waitCount(t, "rot", 1)
	renewals := b.c.Stats().Renewals
	srv.ExpireChannels(standin.ScopePrivate) // user 7's channel too: the sender renews its own
	require.Eventually(t, func() bool { return b.c.Stats().Renewals > renewals && b.c.Status() == "online" }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen >= 2 && a.c.Status() == "online" }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the rotated channels are left
	lookups := a.restCalls("pull.channel.public.list")
	_, err = a.c.SendMessage(ctx, []int{9}, msg("rot", 2)) // to the cached, retired id
	require.NoError(t, err)
	_, err = a.c.SendMessage(ctx, []int{9}, msg("rot", 3))
	require.NoError(t, err)
	b.waitCount(t, "rot", 3)
	assert.Equal(t, lookups+1, a.restCalls("pull.channel.public.list"), "the idle id was asked again")
	t.Logf("message 2, sent to the retired id, arrived %d time(s)", b.count("rot", 2))
	assert.LessOrEqual(t, b.count("rot", 2), 1)
}

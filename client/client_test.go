//go:build !js

package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
	"github.com/b24pull/b24pull/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastTiming shortens the protocol's delays so that whole recoveries take well under a second.
func fastTiming() *session.Timing {
	t := session.DefaultTiming()
	t.Backoff = [5]time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second}
	t.ChannelExpireReconnect = 50 * time.Millisecond
	t.RestartDelay = [2]time.Duration{50 * time.Millisecond, 200 * time.Millisecond}
	t.WrongChannelDelay = [2]time.Duration{50 * time.Millisecond, 200 * time.Millisecond}
	t.RenewJitter = [2]time.Duration{10 * time.Millisecond, 50 * time.Millisecond}
	t.RenewRetry = []time.Duration{100 * time.Millisecond, 300 * time.Millisecond}
	t.OfflineDebounce = 300 * time.Millisecond
	t.LongPollOpen = 500 * time.Millisecond
	t.StartTimeout = 15 * time.Second
	return &t
}

// recorder collects delivered events.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
	counts map[string]int // command + params.n → deliveries
}

func newRecorder() *recorder { return &recorder{counts: map[string]int{}} }

func (r *recorder) onEvents(batch []byte) {
	var evs []map[string]any
	if err := json.Unmarshal(batch, &evs); err != nil {
		panic(fmt.Sprintf("OnEvents got invalid JSON: %v", err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		r.events = append(r.events, e)
		if e["type"] == "server" {
			p, _ := e["params"].(map[string]any)
			r.counts[fmt.Sprintf("%v#%v", e["command"], p["n"])]++
		}
	}
}

func (r *recorder) count(command string, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[fmt.Sprintf("%s#%d", command, n)]
}

func (r *recorder) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.events...)
}

func (r *recorder) find(command string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e["command"] == command {
			return e
		}
	}
	return nil
}

type fixture struct {
	srv *standin.Server
	c   *client.Client
	rec *recorder
	log *strings.Builder
	mu  *sync.Mutex
}

func setup(t *testing.T, opts standin.Options, copts client.Options) *fixture {
	t.Helper()
	srv, err := standin.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	rec := newRecorder()
	f := &fixture{srv: srv, rec: rec, log: &strings.Builder{}, mu: &sync.Mutex{}}
	copts.REST = &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(1, false)}
	copts.OnEvents = rec.onEvents
	copts.Timing = fastTiming()
	copts.Logf = func(format string, args ...any) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fmt.Fprintf(f.log, format+"\n", args...)
	}
	f.c = client.New(copts)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client log:\n%s", f.logText())
			t.Logf("server stats: %+v", f.srv.Stats())
			t.Logf("client stats: %+v", f.c.Stats())
			f.rec.mu.Lock()
			t.Logf("deliveries: %v", f.rec.counts)
			f.rec.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.c.Destroy(ctx)
	})
	return f
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, f.c.Start(ctx))
	require.Equal(t, "online", f.c.Status())
	// A first connection has no mid to resume from, so a message published between the server's
	// handshake answer and its subscription reaches nobody (Push server 2.0 alike). Wait until the
	// server counts the subscription; later reconnects replay from their mid and need no wait.
	eventually(t, "subscribed on the server", func() bool {
		st := f.srv.Stats()
		return st.ConnectionsOpen+st.LongPollsPending > 0
	})
}

func (f *fixture) publish(t *testing.T, users []int, command string, n int) {
	t.Helper()
	require.NoError(t, f.srv.Publish(users, "application", command, json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))))
}

func (f *fixture) logText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond, what)
}

var versions = []int{3, 4, 5}

func TestDeliversAppEvents(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			f := setup(t, standin.Options{Version: v}, client.Options{})
			f.start(t)
			f.publish(t, nil, "shared", 1)
			f.publish(t, []int{1}, "private", 2)
			eventually(t, "both events", func() bool { return f.rec.count("shared", 1) == 1 && f.rec.count("private", 2) == 1 })
			e := f.rec.find("private")
			assert.Equal(t, "application", e["moduleId"])
			extra := e["extra"].(map[string]any)
			assert.EqualValues(t, 19, extra["revision_web"])
			assert.Contains(t, extra, "server_time_ago")
			if v >= 4 {
				assert.Equal(t, map[string]any{"type": float64(2)}, extra["sender"])
			}
			st := f.c.Stats()
			assert.EqualValues(t, 2, st.Messages)
			assert.Equal(t, map[int]string{3: "text", 4: "protobuf", 5: "json-rpc"}[v], st.Wire)
			assert.Equal(t, "websocket", st.Transport)
		})
	}
}

func TestResumesAfterDropAndRestartWithoutLossOrDuplicates(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			f := setup(t, standin.Options{Version: v}, client.Options{})
			f.start(t)
			n := 0
			publish := func(k int) {
				for i := 0; i < k; i++ {
					n++
					f.publish(t, []int{1}, "seq", n)
				}
			}
			publish(5)
			eventually(t, "first five", func() bool { return f.rec.count("seq", 5) == 1 })

			f.srv.DropConnections()
			publish(5) // published while the client is away
			eventually(t, "back online after the drop", func() bool { return f.c.Stats().Reconnects >= 1 && f.c.Status() == "online" })

			f.srv.Restart(300 * time.Millisecond)
			publish(5)
			eventually(t, "back online after the restart", func() bool { return f.c.Stats().Reconnects >= 2 && f.c.Status() == "online" })
			publish(5)
			eventually(t, "all 20", func() bool { return f.rec.count("seq", 20) == 1 })
			for i := 1; i <= n; i++ {
				assert.Equalf(t, 1, f.rec.count("seq", i), "message %d delivered exactly once", i)
			}
		})
	}
}

func TestRenewsShortLivedChannelsWithoutLoss(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			f := setup(t, standin.Options{Version: v, ChannelLifetime: 2 * time.Second}, client.Options{})
			f.start(t)
			deadline := time.Now().Add(7 * time.Second)
			n := 0
			for time.Now().Before(deadline) {
				n++
				users := []int{1}
				if n%2 == 0 {
					users = nil
				}
				f.publish(t, users, "tick", n)
				time.Sleep(50 * time.Millisecond)
			}
			eventually(t, "the last event", func() bool { return f.rec.count("tick", n) == 1 })
			for i := 1; i <= n; i++ {
				assert.Equalf(t, 1, f.rec.count("tick", i), "message %d delivered exactly once", i)
			}
			assert.GreaterOrEqual(t, f.c.Stats().Renewals, int64(2), "the channels rotated every 2 s")
		})
	}
}

func TestSystemCommands(t *testing.T) {
	for _, v := range versions {
		for _, tc := range []struct {
			name string
			do   func(*standin.Server) error
		}{
			{"expire all app channels", func(s *standin.Server) error { s.ExpireChannels("all"); return nil }},
			{"expire portal-typed private", func(s *standin.Server) error { return s.ExpireChannelsVariant("private", "portal") }},
			{"expire portal-typed shared", func(s *standin.Server) error { return s.ExpireChannelsVariant("shared", "portal") }},
			{"config_expire", func(s *standin.Server) error { s.ConfigExpire(); return nil }},
			{"server_restart", func(s *standin.Server) error { s.ServerRestartMessage(); return nil }},
		} {
			t.Run(fmt.Sprintf("v%d/%s", v, tc.name), func(t *testing.T) {
				t.Parallel()
				f := setup(t, standin.Options{Version: v}, client.Options{})
				f.start(t)
				loads := f.c.Stats().ConfigLoads
				require.NoError(t, tc.do(f.srv))
				f.publish(t, []int{1}, "after", 1)
				f.publish(t, nil, "after", 2)
				eventually(t, "events after the command", func() bool { return f.rec.count("after", 1) == 1 && f.rec.count("after", 2) == 1 })
				if tc.name != "server_restart" {
					eventually(t, "config reloaded or channel applied", func() bool {
						s := f.c.Stats()
						return s.ConfigLoads > loads || s.Renewals > 0
					})
				}
				time.Sleep(300 * time.Millisecond)
				assert.Equal(t, 1, f.rec.count("after", 1))
				assert.Equal(t, 1, f.rec.count("after", 2))
				assert.Equal(t, "online", f.c.Status())
			})
		}
	}
}

func TestLongPolling(t *testing.T) {
	for _, v := range []int{3, 4} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			// Before the first message there is no mid, and a message published between two GETs
			// cannot be replayed to anyone (the server replays from a mid only). A hold longer than
			// the start keeps the first message on a pending GET; later ones resume from its mid.
			f := setup(t, standin.Options{Version: v, LongPollHold: time.Second}, client.Options{DisableWebSocket: true})
			f.start(t)
			assert.Equal(t, "long-polling", f.c.Stats().Transport)
			for i := 1; i <= 3; i++ {
				f.publish(t, []int{1}, "lp", i)
				time.Sleep(150 * time.Millisecond)
			}
			time.Sleep(1500 * time.Millisecond) // a GET ends in 304 with Last-Message-Id
			f.publish(t, nil, "lp", 4)
			eventually(t, "all four", func() bool { return f.rec.count("lp", 4) == 1 })
			for i := 1; i <= 4; i++ {
				assert.Equal(t, 1, f.rec.count("lp", i))
			}
		})
	}
}

func TestGarbageFrameCountedConnectionKept(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			f := setup(t, standin.Options{Version: v}, client.Options{})
			f.start(t)
			f.srv.SendGarbage()
			eventually(t, "garbage counted", func() bool { return f.c.Stats().GarbageFrames >= 1 })
			f.publish(t, []int{1}, "still", 1)
			eventually(t, "still delivering", func() bool { return f.rec.count("still", 1) == 1 })
			assert.EqualValues(t, 1, f.c.Stats().Connects, "the connection stayed up")
		})
	}
}

func TestDuplicatedMessagesSkipped(t *testing.T) {
	f := setup(t, standin.Options{Version: 4}, client.Options{})
	f.start(t)
	f.srv.DuplicateNext(3)
	for i := 1; i <= 3; i++ {
		f.publish(t, []int{1}, "dup", i)
	}
	eventually(t, "duplicates skipped", func() bool { return f.c.Stats().DuplicatesSkipped == 3 })
	for i := 1; i <= 3; i++ {
		assert.Equal(t, 1, f.rec.count("dup", i))
	}
}

func TestStartRejectsWithBitrixError(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(*standin.Server, *client.Options)
		code string
	}{
		{"webhook auth", func(s *standin.Server, o *client.Options) {
			o.REST = &client.HTTPREST{Base: s.PortalURL(), Auth: s.WebhookToken()}
		}, "WRONG_AUTH_TYPE"},
		{"push server not configured", func(s *standin.Server, o *client.Options) { s.SetPushConfigured(false) }, "SERVER_ERROR"},
		{"unknown token", func(s *standin.Server, o *client.Options) {
			o.REST = &client.HTTPREST{Base: s.PortalURL(), Auth: "not-a-token"}
		}, "NO_AUTH_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := standin.Start(standin.Options{})
			require.NoError(t, err)
			defer srv.Close()
			opts := client.Options{REST: &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(1, false)}, Timing: fastTiming()}
			tc.prep(srv, &opts)
			c := client.New(opts)
			err = c.Start(context.Background())
			var rerr *protocol.RESTError
			require.True(t, errors.As(err, &rerr), "got %v", err)
			assert.Equal(t, tc.code, rerr.Code)
			assert.NotEmpty(t, rerr.Description)
			assert.Equal(t, "offline", c.Status())
			assert.EqualValues(t, 0, c.Stats().Goroutines)
		})
	}
}

func TestStopLeavesNothingRunningAndRestartResumes(t *testing.T) {
	f := setup(t, standin.Options{Version: 4}, client.Options{})
	for round := 1; round <= 3; round++ {
		f.start(t)
		f.publish(t, []int{1}, "round", round)
		eventually(t, "delivered", func() bool { return f.rec.count("round", round) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, f.c.Stop(ctx))
		cancel()
		assert.EqualValues(t, 0, f.c.Stats().Goroutines)
		assert.Equal(t, "offline", f.c.Status())
		f.publish(t, []int{1}, "while-stopped", round)
	}
	f.start(t)
	eventually(t, "replayed from the last mid", func() bool { return f.rec.count("while-stopped", 3) == 1 })
	for i := 1; i <= 3; i++ {
		assert.Equal(t, 1, f.rec.count("while-stopped", i))
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	f := setup(t, standin.Options{Version: 4, ChannelLifetime: time.Second}, client.Options{})
	f.start(t)
	cfgText, err := f.c.GetConfig(context.Background(), false, true)
	require.NoError(t, err)
	cfg, err := protocol.ParseConfig([]byte(`{"result":`+string(cfgText)+`}`), time.Now())
	require.NoError(t, err)
	f.srv.DropConnections()
	eventually(t, "renewed", func() bool { return f.c.Stats().Renewals >= 1 && f.c.Status() == "online" })
	logs := f.logText() + string(f.c.DebugInfo())
	require.NotEmpty(t, f.logText())
	for _, s := range cfg.Secrets() {
		assert.NotContainsf(t, logs, s, "a secret reached the log or debug info")
	}
	assert.Contains(t, string(f.c.DebugInfo()), `"status":"online"`)
}

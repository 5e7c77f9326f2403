//go:build !js

package client_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The getters' facts follow the config in use and the connection; the config comes back in the
// portal's shape.
func TestFactsAndConfig(t *testing.T) {
	for _, v := range []int{3, 4, 5} {
		srv, err := standin.Start(standin.Options{Version: v})
		require.NoError(t, err)
		a := newPeer(t, srv, 7, nil)
		assert.Equal(t, client.Facts{}, a.c.Facts(), "nothing before a config")
		assert.Nil(t, a.c.ConfigJSON())
		a.start(t)
		f := a.c.Facts()
		assert.Equal(t, v, f.ServerVersion)
		require.NotNil(t, f.ServerMode)
		assert.Equal(t, "personal", *f.ServerMode)
		require.NotNil(t, f.Revision)
		assert.Equal(t, 19, *f.Revision)
		assert.Equal(t, v >= 5, f.JSONRPC)
		assert.False(t, f.SharedMode)
		assert.True(t, f.WebSocketEnabled)
		assert.True(t, f.WebSocketAllowed)
		assert.True(t, f.Connected)
		u, err := url.Parse(f.ConnectionPath)
		require.NoError(t, err)
		assert.Equal(t, "ws", u.Scheme)
		if v < 5 {
			assert.NotEmpty(t, u.Query().Get("CHANNEL_ID"))
			assert.Contains(t, f.PublicationPath, "CHANNEL_ID=")
		} else {
			assert.NotEmpty(t, u.Query().Get("token"))
		}
		var cfg map[string]any
		require.NoError(t, json.Unmarshal(a.c.ConfigJSON(), &cfg))
		server, _ := cfg["server"].(map[string]any)
		assert.EqualValues(t, v, server["version"])
		assert.NotContains(t, a.c.Stats().LastError, "CHANNEL_ID")
		_ = srv.Close()
	}
}

// StartWith connects from the app's config without asking the portal for one.
func TestStartWithTheAppsConfig(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	loader := newPeer(t, srv, 7, nil)
	answer, err := loader.c.GetConfig(bounded(t), false, false)
	require.NoError(t, err)

	a := newPeer(t, srv, 7, nil)
	require.NoError(t, a.c.StartWith(bounded(t), answer))
	assert.Zero(t, a.restCalls("pull.application.config.get"), "the given config was used")
	assert.Equal(t, "online", a.c.Status())
	require.Eventually(t, func() bool { return srv.Stats().ConnectionsOpen >= 1 }, 5*time.Second, 5*time.Millisecond)
	_, err = a.c.SendMessage(bounded(t), []int{7}, msg("given", 1))
	require.NoError(t, err)
	a.waitCount(t, "given", 1)

	b := newPeer(t, srv, 9, nil)
	err = b.c.StartWith(bounded(t), []byte(`{"server":{}}`))
	require.Error(t, err)
	assert.Equal(t, "offline", b.c.Status())
}

// Restart reloads the config and reconnects; Reconnect dials again after its delay with the same
// config; StopWith ends everything; the resume position set before a start is the one dialled.
func TestRestartReconnectStop(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	a.c.SetLastMessageID("17000000000000000000000042")
	assert.Equal(t, "17000000000000000000000042", a.c.Stats().LastMID)
	startAll(t, srv, a)
	assert.Contains(t, a.c.Facts().ConnectionPath, "mid=17000000000000000000000042", "dialled from the position set")
	ctx := bounded(t)

	loads := a.restCalls("pull.application.config.get")
	connects := a.c.Stats().Connects
	require.NoError(t, a.c.Restart(ctx, 3004, "manual restart"))
	require.Eventually(t, func() bool {
		return a.restCalls("pull.application.config.get") > loads && a.c.Stats().Connects > connects && a.c.Status() == "online"
	}, 5*time.Second, 10*time.Millisecond)

	connects = a.c.Stats().Connects
	loads = a.restCalls("pull.application.config.get")
	began := time.Now()
	require.NoError(t, a.c.Reconnect(ctx, 3000, "again", 300*time.Millisecond))
	require.Eventually(t, func() bool { return a.c.Stats().Connects > connects && a.c.Status() == "online" }, 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond, "after the delay")
	assert.Equal(t, loads, a.restCalls("pull.application.config.get"), "with the config in use")

	require.NoError(t, a.c.StopWith(ctx, 3004, "bye"))
	assert.Equal(t, "offline", a.c.Status())
	assert.Zero(t, a.c.Stats().Goroutines)
	require.NoError(t, a.c.Reconnect(ctx, 1000, "x", 0), "nothing to reconnect")
	assert.Zero(t, a.c.Stats().Goroutines)
	require.NoError(t, a.c.Restart(ctx, 1000, "x"), "restart starts a stopped client")
	require.Eventually(t, func() bool { return a.c.Status() == "online" }, 5*time.Second, 10*time.Millisecond)
}

// Offline closes the connection and says so at once; online reconnects at once.
func TestNetworkEvents(t *testing.T) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer srv.Close()
	a := newPeer(t, srv, 7, nil)
	startAll(t, srv, a)
	a.c.Network(false)
	require.Eventually(t, func() bool { return a.c.Status() == "offline" && srv.Stats().ConnectionsOpen == 0 }, 2*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, "offline", a.c.Status(), "no dial while the browser is offline")
	began := time.Now()
	a.c.Network(true)
	require.Eventually(t, func() bool { return a.c.Status() == "online" }, 2*time.Second, 5*time.Millisecond)
	assert.Less(t, time.Since(began), time.Second, "at once")
	assert.False(t, strings.Contains(a.c.Stats().LastError, "offline"))
}

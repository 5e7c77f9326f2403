//go:build !js

package standin

import (
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// rpcCall sends one JSON-RPC request and returns the answer with its id, skipping pings and
// deliveries.
func rpcCall(t *testing.T, c *wsClient, frame string) gjson.Result {
	t.Helper()
	id := gjson.Get(frame, "id")
	c.send(t, websocket.MessageText, []byte(frame))
	for {
		r := gjson.ParseBytes(c.nextData(t).data)
		if r.Get("method").String() == "incoming.message" {
			t.Fatalf("unexpected delivery while waiting for answer %s: %s", id.Raw, r.Raw)
		}
		if r.Get("id").Raw == id.Raw {
			return r
		}
	}
}

// nextStatus waits for the next delivery on c, which must be a userStatusChange, and returns it.
func nextStatus(t *testing.T, c *wsClient) gjson.Result {
	t.Helper()
	r := gjson.ParseBytes(c.nextData(t).data)
	require.Equal(t, "incoming.message", r.Get("method").String(), r.Raw)
	require.Equal(t, "userStatusChange", r.Get("params.body.command").String(), r.Raw)
	return r.Get("params")
}

func TestUserStatusChange(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Version: 5}, tuning{})
	watcher, _ := connected(t, s, 7, nil)

	r := rpcCall(t, watcher, `{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":8},"id":1}`)
	assert.Equal(t, "{}", r.Get("result").Raw)

	// User 8's first connection: online.
	first, _ := connected(t, s, 8, nil)
	st := nextStatus(t, watcher)
	assert.Equal(t, "online", st.Get("body.module_id").String())
	assert.JSONEq(t, `{"user_id":8,"online":true}`, st.Get("body.params").Raw)
	assert.Equal(t, int64(2), st.Get("sender.type").Int(), "sent by the backend")
	assert.EqualValues(t, revisionWeb, st.Get("body.extra.revision_web").Int(), "the portal's extra")
	assert.True(t, st.Get("body.extra.server_time_unix").Exists())
	onlineMID := st.Get("mid").String()
	assert.Len(t, onlineMID, 26)

	// A second connection of user 8 changes nothing; its end neither.
	second, _ := connected(t, s, 8, nil)
	require.NoError(t, second.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "second connection gone", func() bool { return s.Stats().ConnectionsOpen == 2 })
	watcher.quiet(t, 50*time.Millisecond)

	// The last one ends: offline, with a later id; getUsersLastSeen agrees.
	require.NoError(t, first.conn.Close(websocket.StatusNormalClosure, ""))
	st = nextStatus(t, watcher)
	assert.JSONEq(t, `{"user_id":8,"online":false}`, st.Get("body.params").Raw)
	assert.Greater(t, st.Get("mid").String(), onlineMID)
	r = rpcCall(t, watcher, `{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":[7,8]},"id":2}`)
	assert.Equal(t, int64(0), r.Get("result.7").Int())
	assert.True(t, r.Get("result.8").Exists())

	// Status messages are live only: nothing stored, and a resume from the start replays none.
	assert.Zero(t, s.Stats().Stored)
	assert.Equal(t, int64(2), s.Stats().StatusChanges)

	// Unsubscribing forgets the watch (an id given as a string, as the official client re-sends it).
	r = rpcCall(t, watcher, `{"jsonrpc":"2.0","method":"unsubscribeStatusChange","params":{"userId":"8"},"id":3}`)
	assert.Equal(t, "{}", r.Get("result").Raw)
	connected(t, s, 8, nil)
	watcher.quiet(t, 50*time.Millisecond)

	// A string id subscribes too.
	r = rpcCall(t, watcher, `{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":"9"},"id":4}`)
	assert.Equal(t, "{}", r.Get("result").Raw)
	connected(t, s, 9, nil)
	assert.JSONEq(t, `{"user_id":9,"online":true}`, nextStatus(t, watcher).Get("body.params").Raw)
}

func TestUserStatusWatchesEndWithConnection(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Version: 5}, tuning{})
	stays, _ := connected(t, s, 7, nil)
	leaves, _ := connected(t, s, 6, nil)
	for _, c := range []*wsClient{stays, leaves} {
		r := rpcCall(t, c, `{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":8},"id":1}`)
		require.Equal(t, "{}", r.Get("result").Raw)
	}
	// Watching a user twice, or watching oneself, is harmless.
	rpcCall(t, leaves, `{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":8},"id":2}`)
	rpcCall(t, stays, `{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":7},"id":3}`)

	require.NoError(t, leaves.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "watcher gone", func() bool { return s.Stats().ConnectionsOpen == 1 })
	s.connMu.Lock()
	assert.Len(t, s.watchers[8], 1, "the closed connection's watches ended with it")
	s.connMu.Unlock()

	connected(t, s, 8, nil)
	assert.JSONEq(t, `{"user_id":8,"online":true}`, nextStatus(t, stays).Get("body.params").Raw)
	assert.Equal(t, int64(1), s.Stats().StatusChanges, "one watcher left")
}

func TestUserStatusInvalidParams(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Version: 5}, tuning{})
	c, _ := connected(t, s, 7, nil)
	for _, method := range []string{"subscribeStatusChange", "unsubscribeStatusChange"} {
		for _, params := range []string{`{}`, `{"userId":0}`, `{"userId":-3}`, `{"userId":1.5}`,
			`{"userId":"abc"}`, `{"userId":null}`, `{"userId":true}`, `[8]`, `"8"`} {
			r := rpcCall(t, c, `{"jsonrpc":"2.0","method":"`+method+`","params":`+params+`,"id":1}`)
			assert.Equal(t, int64(protocol.RPCInvalidParams), r.Get("error.code").Int(), "%s %s", method, params)
		}
		r := rpcCall(t, c, `{"jsonrpc":"2.0","method":"`+method+`","id":2}`)
		assert.Equal(t, int64(protocol.RPCInvalidParams), r.Get("error.code").Int(), "%s without params", method)
	}

	// The other methods answer as before.
	r := rpcCall(t, c, `{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":7},"id":3}`)
	assert.Equal(t, int64(protocol.RPCInvalidParams), r.Get("error.code").Int(), "userList not an array")
	r = rpcCall(t, c, `{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":{"a":7}},"id":4}`)
	assert.Equal(t, int64(protocol.RPCInvalidParams), r.Get("error.code").Int(), "userList an object")
	r = rpcCall(t, c, `{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":[7,99]},"id":5}`)
	assert.JSONEq(t, `{"7":0}`, r.Get("result").Raw, "a user never seen is left out")
	r = rpcCall(t, c, `{"jsonrpc":"2.0","method":"ping","params":{},"id":6}`)
	assert.Equal(t, "{}", r.Get("result").Raw)
	r = rpcCall(t, c, `{"jsonrpc":"2.0","method":"listChannels","params":{},"id":7}`)
	assert.Equal(t, "7", r.Get(`result.channels.#(type=="user").id`).String())
	c.send(t, websocket.MessageText, []byte(`{"jsonrpc":"2.0","method":"publish","params":{"userList":[7],"body":{"module_id":"app","command":"hi","params":{}}},"id":8}`))
	var answered, delivered bool
	for !answered || !delivered {
		f := gjson.ParseBytes(c.nextData(t).data)
		switch {
		case f.Get("id").Int() == 8:
			assert.Equal(t, "{}", f.Get("result").Raw)
			answered = true
		case f.Get("method").String() == "incoming.message":
			assert.Equal(t, "hi", f.Get("params.body.command").String())
			assert.Equal(t, int64(1), f.Get("params.sender.type").Int())
			delivered = true
		}
	}
	assert.Zero(t, s.Stats().StatusChanges)
}

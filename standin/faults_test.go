//go:build !js

package standin

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var allModes = []struct {
	name    string
	version int
	extra   url.Values
}{
	{"v3", 3, nil}, {"v4 text", 4, nil}, {"v4 binary", 4, url.Values{"binaryMode": {"true"}}}, {"v5", 5, nil},
}

func TestDuplicateNext(t *testing.T) {
	t.Parallel()
	for _, tc := range allModes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: tc.version}, tuning{})
			mode := modeOf(tc.version, tc.extra)
			c, _ := connected(t, s, 1, tc.extra)
			s.DuplicateNext(2)
			for _, cmd := range []string{"a", "b", "c"} {
				require.NoError(t, s.Publish([]int{1}, "", cmd, nil))
			}
			var mids, cmds []string
			for i := 0; i < 5; i++ {
				b := decode(t, mode, c.nextData(t))
				require.Len(t, b.Messages, 1)
				mids = append(mids, b.Messages[0].MID)
				cmds = append(cmds, b.Messages[0].Command)
			}
			assert.Equal(t, []string{"a", "a", "b", "b", "c"}, cmds)
			assert.Equal(t, mids[0], mids[1], "a duplicate carries the same mid")
			assert.Equal(t, int64(2), s.Stats().Duplicated)
			c.quiet(t, 50*time.Millisecond)
		})
	}
}

func TestDelayFrames(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	c, _ := connected(t, s, 1, nil)
	s.DelayFrames(300 * time.Millisecond)
	start := time.Now()
	require.NoError(t, s.Publish([]int{1}, "", "slow", nil))
	b := decode(t, wireText, c.nextData(t))
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assert.Equal(t, "slow", b.Messages[0].Command)

	s.DelayFrames(0)
	start = time.Now()
	require.NoError(t, s.Publish([]int{1}, "", "fast", nil))
	decode(t, wireText, c.nextData(t))
	assert.Less(t, time.Since(start), 300*time.Millisecond)
}

func TestGarbageAndOversized(t *testing.T) {
	t.Parallel()
	for _, tc := range allModes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: tc.version}, tuning{})
			mode := modeOf(tc.version, tc.extra)
			c, _ := connected(t, s, 1, tc.extra)

			s.SendGarbage()
			b := decode(t, mode, c.nextData(t))
			assert.Empty(t, b.Messages)
			assert.Equal(t, 1, b.Garbage)

			s.SendOversized(100000)
			f := c.nextData(t)
			assert.Len(t, f.data, 100000)
			b = decode(t, mode, f)
			require.Len(t, b.Messages, 1, "an oversized frame still holds a valid message")
			assert.Equal(t, "oversized", b.Messages[0].Command)

			s.SendOversized(8)
			f = c.nextData(t)
			assert.Len(t, f.data, 8, "too small for a message: filler")
			s.SendOversized(0)

			require.NoError(t, s.Publish([]int{1}, "", "still-alive", nil))
			b = decode(t, mode, c.nextData(t))
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "still-alive", b.Messages[0].Command)
		})
	}
}

func TestDropAndCloseConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	c, _ := connected(t, s, 1, nil)
	s.DropConnections()
	err := c.ended(t)
	require.Error(t, err)
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "no close frame: the browser sees 1006")
	waitFor(t, "connection removed", func() bool { return s.Stats().ConnectionsOpen == 0 })

	for _, tc := range []struct {
		code   int
		reason string
		want   websocket.StatusCode
	}{
		{4029, "Too many connections", 4029},
		{1001, "going away", 1001},
		{200, "low code", 1000},
	} {
		c, _ = connected(t, s, 1, nil)
		s.CloseConnections(tc.code, tc.reason)
		err = c.ended(t)
		var ce websocket.CloseError
		require.True(t, errors.As(err, &ce), "%v", err)
		assert.Equal(t, tc.want, ce.Code)
		assert.Equal(t, tc.reason, ce.Reason)
	}
	c, _ = connected(t, s, 1, nil)
	s.CloseConnections(1006, "abnormal")
	err = c.ended(t)
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "1006 cannot be sent: dropped")
}

func TestControlPings(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{wsPingEvery: 20 * time.Millisecond})
	connected(t, s, 1, nil)
	waitFor(t, "two control pings answered", func() bool { return s.Stats().Pings >= 2 })
	assert.Equal(t, int64(1), s.Stats().ConnectionsOpen, "answered pings keep the connection")
}

func TestJSONRPC(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{Version: 5}, tuning{rpcPingEvery: 30 * time.Millisecond})
	c, _ := connected(t, s, 7, nil)
	assert.Equal(t, "ping", string(c.next(t).data), "text ping keep-alive")
	c.send(t, websocket.MessageText, []byte(protocol.PongFrame))
	waitFor(t, "pong counted", func() bool { return s.Stats().Pongs == 1 })

	call := func(frame string) gjson.Result {
		t.Helper()
		c.send(t, websocket.MessageText, []byte(frame))
		return gjson.ParseBytes(c.nextData(t).data)
	}
	r := call(`{"jsonrpc":"2.0","method":"ping","params":{},"id":1}`)
	assert.Equal(t, int64(1), r.Get("id").Int())
	assert.Equal(t, "{}", r.Get("result").Raw)

	r = call(`{"jsonrpc":"2.0","method":"nope","params":{},"id":2}`)
	assert.Equal(t, int64(protocol.RPCMethodNotFound), r.Get("error.code").Int())

	r = call(`{bad json`)
	assert.Equal(t, int64(protocol.RPCParseError), r.Get("error.code").Int())
	assert.Equal(t, "null", r.Get("id").Raw)

	r = call(`[{"jsonrpc":"2.0","method":"ping","id":3},{"jsonrpc":"2.0","method":"subscribeStatusChange","params":{"userId":9},"id":4}]`)
	require.True(t, r.IsArray())
	assert.Equal(t, int64(3), r.Get("0.id").Int())
	assert.Equal(t, int64(4), r.Get("1.id").Int())

	r = call(`{"jsonrpc":"2.0","method":"listChannels","params":{},"id":5}`)
	assert.Equal(t, "user", r.Get(`result.channels.#(type=="user").type`).String())
	assert.Equal(t, "7", r.Get(`result.channels.#(type=="user").id`).String())

	// User 8 was online and left; user 9 never came.
	other, _ := connected(t, s, 8, nil)
	require.NoError(t, other.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "user 8 gone", func() bool { return s.Stats().ConnectionsOpen == 1 })
	r = call(`{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":[7,8,9]},"id":6}`)
	assert.Equal(t, int64(0), r.Get("result.7").Int())
	assert.True(t, r.Get("result.8").Exists())
	assert.False(t, r.Get("result.9").Exists())

	// publish to myself: a client message, sender type 1 with my app public id.
	_, answer := rest(t, s, "pull.channel.public.get", url.Values{"auth": {s.NewToken(7, false)}, "USER_ID": {"7"}, "APPLICATION": {"Y"}})
	myPub := answer.Get("result.public_id").String()
	require.Len(t, myPub, 32)
	c.send(t, websocket.MessageText, []byte(`{"jsonrpc":"2.0","method":"publish","params":{"userList":[7],"body":{"module_id":"app","command":"hello","params":{"x":1}},"user_params":{"u":2}},"id":7}`))
	var gotResult, gotMessage bool
	for !(gotResult && gotMessage) {
		f := c.nextData(t)
		frame := protocol.DecodeJSONRPC(f.data)
		for _, resp := range frame.Responses {
			assert.Equal(t, int64(7), resp.ID)
			assert.Nil(t, resp.Err)
			gotResult = true
		}
		for _, m := range frame.Messages {
			assert.Equal(t, "hello", m.Command)
			require.NotNil(t, m.Sender)
			assert.Equal(t, protocol.SenderClient, m.Sender.Type)
			assert.Equal(t, myPub, m.Sender.ID)
			assert.JSONEq(t, `{"x":1,"u":2}`, string(m.Params))
			c.send(t, websocket.MessageText, protocol.Mack(m.MID))
			gotMessage = true
		}
	}
	waitFor(t, "ack counted", func() bool { return s.Stats().Acks == 1 })

	// publish through a signed public channel id resolves to the owner.
	sig := publicSignature(DefaultSignatureKey, myPub)
	c.send(t, websocket.MessageText, []byte(`{"jsonrpc":"2.0","method":"publish","params":{"channelList":[{"publicId":"`+myPub+`","signature":"`+sig+`"}],"body":{"module_id":"app","command":"viaChannel","params":{}}},"id":8}`))
	gotResult, gotMessage = false, false
	for !(gotResult && gotMessage) {
		frame := protocol.DecodeJSONRPC(c.nextData(t).data)
		for _, resp := range frame.Responses {
			assert.Equal(t, int64(8), resp.ID)
			assert.Nil(t, resp.Err)
			gotResult = true
		}
		for _, m := range frame.Messages {
			assert.Equal(t, "viaChannel", m.Command)
			gotMessage = true
		}
	}

	for _, bad := range []string{
		`{"jsonrpc":"2.0","method":"publish","params":{"userList":[7]},"id":9}`,
		`{"jsonrpc":"2.0","method":"publish","params":{"body":{"module_id":"a","command":"b"}},"id":9}`,
		`{"jsonrpc":"2.0","method":"publish","params":{"channelList":["` + myPub + `.` + flipLast(sig) + `"],"body":{"module_id":"a","command":"b"}},"id":9}`,
		`{"jsonrpc":"2.0","method":"publish","params":[1],"id":9}`,
	} {
		r = call(bad)
		assert.Equal(t, int64(protocol.RPCInvalidParams), r.Get("error.code").Int(), bad)
	}
}

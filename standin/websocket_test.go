//go:build !js

package standin

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// decode reads a frame the way a client of that mode does.
func decode(t *testing.T, mode wireMode, f wsFrame) protocol.Batch {
	t.Helper()
	switch mode {
	case wireBinary:
		require.Equal(t, websocket.MessageBinary, f.typ)
		return protocol.DecodeProtobuf(f.data)
	case wireRPC:
		require.Equal(t, websocket.MessageText, f.typ)
		return protocol.DecodeJSONRPC(f.data).Batch
	default:
		require.Equal(t, websocket.MessageText, f.typ)
		return protocol.DecodeText(f.data)
	}
}

// connected opens a connection for a fresh user of s and waits until the server registered it.
func connected(t *testing.T, s *Server, user int, extra url.Values) (*wsClient, gjson.Result) {
	t.Helper()
	cfg := appConfig(t, s, s.NewToken(user, false))
	return dialReady(t, s, wsURL(s, subQuery(cfg, extra))), cfg
}

// dialReady dials and waits until the server has subscribed the connection.
func dialReady(t *testing.T, s *Server, rawURL string) *wsClient {
	t.Helper()
	before := s.Stats().ConnectionsTotal
	c := dial(t, rawURL)
	waitFor(t, "connection subscribed", func() bool { return s.Stats().ConnectionsTotal > before })
	return c
}

func modeOf(version int, extra url.Values) wireMode {
	switch {
	case version >= 5:
		return wireRPC
	case version == 4 && extra.Get("binaryMode") == "true":
		return wireBinary
	default:
		return wireText
	}
}

func TestDeliveryByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version int
		extra   url.Values
		mode    string
	}{
		{"v3 text", 3, nil, ModePersonal},
		{"v4 text", 4, nil, ModePersonal},
		{"v4 binary", 4, url.Values{"binaryMode": {"true"}}, ModePersonal},
		{"v4 binary shared", 4, url.Values{"binaryMode": {"true"}}, ModeShared},
		{"v5 json-rpc", 5, nil, ModePersonal},
		{"v5 json-rpc shared", 5, nil, ModeShared},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: tc.version, Mode: tc.mode}, tuning{})
			mode := modeOf(tc.version, tc.extra)
			c, cfg := connected(t, s, 7, tc.extra)

			require.NoError(t, s.Publish([]int{7}, "", "toUser", json.RawMessage(`{"n":1,"text":"héllo ✓"}`)))
			b := decode(t, mode, c.nextData(t))
			require.Len(t, b.Messages, 1)
			m := b.Messages[0]
			assert.Zero(t, b.Garbage)
			assert.Regexp(t, `^[0-9]{26}$`, m.MID)
			assert.Equal(t, "application", m.ModuleID)
			assert.Equal(t, "toUser", m.Command)
			assert.JSONEq(t, `{"n":1,"text":"héllo ✓"}`, string(m.Params))
			extra := gjson.ParseBytes(m.Extra)
			assert.Equal(t, int64(19), extra.Get("revision_web").Int())
			assert.Equal(t, int64(3), extra.Get("revision_mobile").Int())
			assert.Equal(t, "127.0.0.1", extra.Get("server_name").String())
			assert.InDelta(t, float64(time.Now().UnixMicro())/1e6, extra.Get("server_time_unix").Float(), 60)
			if mode == wireText {
				assert.Nil(t, m.Sender)
			} else {
				require.NotNil(t, m.Sender)
				assert.Equal(t, protocol.SenderBackend, m.Sender.Type)
			}

			require.NoError(t, s.Publish(nil, "my.module", "toAll", nil))
			b = decode(t, mode, c.nextData(t))
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "my.module", b.Messages[0].ModuleID)
			assert.JSONEq(t, `{}`, string(b.Messages[0].Params), "PHP's [] reads as {}")
			assert.Greater(t, b.Messages[0].MID, m.MID)

			if tc.version == 3 {
				// Push server 1.0 names the first channel of the publish in the envelope.
				_, _, shared := rawIDs(cfg)
				require.NoError(t, s.Publish(nil, "", "env", nil))
				f := c.nextData(t)
				assert.Contains(t, string(f.data), `"channel":"`+shared+`"`)
			}
			assert.Equal(t, int64(1), s.Stats().ConnectionsOpen)
			waitFor(t, "deliveries counted", func() bool { return s.Stats().Delivered >= 2 })
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("testdata/ws-bad-signature-handshake.txt")
	require.NoError(t, err)
	wantStatus, wantBody, _ := strings.Cut(string(fixture), "\n")
	require.Equal(t, "HTTP 400", wantStatus)
	wantBody = strings.TrimRight(wantBody, "\n")

	for _, tc := range []struct {
		name    string
		opts    Options
		query   func(cfg gjson.Result) url.Values
		status  int
		body    string
		version int
	}{
		{"bad signature", Options{}, func(cfg gjson.Result) url.Values {
			q := subQuery(cfg, nil)
			q.Set("CHANNEL_ID", flipLast(q.Get("CHANNEL_ID")))
			return q
		}, 400, wantBody, 4},
		{"no channel", Options{}, func(gjson.Result) url.Values { return url.Values{"revision": {"19"}} }, 400, wantBody, 4},
		{"v3 bad signature", Options{Version: 3}, func(cfg gjson.Result) url.Values {
			return url.Values{"CHANNEL_ID": {strings.Repeat("a", 32) + "." + strings.Repeat("b", 40)}}
		}, 400, "", 3},
		{"v5 bad token", Options{Version: 5}, func(cfg gjson.Result) url.Values {
			return url.Values{"token": {cfg.Get("jwt").String() + "x"}, "jsonRpc": {"true"}}
		}, 400, wantBody, 5},
		{"v5 channel ids instead of a token", Options{Version: 5}, func(cfg gjson.Result) url.Values {
			return url.Values{"CHANNEL_ID": {cfg.Get("channels.shared.id").String()}}
		}, 400, wantBody, 5},
		{"shared without clientId", Options{Mode: ModeShared}, func(cfg gjson.Result) url.Values {
			q := subQuery(cfg, nil)
			q.Del("clientId")
			return q
		}, 400, "Client Id is required.", 4},
		{"shared with a wrong clientId", Options{Mode: ModeShared}, func(cfg gjson.Result) url.Values {
			q := subQuery(cfg, nil)
			q.Set("clientId", "other")
			return q
		}, 400, "Wrong Client Id.", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, tc.opts, tuning{})
			cfg := appConfig(t, s, s.NewToken(1, false))
			_, resp, err := tryDial(wsURL(s, tc.query(cfg)))
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
			body := make([]byte, 256)
			n, _ := resp.Body.Read(body)
			assert.Equal(t, tc.body, string(body[:n]))
			assert.Equal(t, int64(1), s.Stats().HandshakesRefused)
			assert.Equal(t, int64(0), s.Stats().ConnectionsTotal)

			s.Reject4010(true)
			c, _, err := tryDial(wsURL(s, tc.query(cfg)))
			require.NoError(t, err, "4010 mode accepts the websocket")
			err = c.ended(t)
			var ce websocket.CloseError
			require.True(t, errors.As(err, &ce), "%v", err)
			if strings.Contains(tc.body, "Client Id") {
				assert.Contains(t, []websocket.StatusCode{4025, 4036}, ce.Code)
			} else {
				assert.Equal(t, websocket.StatusCode(4010), ce.Code)
			}
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestReplayFromMid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version int
		extra   url.Values
	}{
		{"v3", 3, nil}, {"v4 text", 4, nil}, {"v4 binary", 4, url.Values{"binaryMode": {"true"}}}, {"v5", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: tc.version}, tuning{})
			mode := modeOf(tc.version, tc.extra)
			c, cfg := connected(t, s, 5, tc.extra)
			require.NoError(t, s.Publish([]int{5}, "", "first", nil))
			first := decode(t, mode, c.nextData(t)).Messages[0]
			require.NoError(t, c.conn.Close(websocket.StatusNormalClosure, ""))
			waitFor(t, "connection gone", func() bool { return s.Stats().ConnectionsOpen == 0 })

			require.NoError(t, s.Publish([]int{5}, "", "second", nil))
			require.NoError(t, s.Publish(nil, "", "third", nil))

			extra := url.Values{"mid": {first.MID}}
			for k, v := range tc.extra {
				extra[k] = v
			}
			again := dial(t, wsURL(s, subQuery(cfg, extra)))
			b := decode(t, mode, again.nextData(t))
			require.Len(t, b.Messages, 2, "the replay is one frame")
			assert.Equal(t, "second", b.Messages[0].Command)
			assert.Equal(t, "third", b.Messages[1].Command)
			waitFor(t, "replay counted", func() bool { return s.Stats().Replayed == 2 })

			require.NoError(t, s.Publish([]int{5}, "", "live", nil))
			b = decode(t, mode, again.nextData(t))
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "live", b.Messages[0].Command)

			bad := dialReady(t, s, wsURL(s, subQuery(cfg, mergeValues(tc.extra, url.Values{"mid": {"123"}}))))
			require.NoError(t, s.Publish([]int{5}, "", "after-bad-mid", nil))
			b = decode(t, mode, bad.nextData(t))
			require.Len(t, b.Messages, 1, "a bad mid replays nothing and the connection works")
			assert.Equal(t, "after-bad-mid", b.Messages[0].Command)
		})
	}
}

// flipLast changes the last hex digit of s.
func flipLast(s string) string {
	last := byte('0')
	if s[len(s)-1] == '0' {
		last = '1'
	}
	return s[:len(s)-1] + string(last)
}

func mergeValues(a, b url.Values) url.Values {
	out := url.Values{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestReplayAfterRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	c, cfg := connected(t, s, 4, nil)
	require.NoError(t, s.Publish([]int{4}, "", "before", nil))
	before := decode(t, wireText, c.nextData(t)).Messages[0]
	push := s.PushURL()

	s.Restart(100 * time.Millisecond)
	err := c.ended(t)
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "dropped without a close frame")
	assert.True(t, s.Stats().PushDown)
	_, _, err = tryDial(wsURL(s, subQuery(cfg, nil)))
	assert.Error(t, err, "nothing listens while down")
	require.NoError(t, s.Publish([]int{4}, "", "while-down", nil))
	s.Restart(time.Hour) // ignored while down

	waitFor(t, "push server back", func() bool { return !s.Stats().PushDown })
	assert.Equal(t, push, s.PushURL(), "same port")
	again := dial(t, wsURL(s, subQuery(cfg, url.Values{"mid": {before.MID}})))
	b := decode(t, wireText, again.nextData(t))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "while-down", b.Messages[0].Command)
	assert.Greater(t, b.Messages[0].MID, before.MID, "the counter survives")
	assert.Equal(t, int64(1), s.Stats().Restarts)
}

func TestCoalescing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version int
		extra   url.Values
	}{
		{"text", 4, nil}, {"binary", 4, url.Values{"binaryMode": {"true"}}}, {"json-rpc", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mode := modeOf(tc.version, tc.extra)

			s := startServer(t, Options{Version: tc.version}, tuning{})
			c, _ := connected(t, s, 1, tc.extra)
			for i := 0; i < 3; i++ {
				require.NoError(t, s.Publish([]int{1}, "", "n"+itoa(i), nil))
			}
			for i := 0; i < 3; i++ {
				b := decode(t, mode, c.nextData(t))
				require.Len(t, b.Messages, 1, "no coalescing: one message per frame")
				assert.Equal(t, "n"+itoa(i), b.Messages[0].Command)
			}

			s = startServer(t, Options{Version: tc.version, Coalesce: 50 * time.Millisecond}, tuning{})
			c, _ = connected(t, s, 1, tc.extra)
			for i := 0; i < 4; i++ {
				require.NoError(t, s.Publish([]int{1}, "", "n"+itoa(i), nil))
			}
			first := c.nextData(t)
			b := decode(t, mode, first)
			require.Len(t, b.Messages, 1, "the first frame goes out at once")
			second := c.nextData(t)
			b = decode(t, mode, second)
			require.Len(t, b.Messages, 3, "the rest within the window in one frame")
			assert.Equal(t, "n3", b.Messages[2].Command)
			switch mode {
			case wireBinary:
				batch, err := protocol.UnmarshalResponseBatch(second.data)
				require.NoError(t, err)
				assert.Len(t, batch.Responses, 3, "live messages keep one Response each")
			case wireRPC:
				assert.True(t, gjson.ParseBytes(second.data).IsArray())
				assert.False(t, gjson.ParseBytes(first.data).IsArray())
			}
		})
	}
}

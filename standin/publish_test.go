//go:build !js

package standin

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// post sends body to a push-server path and returns status and body.
func post(t *testing.T, rawURL string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := testClient.Post(rawURL, "application/octet-stream", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

func TestBackendTextPublish(t *testing.T) {
	t.Parallel()
	for _, version := range []int{3, 4} {
		t.Run(itoa(version), func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: version}, tuning{})
			c, cfg := connected(t, s, 1, nil)
			priv, _, shared := rawIDs(cfg)

			pubText(t, s, priv+"/"+shared, `{"module_id":"m","command":"noExpiry","params":{}}`, -1)
			first := protocol.DecodeText(c.nextData(t).data)
			require.Len(t, first.Messages, 1, "two channels of one connection: delivered once")
			pubText(t, s, shared, `{"module_id":"m","command":"withExpiry","params":{}}`, 600)
			decode(t, wireText, c.nextData(t))
			pubText(t, s, shared, ``, 600)
			c.quiet(t, 30*time.Millisecond)
			assert.Equal(t, int64(2), s.Stats().Published, "an empty body is ignored")

			status, h, body := get(t, lpURL(s, subQuery(cfg, url.Values{"mid": {"00000000000000000000000000"}})))
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "text/plain", h.Get("Content-Type"))
			var cmds []string
			for _, m := range protocol.DecodeText(body).Messages {
				cmds = append(cmds, m.Command)
			}
			if version == 3 {
				assert.Equal(t, []string{"noExpiry", "withExpiry"}, cmds, "Push server 1.0 stores everything")
			} else {
				assert.Equal(t, []string{"withExpiry"}, cmds, "no Message-Expiry: live only")
			}

			status, body = post(t, s.PushURL()+"/bitrix/pub/?CHANNEL_ID="+shared+"/nothex", []byte(`{}`))
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "4010: Wrong Channel Id.", string(body))
			status, _ = post(t, s.PushURL()+"/bitrix/pub/?CHANNEL_ID="+shared, bytes.Repeat([]byte{'x'}, maxPayload+1))
			assert.Equal(t, http.StatusRequestEntityTooLarge, status)

			status, _, body = get(t, s.PushURL()+"/bitrix/pub/?CHANNEL_ID="+priv+"/"+strings.Repeat("0", 32))
			require.Equal(t, http.StatusOK, status)
			assert.JSONEq(t, `{"infos":[{"channel":"`+priv+`","subscribers":1}]}`, string(body))
		})
	}
}

func TestBackendBinaryPublish(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	c, cfg := connected(t, s, 1, url.Values{"binaryMode": {"true"}})
	priv, _, _ := rawIDs(cfg)
	id, err := hex.DecodeString(priv)
	require.NoError(t, err)

	body := []byte(`{"module_id":"m","command":"binary","params":{"n":1}}`)
	frame := protocol.EncodePublish([]protocol.IncomingMessage{{
		Receivers: []protocol.Receiver{{ID: id, IsPrivate: true}}, Body: body, Expiry: 60, Type: "m_binary",
	}})
	status, resp := post(t, s.PushURL()+"/bitrix/pub/?binaryMode=true", frame)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, resp)
	b := decode(t, wireBinary, c.nextData(t))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "binary", b.Messages[0].Command)
	assert.Equal(t, protocol.SenderBackend, b.Messages[0].Sender.Type)

	stats := (&protocol.RequestBatch{Requests: []protocol.Request{
		{ChannelStats: []protocol.ChannelID{{ID: id, IsPrivate: true}, {ID: make([]byte, 16)}}, HasChannelStats: true},
		{ServerStats: true},
	}}).Marshal()
	status, resp = post(t, s.PushURL()+"/bitrix/pub/?binaryMode=true", stats)
	require.Equal(t, http.StatusOK, status)
	rb, err := protocol.UnmarshalResponseBatch(resp)
	require.NoError(t, err)
	require.Len(t, rb.Responses, 2)
	require.Len(t, rb.Responses[0].ChannelStats, 2)
	assert.True(t, rb.Responses[0].ChannelStats[0].IsOnline)
	assert.False(t, rb.Responses[0].ChannelStats[1].IsOnline)
	assert.True(t, gjson.Valid(rb.Responses[1].ServerStatsJSON))

	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"short receiver id", protocol.EncodePublish([]protocol.IncomingMessage{{Receivers: []protocol.Receiver{{ID: id[:15]}}, Body: body}}), "4019: Request has an invalid channel id."},
		{"no receivers", protocol.EncodePublish([]protocol.IncomingMessage{{Body: body}}), "4017: No channels found."},
		{"not protobuf", []byte{0xff, 0xff, 0xff}, "4013: Wrong Request Data."},
		{"no messages", (&protocol.RequestBatch{Requests: []protocol.Request{{HasIncoming: true}}}).Marshal(), "4016: Request exceeded the maximum number of messages."},
	} {
		status, resp := post(t, s.PushURL()+"/bitrix/pub/?binaryMode=true", tc.body)
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.Equal(t, tc.want, string(resp), tc.name)
	}
	c.quiet(t, 30*time.Millisecond)
}

// publicReceiver builds a signed public receiver for a raw public id.
func publicReceiver(t *testing.T, pub string) protocol.Receiver {
	t.Helper()
	id, err := hex.DecodeString(pub)
	require.NoError(t, err)
	return protocol.Receiver{ID: id, Signature: signRaw(DefaultSignatureKey, "public:"+pub)}
}

func TestClientPublish(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	bin := url.Values{"binaryMode": {"true"}}
	alice, aliceCfg := connected(t, s, 1, bin)
	bob, bobCfg := connected(t, s, 2, bin)
	_, alicePub, _ := rawIDs(aliceCfg)
	_, bobPub, _ := rawIDs(bobCfg)
	body := []byte(`{"module_id":"chat","command":"hello","params":{"text":"hi"}}`)
	msg := func(rc ...protocol.Receiver) []byte {
		return protocol.EncodePublish([]protocol.IncomingMessage{{Receivers: rc, Body: body}})
	}

	// Over the websocket: binary frames are client requests.
	alice.send(t, websocket.MessageBinary, msg(publicReceiver(t, bobPub)))
	b := decode(t, wireBinary, bob.nextData(t))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "hello", b.Messages[0].Command)
	assert.Equal(t, protocol.SenderClient, b.Messages[0].Sender.Type)
	assert.Equal(t, alicePub, b.Messages[0].Sender.ID, "the sender is the connection's first public id")

	// Over the publish route with the connection's CHANNEL_ID.
	route := s.PushURL() + "/bitrix/rest/?" + subQuery(bobCfg, nil).Encode()
	status, resp := post(t, route, msg(publicReceiver(t, alicePub)))
	assert.Equal(t, http.StatusOK, status, string(resp))
	b = decode(t, wireBinary, alice.nextData(t))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, bobPub, b.Messages[0].Sender.ID)

	// channelStats is allowed to clients.
	st := (&protocol.RequestBatch{Requests: []protocol.Request{{ChannelStats: []protocol.ChannelID{publicReceiver(t, bobPub)}, HasChannelStats: true}}}).Marshal()
	status, resp = post(t, route, st)
	require.Equal(t, http.StatusOK, status)
	rb, err := protocol.UnmarshalResponseBatch(resp)
	require.NoError(t, err)
	require.Len(t, rb.Responses, 1)
	assert.True(t, rb.Responses[0].ChannelStats[0].IsOnline)

	badSig := publicReceiver(t, bobPub)
	badSig.Signature = bytes.Repeat([]byte{1}, 20)
	private := publicReceiver(t, bobPub)
	private.IsPrivate = true
	sharedOnly := url.Values{"CHANNEL_ID": {bobCfg.Get("channels.shared.id").String()}}
	for _, tc := range []struct {
		name  string
		query url.Values
		body  []byte
		want  string
	}{
		{"shared channel only", sharedOnly, msg(publicReceiver(t, alicePub)), "4012: Public Channel Id is Required."},
		{"garbage", subQuery(bobCfg, nil), []byte("garbage"), "4013: Wrong Request Data."},
		{"server stats", subQuery(bobCfg, nil), (&protocol.RequestBatch{Requests: []protocol.Request{{ServerStats: true}}}).Marshal(), "4014: Request command is not allowed."},
		{"private receiver", subQuery(bobCfg, nil), msg(private), "4020: Private channel is not allowed."},
		{"bad signature", subQuery(bobCfg, nil), msg(badSig), "4021: Channel has an invalid signature."},
		{"bad channel id", url.Values{"CHANNEL_ID": {"x"}}, msg(publicReceiver(t, alicePub)), "4010: Wrong Channel Id."},
	} {
		status, resp := post(t, s.PushURL()+"/bitrix/rest/?"+tc.query.Encode(), tc.body)
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.Equal(t, tc.want, string(resp), tc.name)
	}
	alice.quiet(t, 30*time.Millisecond)

	// A bad request over the websocket closes it with the code.
	bob.send(t, websocket.MessageBinary, msg(private))
	err = bob.ended(t)
	var ce websocket.CloseError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, websocket.StatusCode(4020), ce.Code)
	assert.Equal(t, "Private channel is not allowed.", ce.Reason)

	// Text frames from clients are ignored; the connection stays.
	alice.send(t, websocket.MessageText, []byte("hello?"))
	require.NoError(t, s.Publish([]int{1}, "", "after-text", nil))
	assert.Equal(t, "after-text", decode(t, wireBinary, alice.nextData(t)).Messages[0].Command)
	assert.GreaterOrEqual(t, s.Stats().ClientPublishes, int64(3))

	v3 := startServer(t, Options{Version: 3}, tuning{})
	status, _ = post(t, v3.PushURL()+"/bitrix/rest/", msg())
	assert.Equal(t, http.StatusNotFound, status, "no client publishing before version 4")
}

func TestPublishDisabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version  int
		disabled bool
		want     bool
	}{{3, true, false}, {4, false, true}, {4, true, false}, {5, true, true}} {
		s := startServer(t, Options{Version: tc.version, PublishDisabled: tc.disabled}, tuning{})
		cfg := appConfig(t, s, s.NewToken(1, false))
		assert.Equal(t, tc.want, cfg.Get("server.publish_enabled").Bool(), "v%d disabled=%v", tc.version, tc.disabled)
	}

	s := startServer(t, Options{PublishDisabled: true}, tuning{})
	bin := url.Values{"binaryMode": {"true"}}
	alice, _ := connected(t, s, 1, bin)
	bob, bobCfg := connected(t, s, 2, bin)
	_, bobPub, _ := rawIDs(bobCfg)
	publish := protocol.EncodePublish([]protocol.IncomingMessage{{
		Receivers: []protocol.Receiver{publicReceiver(t, bobPub)},
		Body:      []byte(`{"module_id":"chat","command":"hello","params":{}}`),
	}})

	// Over the publish route: HTTP 400 with the close code's text.
	route := s.PushURL() + "/bitrix/rest/?" + subQuery(bobCfg, nil).Encode()
	status, resp := post(t, route, publish)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "4014: Request command is not allowed.", string(resp))

	// channelStats stays allowed.
	st := (&protocol.RequestBatch{Requests: []protocol.Request{{
		ChannelStats: []protocol.ChannelID{publicReceiver(t, bobPub)}, HasChannelStats: true,
	}}}).Marshal()
	status, _ = post(t, route, st)
	assert.Equal(t, http.StatusOK, status)

	// Over the websocket: the connection is closed with 4014, nothing is delivered.
	alice.send(t, websocket.MessageBinary, publish)
	err := alice.ended(t)
	var ce websocket.CloseError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, websocket.StatusCode(4014), ce.Code)
	assert.Equal(t, "Request command is not allowed.", ce.Reason)
	bob.quiet(t, 50*time.Millisecond)
	assert.Zero(t, s.Stats().Published)
	assert.Equal(t, int64(2), s.Stats().ClientErrors)
	assert.Equal(t, int64(1), s.Stats().ClientPublishes, "the channelStats request")
}

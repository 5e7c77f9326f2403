//go:build !js

package standin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// recording is testdata/recording.json: the key and channels of the Push server 2.0 recording.
type recording struct {
	Key      string `json:"key"`
	Channels struct {
		Private string `json:"private"`
		Shared  string `json:"shared"`
		Raw     struct {
			Priv   string `json:"priv"`
			Pub    string `json:"pub"`
			Shared string `json:"shared"`
		} `json:"raw"`
	} `json:"channels"`
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return data
}

// recordedBodies returns the message bodies of a text fixture by mid, exactly as recorded.
func recordedBodies(t *testing.T, frame []byte, into map[string]string) {
	t.Helper()
	for _, piece := range strings.Split(string(frame), protocol.TextEnd) {
		env, ok := strings.CutPrefix(piece, protocol.TextStart)
		if !ok {
			continue
		}
		require.True(t, gjson.Valid(env))
		into[gjson.Get(env, "mid").String()] = gjson.Get(env, "text").Raw
	}
}

// TestRecordingReproduced replays the recording through the stand-in: the recorded key and signed
// ids, the same message ids, bodies, expiry and clock give frames byte for byte equal to what the real
// Push server 2.0 sent, on the websocket (alone, coalesced, replayed) and over long polling.
func TestRecordingReproduced(t *testing.T) {
	t.Parallel()
	var rec recording
	require.NoError(t, json.Unmarshal(fixture(t, "recording.json"), &rec))
	bodies := map[string]string{}
	recordedBodies(t, fixture(t, "ws-text-1.txt"), bodies)
	recordedBodies(t, fixture(t, "ws-text-replay-1.txt"), bodies)
	require.Len(t, bodies, 14)

	clock := newFakeClock(time.UnixMilli(1795489317323))
	s := startServer(t, Options{SignatureKey: rec.Key, Coalesce: 400 * time.Millisecond},
		tuning{now: clock.Now, start: time.Unix(1795486839, 0), lastSeq: 1328})
	channels := rec.Channels.Private + "/" + rec.Channels.Shared
	connect := func(extra url.Values) *wsClient {
		q := url.Values{"CHANNEL_ID": {channels}, "revision": {"19"}}
		for k, v := range extra {
			q[k] = v
		}
		return dialReady(t, s, wsURL(s, q))
	}
	mid := func(n int) string { return "1795486839000000000000" + itoa(n) }
	publish := func(n int) {
		body := bodies[mid(n)]
		require.NotEmpty(t, body, n)
		channel := rec.Channels.Raw.Shared
		if gjson.Get(body, "params.n").Int()%2 == 0 && gjson.Get(body, "module_id").String() != "pull" {
			channel = rec.Channels.Raw.Priv
		}
		pubText(t, s, channel, body, 600)
	}
	same := func(name string, got []byte) {
		t.Helper()
		want := fixture(t, name)
		if !bytes.Equal(want, got) {
			t.Errorf("%s differs:\nwant %q\ngot  %q", name, want, got)
		}
	}

	// Text pass: one message alone, then a burst of five (first at once, four coalesced), then
	// channel_expire.
	text := connect(nil)
	publish(1329)
	same("ws-text-1.txt", text.next(t).data)
	text = connect(nil)
	clock.Set(time.UnixMilli(1795489317928))
	for n := 1330; n <= 1334; n++ {
		publish(n)
	}
	same("ws-text-2.txt", text.next(t).data)
	clock.Set(time.UnixMilli(1795489318329))
	same("ws-text-3.txt", text.next(t).data)
	clock.Set(time.UnixMilli(1795489318839))
	publish(1335)
	same("ws-text-4.txt", text.next(t).data)

	// Binary pass.
	bin := url.Values{"binaryMode": {"true"}}
	binary := connect(bin)
	clock.Set(time.UnixMilli(1795489319500))
	publish(1336)
	same("ws-binary-1.bin", binary.next(t).data)
	binary = connect(bin)
	clock.Set(time.UnixMilli(1795489320100))
	for n := 1337; n <= 1341; n++ {
		publish(n)
	}
	same("ws-binary-2.bin", binary.next(t).data)
	same("ws-binary-3.bin", binary.next(t).data)
	publish(1342)
	same("ws-binary-4.bin", binary.next(t).data)

	// Replays from the first mid, on the websocket and over long polling.
	resume := url.Values{"mid": {mid(1329)}}
	clock.Set(time.UnixMilli(1795489321572))
	same("ws-text-replay-1.txt", connect(resume).next(t).data)
	same("ws-binary-replay-1.bin", connect(mergeValues(resume, bin)).next(t).data)

	clock.Set(time.UnixMilli(1795489323383))
	q := mergeValues(resume, url.Values{"CHANNEL_ID": {channels}, "revision": {"19"}})
	status, h, body := get(t, lpURL(s, q))
	assertFixtureHeaders(t, readFixtureHeaders(t, "lp-text-200.headers.json"), status, h)
	same("lp-text-200.txt", body)
	status, h, body = get(t, lpURL(s, mergeValues(q, bin)))
	assertFixtureHeaders(t, readFixtureHeaders(t, "lp-binary-200.headers.json"), status, h)
	same("lp-binary-200.bin", body)

	// Exactly the recorded ids are accepted: one changed digit is refused.
	_, resp, err := tryDial(wsURL(s, url.Values{"CHANNEL_ID": {flipLast(rec.Channels.Private)}}))
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, resp, err = tryDial(wsURL(s, url.Values{"CHANNEL_ID": {flipLast(rec.Channels.Shared)}}))
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestFramerMatchesFixtures checks the framing path alone on the coalesced and replay frames.
func TestFramerMatchesFixtures(t *testing.T) {
	t.Parallel()
	f := framer{version: 4}
	for _, name := range []string{"ws-binary-3.bin", "ws-binary-replay-1.bin", "ws-binary-1.bin"} {
		data := fixture(t, name)
		rb, err := protocol.UnmarshalResponseBatch(data)
		require.NoError(t, err)
		var msgs []*message
		for _, r := range rb.Responses {
			for _, om := range r.OutgoingMessages {
				msgs = append(msgs, &message{
					mid: protocol.DecodeProtobuf(data).Messages[len(msgs)].MID, body: om.Body, expiry: om.Expiry,
					created: time.Unix(int64(om.Created), 0), sender: *om.Sender,
				})
			}
		}
		replay := len(rb.Responses) == 1 && len(msgs) > 1
		assert.Equal(t, data, f.frame(wireBinary, msgs, replay, time.Now()), name)
	}
}

package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodText is one valid legacy text message with object params.
func goodText(mid string, params string) []byte {
	return EncodeText(TextEnvelope{ID: 1, MID: mid, Channel: "-", Tag: "1", Time: "x",
		Text: json.RawMessage(`{"module_id":"application","command":"ok","params":` + params + `,"extra":{}}`)})
}

// TestBadInputTextFrames: garbage around, between and instead of legacy text messages is skipped and
// counted; the valid messages of the frame are kept; params that are not objects never reach a
// subscriber as anything but an object.
func TestBadInputTextFrames(t *testing.T) {
	valid := goodText("17954868390000000000000001", `{"n":1}`)
	for _, tc := range []struct {
		name    string
		frame   []byte
		keep    int
		garbage bool
	}{
		{"binary noise", []byte{0xff, 0x00, 0xfe, 0x13, 0x37}, 0, true},
		{"start marker only", []byte(TextStart), 0, true},
		{"truncated message", valid[:len(valid)/2], 0, true},
		{"garbage then a message", append([]byte("#!NGINXNMS!#{not json#!NGINXNME!#"), valid...), 1, true},
		{"a message then garbage", append(append([]byte{}, valid...), "#!NGINXNMS!#[1,2#!NGINXNME!#"...), 1, true},
		{"text not an object", goodTextRaw(`"just a string"`), 0, true},
		// Params that are not an object are skipped and counted: subscribers only ever see objects.
		{"params a string", goodText("17954868390000000000000002", `"<img src=x onerror=alert(1)>"`), 0, true},
		{"params a number", goodText("17954868390000000000000003", `42`), 0, true},
		{"params an array", goodText("17954868390000000000000004", `[1,2]`), 0, true},
		{"params null", goodText("17954868390000000000000005", `null`), 1, false},
		{"deeply nested params", goodText("17954868390000000000000006", strings.Repeat(`{"a":`, 5000)+`1`+strings.Repeat(`}`, 5000)), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := DecodeText(tc.frame)
			assert.Len(t, b.Messages, tc.keep)
			if tc.garbage {
				assert.Positive(t, b.Garbage, "garbage is counted")
			}
			for _, m := range b.Messages {
				assert.True(t, isJSONObject(m.Params), "params %s", m.Params)
				assert.True(t, isJSONObject(m.Extra), "extra %s", m.Extra)
			}
		})
	}
}

func goodTextRaw(text string) []byte {
	return EncodeText(TextEnvelope{ID: 1, MID: "17954868390000000000000009", Channel: "-", Tag: "1", Time: "x", Text: json.RawMessage(text)})
}

func isJSONObject(raw []byte) bool {
	var v map[string]any
	return json.Unmarshal(raw, &v) == nil && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{"))
}

// TestBadInputProtobufFrames: every truncation of a real Push server 2.0 frame, and random noise,
// decodes without a panic; what cannot be read is counted.
func TestBadInputProtobufFrames(t *testing.T) {
	frame, err := os.ReadFile("testdata/ps2/ws-binary-1.bin")
	require.NoError(t, err)
	full := DecodeProtobuf(frame)
	require.NotEmpty(t, full.Messages, "the fixture decodes")
	for cut := 0; cut < len(frame); cut++ {
		b := DecodeProtobuf(frame[:cut])
		assert.LessOrEqual(t, len(b.Messages), len(full.Messages), "cut at %d", cut)
		if len(b.Messages) < len(full.Messages) && cut > 0 {
			assert.Positive(t, b.Garbage, "a truncation at %d that lost a message is counted", cut)
		}
	}
	for _, noise := range [][]byte{{0x0a}, {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, bytes.Repeat([]byte{0x0a, 0x80}, 100), []byte("hello")} {
		b := DecodeProtobuf(noise)
		assert.Empty(t, b.Messages)
		assert.Positive(t, b.Garbage)
	}
}

// TestBadInputJSONRPCFrames: unknown methods, wrong types and broken JSON never panic; requests with
// an id are surfaced (the session answers them with method-not-found); deliveries of the wrong shape
// are counted as garbage.
func TestBadInputJSONRPCFrames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frame    string
		messages int
		requests int
		garbage  bool
	}{
		{"not JSON", `{"jsonrpc":"2.0",`, 0, 0, true},
		{"a number", `42`, 0, 0, true},
		{"unknown method with an id", `{"jsonrpc":"2.0","id":7,"method":"server.explode","params":{}}`, 0, 1, false},
		{"unknown notification", `{"jsonrpc":"2.0","method":"server.explode","params":{}}`, 0, 1, false},
		{"params a string", `{"jsonrpc":"2.0","method":"incoming.message","params":"x"}`, 0, 0, true},
		{"body a number", `{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"m1","body":5}}`, 0, 0, true},
		// A mid of the wrong type is dropped, the delivery kept (it is then never taken for a duplicate).
		{"mid of the wrong type", `{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":{"x":1},"body":{"module_id":"a","command":"b","params":{}}}}`, 1, 0, false},
		{"params of the body not an object", `{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"m2","body":{"module_id":"a","command":"b","params":"<b>x</b>"}}}`, 0, 0, true},
		{"batch with one bad entry", `[{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"m3","body":{"module_id":"a","command":"b","params":{}}}},17]`, 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := DecodeJSONRPC([]byte(tc.frame))
			assert.Len(t, f.Messages, tc.messages)
			assert.Len(t, f.Requests, tc.requests)
			if tc.garbage {
				assert.Positive(t, f.Garbage, "garbage is counted")
			}
			for _, m := range f.Messages {
				assert.True(t, isJSONObject(m.Params), "params %s", m.Params)
				if tc.name == "mid of the wrong type" {
					assert.Empty(t, m.MID)
				}
			}
		})
	}
}

// TestBadInputConfigErrorsNameTheField: each unusable config is refused with an error naming the
// field and saying what is wrong, without quoting the value.
func TestBadInputConfigErrorsNameTheField(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name, answer, field string
	}{
		{"not JSON", `<html>`, ""},
		{"no result", `{"time":{}}`, "server"},
		{"no server", `{"result":{"channels":{}}}`, "server"},
		{"version missing", `{"result":{"server":{"websocket":"ws://h/"},"channels":{"shared":{"id":"x","start":"2026-01-01T00:00:00+00:00","end":"2026-01-02T00:00:00+00:00"}}}}`, "server.version"},
		{"bad end", `{"result":{"server":{"version":4,"websocket":"ws://h/"},"channels":{"shared":{"id":"secretid","start":"2026-01-01T00:00:00+00:00","end":"soon"}}}}`, "channels.shared.end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.answer), now)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidConfig), "%v", err)
			assert.Contains(t, err.Error(), tc.field)
			assert.NotContains(t, err.Error(), "secretid")
		})
	}
}

// TestBadInputInsecureURL: a page served over https never opens a plain ws:// or http:// URL, even
// when the config's *_secure URLs are plain.
func TestBadInputInsecureURL(t *testing.T) {
	c := &Config{Server: Server{Version: 4, WebSocketSecure: "ws://push.test/subws/", LongPollingSecure: "http://push.test/sub/",
		PublishSecure: "http://push.test/pub/"}}
	c.Channels.Shared = &Channel{ID: "0123456789abcdef0123456789abcdef"}
	for _, tr := range []Transport{TransportWebSocket, TransportLongPolling} {
		_, err := c.ConnectionURL(tr, true, Resume{})
		require.ErrorIs(t, err, ErrInsecureURL)
		assert.Contains(t, err.Error(), "_secure")
	}
	_, err := c.PublicationURL(true)
	require.ErrorIs(t, err, ErrInsecureURL)
	c.Server.WebSocketSecure = "WSS://push.test/subws/"
	_, err = c.ConnectionURL(TransportWebSocket, true, Resume{})
	assert.NoError(t, err, "the scheme is matched without regard to case")
}

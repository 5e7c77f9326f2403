package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// specDelivery is the incoming.message example of docs/protocol.md §6.4.
const specDelivery = `{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"a7f3c2","body":{"module_id":"application","command":"demo","params":{"n":7},"extra":{"server_time_unix":1747208400.5,"revision_web":19}},"sender":{"type":2}}}`

func delivery(params string) string {
	return `{"jsonrpc":"2.0","method":"incoming.message","params":` + params + `}`
}

func TestDecodeJSONRPCSpecExample(t *testing.T) {
	t.Parallel()
	f := DecodeJSONRPC([]byte(specDelivery))
	require.Zero(t, f.Garbage)
	require.Len(t, f.Messages, 1)
	assert.Equal(t, Message{
		MID:      "a7f3c2",
		ModuleID: "application",
		Command:  "demo",
		Params:   json.RawMessage(`{"n":7}`),
		Extra:    json.RawMessage(`{"server_time_unix":1747208400.5,"revision_web":19}`),
		Sender:   &Sender{Type: SenderBackend},
	}, f.Messages[0])
	assert.Equal(t, "mack:a7f3c2", string(Mack(f.Messages[0].MID)))

	f = DecodeJSONRPC([]byte(`{"jsonrpc":"2.0","id":3,"result":{"7":0,"9":420}}`))
	require.Zero(t, f.Garbage)
	assert.Equal(t, []RPCResponse{{ID: 3, Result: json.RawMessage(`{"7":0,"9":420}`)}}, f.Responses)
}

func TestDecodeJSONRPCPing(t *testing.T) {
	t.Parallel()
	for _, frame := range []string{"ping", " ping\n"} {
		f := DecodeJSONRPC([]byte(frame))
		assert.Equal(t, RPCFrame{Ping: true}, f, frame)
	}
	assert.Equal(t, RPCFrame{Batch: Batch{Garbage: 1}}, DecodeJSONRPC([]byte("pong")))
}

func TestDecodeJSONRPCDeliveries(t *testing.T) {
	t.Parallel()
	body := `{"module_id":"m","command":"c","params":{"a":1,"b":{"x":"é"}}}`
	tests := []struct {
		name    string
		params  string
		mid     string
		p       string
		extra   string
		sender  Sender
		garbage int
	}{
		{"no mid still delivered", `{"body":` + body + `}`, "", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{}, 0},
		{"numeric mid", `{"mid":12,"body":` + body + `}`, "12", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{}, 0},
		{"sender type as string", `{"mid":"1","body":` + body + `,"sender":{"type":"2","id":"abc"}}`, "1", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{Type: 2, ID: "abc"}, 0},
		{"sender type client", `{"mid":"1","body":` + body + `,"sender":{"type":1}}`, "1", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{Type: SenderClient}, 0},
		{"sender not an object", `{"mid":"1","body":` + body + `,"sender":"x"}`, "1", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{}, 0},
		{"user_params then dictionary merged", `{"mid":"1","body":` + body + `,"user_params":{"a":2,"u":"\"q\""},"dictionary":{"u":3,"d":[1]}}`,
			"1", `{"a":2,"b":{"x":"é"},"u":3,"d":[1]}`, "{}", Sender{}, 0},
		{"non-object overlays ignored", `{"mid":"1","body":` + body + `,"user_params":[1],"dictionary":"x"}`, "1", `{"a":1,"b":{"x":"é"}}`, "{}", Sender{}, 0},
		{"params [] with user_params", `{"mid":"1","body":{"module_id":"m","command":"c","params":[]},"user_params":{"u":1}}`, "1", `{"u":1}`, "{}", Sender{}, 0},
		{"extra kept", `{"mid":"1","body":{"module_id":"m","command":"c","extra":{"e":1}}}`, "1", `{}`, `{"e":1}`, Sender{}, 0},
		{"body missing", `{"mid":"1"}`, "", "", "", Sender{}, 1},
		{"body lacks module_id", `{"mid":"1","body":{"command":"c"}}`, "", "", "", Sender{}, 1},
		{"body params a string", `{"mid":"1","body":{"module_id":"m","command":"c","params":"x"}}`, "", "", "", Sender{}, 1},
		{"params not an object", `[1]`, "", "", "", Sender{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DecodeJSONRPC([]byte(delivery(tt.params)))
			assert.Equal(t, tt.garbage, f.Garbage)
			if tt.garbage > 0 {
				assert.Empty(t, f.Messages)
				return
			}
			require.Len(t, f.Messages, 1)
			m := f.Messages[0]
			assert.Equal(t, tt.mid, m.MID)
			assert.Equal(t, tt.p, string(m.Params))
			assert.Equal(t, tt.extra, string(m.Extra))
			require.NotNil(t, m.Sender)
			assert.Equal(t, tt.sender, *m.Sender)
		})
	}
}

func TestDecodeJSONRPCShapes(t *testing.T) {
	t.Parallel()
	good := delivery(`{"mid":"m1","body":{"module_id":"m","command":"c"}}`)
	tests := []struct {
		name      string
		frame     string
		mids      []string
		responses []RPCResponse
		requests  []RPCRequest
		garbage   int
	}{
		{"invalid json", `{"jsonrpc":`, nil, nil, nil, 1},
		{"empty frame", ``, nil, nil, nil, 1},
		{"scalar", `7`, nil, nil, nil, 1},
		{"empty array", `[]`, nil, nil, nil, 1},
		{"unknown packet", `{"jsonrpc":"2.0"}`, nil, nil, nil, 1},
		{"response without jsonrpc", `{"id":1,"result":{}}`, nil, nil, nil, 1},
		{"response without result or error", `{"jsonrpc":"2.0","id":1}`, nil, nil, nil, 1},
		{"error response", `{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found","data":{"m":"x"}}}`, nil,
			[]RPCResponse{{ID: 4, Err: &RPCError{Code: RPCMethodNotFound, Message: "Method not found", Data: json.RawMessage(`{"m":"x"}`)}}}, nil, 0},
		{"error as string", `{"jsonrpc":"2.0","id":5,"error":"boom"}`, nil, []RPCResponse{{ID: 5, Err: &RPCError{Message: "boom"}}}, nil, 0},
		{"error as number", `{"jsonrpc":"2.0","id":5,"error":7}`, nil, []RPCResponse{{ID: 5, Err: &RPCError{Message: "7"}}}, nil, 0},
		{"unknown method request", `{"jsonrpc":"2.0","method":"server.hello","params":{"a":1},"id":9}`, nil, nil,
			[]RPCRequest{{ID: 9, HasID: true, Method: "server.hello", Params: json.RawMessage(`{"a":1}`)}}, 0},
		{"notification with null id", `{"jsonrpc":"2.0","method":"x","id":null}`, nil, nil, []RPCRequest{{Method: "x"}}, 0},
		{"batch mixing kinds", `[` + good + `,{"jsonrpc":"2.0","id":2,"result":true},7,{"method":"other"},` +
			delivery(`{"mid":"m2","body":{"module_id":"m","command":"c","params":[]}}`) + `,{"x":1}]`,
			[]string{"m1", "m2"}, []RPCResponse{{ID: 2, Result: json.RawMessage(`true`)}}, []RPCRequest{{Method: "other"}}, 2},
		{"method not a string", `{"jsonrpc":"2.0","method":5}`, nil, nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DecodeJSONRPC([]byte(tt.frame))
			assert.False(t, f.Ping)
			assert.Equal(t, tt.garbage, f.Garbage, "garbage")
			var mids []string
			for _, m := range f.Messages {
				mids = append(mids, m.MID)
			}
			assert.Equal(t, tt.mids, mids)
			assert.Equal(t, tt.responses, f.Responses)
			assert.Equal(t, tt.requests, f.Requests)
		})
	}
}

func TestRPCError(t *testing.T) {
	t.Parallel()
	var err error = &RPCError{Code: RPCInvalidParams, Message: "invalid params"}
	assert.EqualError(t, err, "json-rpc error -32602: invalid params")
	var rpcErr *RPCError
	require.True(t, errors.As(err, &rpcErr))
	assert.Equal(t, RPCInvalidParams, rpcErr.Code)
}

func TestRPCEncoders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"request", EncodeRPCRequest(3, "getUsersLastSeen", json.RawMessage(`{"userList":[7,9]}`)),
			`{"jsonrpc":"2.0","method":"getUsersLastSeen","params":{"userList":[7,9]},"id":3}`},
		{"request without params", EncodeRPCRequest(1, "ping", nil), `{"jsonrpc":"2.0","method":"ping","params":{},"id":1}`},
		{"notification", EncodeRPCNotification("publish", json.RawMessage(`{"a":"é"}`)), `{"jsonrpc":"2.0","method":"publish","params":{"a":"é"}}`},
		{"notification escapes method", EncodeRPCNotification(`a"b`, nil), `{"jsonrpc":"2.0","method":"a\"b","params":{}}`},
		{"result", EncodeRPCResult(3, json.RawMessage(`{"7":0}`)), `{"jsonrpc":"2.0","id":3,"result":{"7":0}}`},
		{"empty result", EncodeRPCResult(4, nil), `{"jsonrpc":"2.0","id":4,"result":{}}`},
		{"error", EncodeRPCErrorResponse(5, RPCMethodNotFound, "method \"x\" not found"),
			`{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"method \"x\" not found"}}`},
		{"spec delivery", EncodeIncomingMessage("a7f3c2", json.RawMessage(`{"module_id":"application","command":"demo","params":{"n":7},"extra":{"server_time_unix":1747208400.5,"revision_web":19}}`),
			Sender{Type: SenderBackend}, nil, nil), specDelivery},
		{"delivery with everything", EncodeIncomingMessage("1", nil, Sender{Type: SenderClient, ID: "ab"}, json.RawMessage(`{"u":1}`), json.RawMessage(`{"d":2}`)),
			`{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"1","body":{},"sender":{"type":1,"id":"ab"},"user_params":{"u":1},"dictionary":{"d":2}}}`},
		{"mack", Mack("m1"), "mack:m1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(tt.got))
			if tt.name != "mack" {
				assert.True(t, gjson.ValidBytes(tt.got))
			}
		})
	}
}

func TestEncodeResponsesDecodeOnClient(t *testing.T) {
	t.Parallel()
	frame := "[" + string(EncodeRPCResult(1, json.RawMessage(`[1]`))) + "," + string(EncodeRPCErrorResponse(2, RPCInternalError, "x")) + "," +
		string(EncodeIncomingMessage("9", json.RawMessage(`{"module_id":"m","command":"c","params":{"a":1}}`), Sender{Type: 1, ID: "ff"},
			json.RawMessage(`{"b":2}`), nil)) + "]"
	f := DecodeJSONRPC([]byte(frame))
	require.Zero(t, f.Garbage)
	assert.Equal(t, []RPCResponse{{ID: 1, Result: json.RawMessage(`[1]`)}, {ID: 2, Err: &RPCError{Code: RPCInternalError, Message: "x"}}}, f.Responses)
	require.Len(t, f.Messages, 1)
	assert.Equal(t, `{"a":1,"b":2}`, string(f.Messages[0].Params))
	assert.Equal(t, Sender{Type: SenderClient, ID: "ff"}, *f.Messages[0].Sender)
}

func TestDecodeRPCRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		frame   string
		want    []RPCRequest
		errCode int
	}{
		{"single", `{"jsonrpc":"2.0","method":"ping","params":{},"id":1}`, []RPCRequest{{ID: 1, HasID: true, Method: "ping", Params: json.RawMessage(`{}`)}}, 0},
		{"batch of notifications", `[{"jsonrpc":"2.0","method":"publish","params":{"a":1}},{"jsonrpc":"2.0","method":"publish","params":{"b":2}}]`,
			[]RPCRequest{{Method: "publish", Params: json.RawMessage(`{"a":1}`)}, {Method: "publish", Params: json.RawMessage(`{"b":2}`)}}, 0},
		{"batch with invalid elements", `[1,{"id":2},{"method":"x","id":3}]`, []RPCRequest{{}, {ID: 2, HasID: true}, {ID: 3, HasID: true, Method: "x"}}, 0},
		{"invalid json", `{"method":`, nil, RPCParseError},
		{"empty", ``, nil, RPCParseError},
		{"empty array", `[]`, nil, RPCInvalidRequest},
		{"scalar", `"x"`, nil, RPCInvalidRequest},
		{"object without method", `{"id":1}`, nil, RPCInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRPCRequests([]byte(tt.frame))
			if tt.errCode != 0 {
				var rpcErr *RPCError
				require.ErrorAs(t, err, &rpcErr)
				assert.Equal(t, tt.errCode, rpcErr.Code)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	reqs, err := DecodeRPCRequests(EncodeRPCRequest(7, "listChannels", nil))
	require.NoError(t, err)
	assert.Equal(t, []RPCRequest{{ID: 7, HasID: true, Method: "listChannels", Params: json.RawMessage(`{}`)}}, reqs)
}

// coalescedRPCFrame is a batch of the four deliveries of ws-text-3.txt as a JSON-RPC server would send
// them.
func coalescedRPCFrame(tb testing.TB) []byte {
	tb.Helper()
	b := DecodeText(fixture(tb, "ws-text-3.txt"))
	require.Len(tb, b.Messages, 4)
	parts := make([]string, 0, len(b.Messages))
	for _, m := range b.Messages {
		body := `{"module_id":"` + m.ModuleID + `","command":"` + m.Command + `","params":` + string(m.Params) + `,"extra":` + string(m.Extra) + `}`
		parts = append(parts, string(EncodeIncomingMessage(m.MID, json.RawMessage(body), Sender{Type: SenderBackend}, nil, nil)))
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func TestDecodeJSONRPCCoalescedAgreesWithText(t *testing.T) {
	t.Parallel()
	text := DecodeText(fixture(t, "ws-text-3.txt"))
	f := DecodeJSONRPC(coalescedRPCFrame(t))
	require.Zero(t, f.Garbage)
	require.Len(t, f.Messages, len(text.Messages))
	for i, m := range f.Messages {
		want := text.Messages[i]
		want.Tag, want.Time, want.Sender = "", "", &Sender{Type: SenderBackend}
		assert.Equal(t, want, m)
	}
}

func BenchmarkDecodeJSONRPC(b *testing.B) {
	frames := map[string][]byte{
		"coalesced-4": coalescedRPCFrame(b),
		"user_params": []byte(delivery(`{"mid":"1","body":{"module_id":"m","command":"c","params":{"a":1,"b":"héllo ✓"}},"sender":{"type":2},"user_params":{"u":1},"dictionary":{"d":2}}`)),
	}
	for name, frame := range frames {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if len(DecodeJSONRPC(frame).Messages) == 0 {
					b.Fatal("no messages")
				}
			}
		})
	}
}

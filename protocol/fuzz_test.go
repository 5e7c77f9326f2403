package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// checkMessages asserts what every decoder promises about a delivered message: Params and Extra are
// valid JSON objects, module_id and command were strings, and the sender rule of its format holds.
func checkMessages(t *testing.T, msgs []Message, wantSender bool) {
	t.Helper()
	for i, m := range msgs {
		for name, v := range map[string]json.RawMessage{"params": m.Params, "extra": m.Extra} {
			if !gjson.ValidBytes(v) || !gjson.ParseBytes(v).IsObject() {
				t.Fatalf("message %d: %s is not a JSON object: %q", i, name, v)
			}
		}
		if (m.Sender != nil) != wantSender {
			t.Fatalf("message %d: sender %v, want set=%v", i, m.Sender, wantSender)
		}
	}
}

func addFixtures(f *testing.F, files ...string) {
	for _, file := range files {
		f.Add(fixture(f, file))
	}
}

func FuzzDecodeText(f *testing.F) {
	addFixtures(f, "ws-text-1.txt", "ws-text-3.txt", "ws-text-4.txt")
	f.Add([]byte(piece(goodEnvelope) + "\njunk" + TextStart))
	f.Add([]byte(piece(`{"id":-1,"text":}`)))
	f.Fuzz(func(t *testing.T, frame []byte) {
		orig := bytes.Clone(frame)
		b := DecodeText(frame)
		if !bytes.Equal(orig, frame) {
			t.Fatal("input modified")
		}
		if b.Garbage < 0 || len(b.Messages) > bytes.Count(frame, []byte(TextEnd)) {
			t.Fatalf("inconsistent batch: %d messages, %d garbage", len(b.Messages), b.Garbage)
		}
		checkMessages(t, b.Messages, false)
		// Every decoded envelope re-encodes to one that decodes to the same body.
		for _, m := range b.Messages {
			if !utf8.ValidString(m.ModuleID) || !utf8.ValidString(m.Command) {
				continue // gjson accepts invalid UTF-8 in strings; re-encoding writes U+FFFD for it
			}
			body := append([]byte(`{"module_id":`), AppendJSONString(nil, m.ModuleID)...)
			body = append(append(body, `,"command":`...), AppendJSONString(nil, m.Command)...)
			body = append(append(append(append(body, `,"params":`...), m.Params...), `,"extra":`...), m.Extra...)
			body = append(body, '}')
			again := DecodeText(EncodeText(TextEnvelope{MID: m.MID, Tag: m.Tag, Time: m.Time, Text: body}))
			if len(again.Messages) != 1 || again.Garbage != 0 {
				t.Fatalf("re-encoded message does not decode: %+v", again)
			}
			r := again.Messages[0]
			if r.ModuleID != m.ModuleID || r.Command != m.Command || !bytes.Equal(r.Params, m.Params) || !bytes.Equal(r.Extra, m.Extra) {
				t.Fatalf("re-encoded message differs: %+v vs %+v", r, m)
			}
		}
	})
}

func FuzzDecodeProtobuf(f *testing.F) {
	addFixtures(f, "ws-binary-1.bin", "ws-binary-3.bin", "ws-binary-4.bin")
	f.Add(frameOf(outgoing("01", simpleBody, nil), outgoing("02", "{", nil)))
	f.Add(pb(unknownFields, fBytes(1, pb(fBytes(3, nil), fBytes(1, pb(fBytes(1, outgoing("03", simpleBody, pb(fVarint(1, 1))))))))))
	f.Fuzz(func(t *testing.T, frame []byte) {
		b := DecodeProtobuf(frame)
		checkMessages(t, b.Messages, true)
		rb, err := UnmarshalResponseBatch(frame)
		if err != nil {
			// DecodeProtobuf does not read responses other than outgoingMessages, so it may find
			// nothing wrong with a frame that UnmarshalResponseBatch rejects.
			return
		}
		// A well-formed frame: every outgoing message is either delivered or counted as garbage.
		total := 0
		for _, r := range rb.Responses {
			if r.HasOutgoing {
				total += len(r.OutgoingMessages)
			}
		}
		if len(b.Messages)+b.Garbage != total {
			t.Fatalf("%d messages + %d garbage, want %d outgoing messages", len(b.Messages), b.Garbage, total)
		}
		// A frame that decodes re-encodes to bytes that decode to the same batch and messages.
		again, err := UnmarshalResponseBatch(rb.Marshal())
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if len(again.Responses) != len(rb.Responses) {
			t.Fatalf("re-encoded frame has %d responses, want %d", len(again.Responses), len(rb.Responses))
		}
		b2 := DecodeProtobuf(rb.Marshal())
		if len(b2.Messages) != len(b.Messages) || b2.Garbage != b.Garbage {
			t.Fatalf("re-encoded frame decodes differently: %d/%d vs %d/%d", len(b2.Messages), b2.Garbage, len(b.Messages), b.Garbage)
		}
	})
}

func FuzzUnmarshalRequestBatch(f *testing.F) {
	f.Add(unhex(f, specPublishHex))
	f.Add(pb(fBytes(1, pb(fBytes(2, pb(fBytes(1, pb(fBytes(1, []byte{1}), fVarint(2, 1))))))), fBytes(1, pb(fBytes(3, nil)))))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := UnmarshalRequestBatch(data)
		if err != nil {
			return
		}
		again, err := UnmarshalRequestBatch(rb.Marshal())
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if !bytes.Equal(again.Marshal(), rb.Marshal()) {
			t.Fatal("encoding is not stable")
		}
	})
}

func FuzzDecodeJSONRPC(f *testing.F) {
	f.Add([]byte(specDelivery))
	f.Add([]byte("ping"))
	f.Add(coalescedRPCFrame(f))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"x"}},{"method":"m","params":[]},` +
		delivery(`{"mid":"1","body":{"module_id":"m","command":"c","params":{"a":1}},"user_params":{"a":2,"\u0062":3},"dictionary":{"b":4}}`) + `]`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		r := DecodeJSONRPC(frame)
		if r.Ping && (len(r.Messages) > 0 || r.Garbage > 0) {
			t.Fatal("ping frame with content")
		}
		checkMessages(t, r.Messages, true)
		if !r.Ping && !gjson.ValidBytes(frame) && r.Garbage != 1 {
			t.Fatalf("invalid JSON counted %d garbage", r.Garbage)
		}
		for _, resp := range r.Responses {
			if (resp.Err == nil) == (resp.Result == nil) {
				t.Fatalf("response must carry a result or an error: %+v", resp)
			}
		}
		_, _ = DecodeRPCRequests(frame)
	})
}

func FuzzMergeObjects(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[1,"}"]}}`), []byte(`{"\u0061":"é","d":null}`))
	f.Add([]byte(`[]`), []byte(`{"x":1}`))
	f.Add([]byte(`[`), []byte(``))
	f.Fuzz(func(t *testing.T, base, overlay []byte) {
		got := MergeObjects(base, overlay)
		if _, ok := NormalizeObject(base); !ok || !gjson.ValidBytes(overlay) {
			return
		}
		if !gjson.ValidBytes(got) || !gjson.ParseBytes(got).IsObject() {
			t.Fatalf("merge of objects is not an object: %q", got)
		}
		over := gjson.ParseBytes(overlay)
		if !over.IsObject() {
			return
		}
		// Every key of the overlay ends with the overlay's (last) value.
		lastValue := func(obj gjson.Result, key string) string {
			raw := ""
			obj.ForEach(func(k, v gjson.Result) bool {
				if k.Str == key {
					raw = v.Raw
				}
				return true
			})
			return raw
		}
		merged := gjson.ParseBytes(got)
		over.ForEach(func(k, _ gjson.Result) bool {
			if g, w := lastValue(merged, k.Str), lastValue(over, k.Str); g != w {
				t.Fatalf("key %q: got %s, want %s", k.Str, g, w)
			}
			return true
		})
	})
}

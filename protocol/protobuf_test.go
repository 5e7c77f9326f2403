package protocol

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/encoding/protowire"
)

// specResponseHex is the 161-byte example frame of §6.3.
const specResponseHex = "0a9e010a9b010a98010a0d17400000000000000000000123127a7b226d6f64756c655f6964223a226170706c69636174" +
	"696f6e222c22636f6d6d616e64223a2264656d6f222c22706172616d73223a7b226e223a377d2c226578747261223a7b" +
	"227365727665725f74696d655f756e6978223a313734303030303030302e32352c227265766973696f6e5f776562223a" +
	"31397d7d1880a30525004bb6672a020802"

const specBody = `{"module_id":"application","command":"demo","params":{"n":7},"extra":{"server_time_unix":1740000000.25,"revision_web":19}}`

// specPublishHex is the 109-byte client publish of §17.
const specPublishHex = "0a6b0a690a670a280a100f1e2d3c4b5a69788796a5b4c3d2e1f01a1438cdc8da33eb1639e59ace48b468e17fe48b8746" +
	"1a397b226d6f64756c655f6964223a226170706c69636174696f6e222c22636f6d6d616e64223a2268656c6c6f222c" +
	"22706172616d73223a7b7d7d2000"

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(tb, err)
	return b
}

func binaryFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "ps2", "*.bin"))
	require.NoError(t, err)
	require.Len(t, files, 6)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

func TestResponseBatchRoundTripFixtures(t *testing.T) {
	t.Parallel()
	for _, file := range binaryFixtures(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data := fixture(t, file)
			b, err := UnmarshalResponseBatch(data)
			require.NoError(t, err)
			assert.Equal(t, data, b.Marshal())
		})
	}
}

func TestSpecResponseExample(t *testing.T) {
	t.Parallel()
	data := unhex(t, specResponseHex)
	require.Len(t, data, 161)
	want := ResponseBatch{Responses: []Response{{HasOutgoing: true, OutgoingMessages: []OutgoingMessage{{
		ID:      unhex(t, "17400000000000000000000123"),
		Body:    []byte(specBody),
		Expiry:  86400,
		Created: 1740000000,
		Sender:  &PBSender{Type: SenderBackend},
	}}}}}
	assert.Equal(t, data, want.Marshal())
	got, err := UnmarshalResponseBatch(data)
	require.NoError(t, err)
	assert.Equal(t, &want, got)

	b := DecodeProtobuf(data)
	require.Zero(t, b.Garbage)
	require.Len(t, b.Messages, 1)
	assert.Equal(t, Message{
		MID:      "17400000000000000000000123",
		ModuleID: "application",
		Command:  "demo",
		Params:   []byte(`{"n":7}`),
		Extra:    []byte(`{"server_time_unix":1740000000.25,"revision_web":19}`),
		Sender:   &Sender{Type: SenderBackend},
	}, b.Messages[0])
}

func TestSpecPublishExample(t *testing.T) {
	t.Parallel()
	data := unhex(t, specPublishHex)
	require.Len(t, data, 109)
	msgs := []IncomingMessage{{
		Receivers: []Receiver{{
			ID:        unhex(t, "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
			Signature: unhex(t, "38cdc8da33eb1639e59ace48b468e17fe48b8746"),
		}},
		Body: []byte(`{"module_id":"application","command":"hello","params":{}}`),
	}}
	assert.Equal(t, data, EncodePublish(msgs))
	got, err := UnmarshalRequestBatch(data)
	require.NoError(t, err)
	assert.Equal(t, &RequestBatch{Requests: []Request{{HasIncoming: true, IncomingMessages: msgs}}}, got)
}

func TestDecodeProtobufFixtures(t *testing.T) {
	t.Parallel()
	tests := []fixtureCase{
		{"ws-binary-1.bin", []int64{1}, "17954868390000000000001336"},
		{"ws-binary-2.bin", []int64{2}, "17954868390000000000001337"},
		{"ws-binary-3.bin", []int64{3, 4, 5, 6}, "17954868390000000000001338"},
		{"ws-binary-4.bin", []int64{0}, "17954868390000000000001342"},
		{"ws-binary-replay-1.bin", replayN, "17954868390000000000001330"},
		{"lp-binary-200.bin", replayN, "17954868390000000000001330"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			checkFixtureBatch(t, tc, DecodeProtobuf(fixture(t, tc.file)), true)
		})
	}
}

// TestTextAndBinaryAgree checks that the text and binary recordings decode to the same messages: the
// replay frames message for message (mids included), the live frames body for body.
func TestTextAndBinaryAgree(t *testing.T) {
	t.Parallel()
	pairs := []struct {
		text, bin string
		sameMIDs  bool
	}{
		{"ws-text-replay-1.txt", "ws-binary-replay-1.bin", true},
		{"lp-text-200.txt", "lp-binary-200.bin", true},
		{"ws-text-1.txt", "ws-binary-1.bin", false},
		{"ws-text-2.txt", "ws-binary-2.bin", false},
		{"ws-text-3.txt", "ws-binary-3.bin", false},
		{"ws-text-4.txt", "ws-binary-4.bin", false},
	}
	for _, p := range pairs {
		t.Run(p.text, func(t *testing.T) {
			t.Parallel()
			tb := DecodeText(fixture(t, p.text))
			bb := DecodeProtobuf(fixture(t, p.bin))
			require.Len(t, bb.Messages, len(tb.Messages))
			for i := range tb.Messages {
				tm, bm := tb.Messages[i], bb.Messages[i]
				if p.sameMIDs {
					assert.Equal(t, tm.MID, bm.MID)
				}
				assert.Equal(t, tm.ModuleID, bm.ModuleID)
				assert.Equal(t, tm.Command, bm.Command)
				assert.Equal(t, string(tm.Params), string(bm.Params))
				assert.Equal(t, string(tm.Extra), string(bm.Extra))
			}
		})
	}
}

func TestProtobufTruncatedAtEveryLength(t *testing.T) {
	t.Parallel()
	for _, file := range binaryFixtures(t) {
		data := fixture(t, file)
		full := DecodeProtobuf(data)
		whole, err := UnmarshalResponseBatch(data)
		require.NoError(t, err)
		// A coalesced frame holds one Response per delivery: cutting between them is well-formed.
		boundaries := map[int]bool{}
		end := 0
		for _, r := range whole.Responses {
			end += len((&ResponseBatch{Responses: []Response{r}}).Marshal())
			boundaries[end] = true
		}
		for n := 1; n < len(data); n++ {
			_, err := UnmarshalResponseBatch(data[:n])
			b := DecodeProtobuf(data[:n])
			require.LessOrEqual(t, len(b.Messages), len(full.Messages))
			if len(b.Messages) > 0 {
				require.Equal(t, full.Messages[:len(b.Messages)], b.Messages, "%s[:%d]", file, n)
			}
			if boundaries[n] {
				require.NoError(t, err, "%s[:%d]", file, n)
				require.Zero(t, b.Garbage, "%s[:%d]", file, n)
				continue
			}
			require.Error(t, err, "%s[:%d]", file, n)
			require.Equal(t, 1, b.Garbage, "%s[:%d]", file, n)
		}
	}
	publish := unhex(t, specPublishHex)
	for n := 1; n < len(publish); n++ {
		_, err := UnmarshalRequestBatch(publish[:n])
		require.Error(t, err, "publish[:%d]", n)
	}
}

// pb builds protobuf bytes for tests from fields appended by the given functions.
func pb(parts ...func([]byte) []byte) []byte {
	var b []byte
	for _, p := range parts {
		b = p(b)
	}
	return b
}

func fBytes(num protowire.Number, v []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
}

func fVarint(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
}

func fFixed32(num protowire.Number, v uint32) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), v)
	}
}

func fFixed64(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), v)
	}
}

func fGroup(num protowire.Number, inner []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.StartGroupType)
		b = append(b, inner...)
		return protowire.AppendTag(b, num, protowire.EndGroupType)
	}
}

func fRaw(raw []byte) func([]byte) []byte {
	return func(b []byte) []byte { return append(b, raw...) }
}

// unknownFields carries one unknown field of every wire type.
var unknownFields = fRaw(pb(fVarint(9, 300), fFixed64(10, 1), fBytes(11, []byte("x")), fFixed32(12, 2),
	fGroup(13, pb(fVarint(1, 1)))))

// frameOf wraps OutgoingMessage bytes in one outgoingMessages response.
func frameOf(msgs ...[]byte) []byte {
	var inner []func([]byte) []byte
	for _, m := range msgs {
		inner = append(inner, fBytes(1, m))
	}
	return pb(fBytes(1, pb(fBytes(1, pb(inner...)))))
}

func outgoing(mid string, body string, sender []byte) []byte {
	id, _ := hex.DecodeString(mid)
	parts := []func([]byte) []byte{fBytes(1, id), fBytes(2, []byte(body))}
	if sender != nil {
		parts = append(parts, fBytes(5, sender))
	}
	return pb(parts...)
}

const simpleBody = `{"module_id":"m","command":"c","params":{"n":1}}`

func TestDecodeProtobufRules(t *testing.T) {
	t.Parallel()
	backend := pb(fVarint(1, SenderBackend))
	tests := []struct {
		name    string
		frame   []byte
		mids    []string
		senders []Sender
		garbage int
	}{
		{"empty frame", nil, nil, nil, 0},
		{"garbage bytes", []byte("hello, world"), nil, nil, 1},
		{"no sender then good", frameOf(outgoing("01", simpleBody, nil), outgoing("02", simpleBody, backend)),
			[]string{"01", "02"}, []Sender{{}, {Type: SenderBackend}}, 0},
		{"client sender with id", frameOf(outgoing("0a", simpleBody, pb(fVarint(1, SenderClient), fBytes(2, []byte{0xAB, 0x01})))),
			[]string{"0a"}, []Sender{{Type: SenderClient, ID: "ab01"}}, 0},
		{"sender merged when repeated", frameOf(pb(fBytes(1, []byte{1}), fBytes(2, []byte(simpleBody)),
			fBytes(5, pb(fVarint(1, 1))), fBytes(5, pb(fBytes(2, []byte{2}))))),
			[]string{"01"}, []Sender{{Type: SenderClient, ID: "02"}}, 0},
		{"unknown fields everywhere", pb(unknownFields, fBytes(1, pb(unknownFields, fBytes(1, pb(unknownFields,
			fBytes(1, pb(fBytes(1, []byte{7}), unknownFields, fBytes(2, []byte(simpleBody)), fBytes(5, pb(unknownFields, fVarint(1, 2)))))))))),
			[]string{"07"}, []Sender{{Type: SenderBackend}}, 0},
		{"bad body skipped", frameOf(outgoing("01", "{", backend), outgoing("02", simpleBody, backend)),
			[]string{"02"}, []Sender{{Type: SenderBackend}}, 1},
		{"body not an object", frameOf(outgoing("01", "[1]", nil)), nil, nil, 1},
		{"body lacks command", frameOf(outgoing("01", `{"module_id":"m"}`, nil)), nil, nil, 1},
		{"params a string", frameOf(outgoing("01", `{"module_id":"m","command":"c","params":"x"}`, nil), outgoing("02", simpleBody, nil)),
			[]string{"02"}, []Sender{{}}, 1},
		{"undecodable message skipped", frameOf(pb(fVarint(1, 5)), outgoing("03", simpleBody, nil)),
			[]string{"03"}, []Sender{{}}, 1},
		{"bad sender skipped", frameOf(outgoing("01", simpleBody, []byte{0xff}), outgoing("03", simpleBody, nil)),
			[]string{"03"}, []Sender{{}}, 1},
		{"channelStats response ignored", pb(fBytes(1, pb(fBytes(2, pb(fBytes(1, pb(fBytes(1, []byte{1}))))))),
			fBytes(1, pb(fBytes(1, pb(fBytes(1, outgoing("04", simpleBody, nil))))))), []string{"04"}, []Sender{{}}, 0},
		{"serverStats response ignored", pb(fBytes(1, pb(fBytes(3, pb(fBytes(1, []byte("{}"))))))), nil, nil, 0},
		{"oneof: later member wins", pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, outgoing("05", simpleBody, nil)))), fBytes(3, nil)))), nil, nil, 0},
		{"oneof: outgoing after stats", pb(fBytes(1, pb(fBytes(3, nil), fBytes(1, pb(fBytes(1, outgoing("06", simpleBody, nil))))))),
			[]string{"06"}, []Sender{{}}, 0},
		{"wrong wire type for responses", pb(fVarint(1, 1)), nil, nil, 1},
		{"wrong wire type inside response", pb(fBytes(1, pb(fVarint(1, 1)))), nil, nil, 1},
		{"wrong wire type for messages", pb(fBytes(1, pb(fBytes(1, pb(fVarint(1, 1)))))), nil, nil, 1},
		{"messages kept before a broken response", pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, outgoing("07", simpleBody, nil)))))), fRaw([]byte{0x0a, 0x05})),
			[]string{"07"}, []Sender{{}}, 1},
		{"overflowing length", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, nil, nil, 1},
		{"overlong varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil, nil, 1},
		{"bad wire type", []byte{0x0e}, nil, nil, 1},
		{"field number zero", []byte{0x02, 0x00}, nil, nil, 1},
		{"lone end group", []byte{0x0c}, nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := DecodeProtobuf(tt.frame)
			assert.Equal(t, tt.garbage, b.Garbage, "garbage")
			var mids []string
			var senders []Sender
			for _, m := range b.Messages {
				mids = append(mids, m.MID)
				require.NotNil(t, m.Sender)
				senders = append(senders, *m.Sender)
				assert.Equal(t, `{"n":1}`, string(m.Params))
				assert.Equal(t, "{}", string(m.Extra))
			}
			assert.Equal(t, tt.mids, mids)
			assert.Equal(t, tt.senders, senders)
		})
	}
}

func TestUnmarshalOutgoingScalars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  []byte
		want OutgoingMessage
	}{
		{"defaults absent", pb(fBytes(1, []byte{1})), OutgoingMessage{ID: []byte{1}}},
		{"defaults present", pb(fBytes(1, nil), fBytes(2, nil), fVarint(3, 0), fFixed32(4, 0)), OutgoingMessage{ID: []byte{}, Body: []byte{}}},
		{"last scalar wins", pb(fVarint(3, 5), fFixed32(4, 1), fVarint(3, 600), fFixed32(4, 2)), OutgoingMessage{Expiry: 600, Created: 2}},
		{"uint32 truncates", pb(fVarint(3, 1<<32+7)), OutgoingMessage{Expiry: 7}},
		{"negative sender type", pb(fBytes(5, pb(fVarint(1, uint64(1<<64-1))))), OutgoingMessage{Sender: &PBSender{Type: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalResponseBatch(frameOf(tt.msg))
			require.NoError(t, err)
			require.Len(t, got.Responses, 1)
			require.Len(t, got.Responses[0].OutgoingMessages, 1)
			assert.Equal(t, tt.want, got.Responses[0].OutgoingMessages[0])
		})
	}
}

func TestUnmarshalWrongWireTypes(t *testing.T) {
	t.Parallel()
	responses := map[string][]byte{
		"id as varint":         frameOf(pb(fVarint(1, 1))),
		"expiry as bytes":      frameOf(pb(fBytes(3, nil))),
		"created as varint":    frameOf(pb(fVarint(4, 1))),
		"sender as varint":     frameOf(pb(fVarint(5, 1))),
		"sender type as bytes": frameOf(pb(fBytes(5, pb(fBytes(1, nil))))),
		"sender id as varint":  frameOf(pb(fBytes(5, pb(fVarint(2, 1))))),
		"stats id as varint":   pb(fBytes(1, pb(fBytes(2, pb(fBytes(1, pb(fVarint(1, 1)))))))),
		"stats bool as bytes":  pb(fBytes(1, pb(fBytes(2, pb(fBytes(1, pb(fBytes(3, nil)))))))),
		"stats list as varint": pb(fBytes(1, pb(fBytes(2, pb(fVarint(1, 1)))))),
		"json as varint":       pb(fBytes(1, pb(fBytes(3, pb(fVarint(1, 1)))))),
		"response as fixed32":  pb(fBytes(1, pb(fFixed32(2, 1)))),
	}
	for name, data := range responses {
		_, err := UnmarshalResponseBatch(data)
		assert.ErrorIs(t, err, errWireType, name)
	}
	requests := map[string][]byte{
		"requests as varint":   pb(fVarint(1, 1)),
		"request as varint":    pb(fBytes(1, pb(fVarint(2, 1)))),
		"messages as varint":   pb(fBytes(1, pb(fBytes(1, pb(fVarint(1, 1)))))),
		"receiver as varint":   pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fVarint(1, 1)))))))),
		"expiry as bytes":      pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(4, nil)))))))),
		"receiver id varint":   pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fVarint(1, 1)))))))))),
		"isPrivate as bytes":   pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(2, nil)))))))))),
		"channels as varint":   pb(fBytes(1, pb(fBytes(2, pb(fVarint(1, 1)))))),
		"sender type as bytes": pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(2, pb(fBytes(1, nil)))))))))),
	}
	for name, data := range requests {
		_, err := UnmarshalRequestBatch(data)
		assert.ErrorIs(t, err, errWireType, name)
	}
	_, err := UnmarshalRequestBatch(pb(fBytes(1, pb(fBytes(3, []byte{0xff})))))
	assert.Error(t, err, "broken serverStats request")
	_, err = UnmarshalResponseBatch(pb(fBytes(1, pb(fBytes(1, []byte{0x0a})))))
	assert.Error(t, err, "truncated outgoingMessages")
}

func TestRequestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	in := RequestBatch{Requests: []Request{
		{HasIncoming: true, IncomingMessages: []IncomingMessage{
			{
				Receivers: []Receiver{{ID: []byte{1, 2}, IsPrivate: true}, {ID: []byte{3}, Signature: []byte{4}}},
				Sender:    &PBSender{Type: SenderClient, ID: []byte{9}},
				Body:      []byte(simpleBody),
				Expiry:    86400,
				Type:      "m_c",
			},
			{Receivers: []Receiver{{ID: []byte{5}}}, Body: []byte("{}")},
		}},
		{HasChannelStats: true, ChannelStats: []ChannelID{{ID: []byte{6}, IsPrivate: true}, {ID: []byte{7}, Signature: []byte{8}}}},
		{ServerStats: true},
	}}
	data := in.Marshal()
	got, err := UnmarshalRequestBatch(data)
	require.NoError(t, err)
	assert.Equal(t, &in, got)
	assert.Equal(t, data, got.Marshal())

	empty := RequestBatch{Requests: []Request{{}}}
	assert.Equal(t, []byte{0x0a, 0x00}, empty.Marshal())
	got, err = UnmarshalRequestBatch(pb(fBytes(1, pb(fBytes(1, pb(fBytes(1, pb(fBytes(3, []byte("a")))))), fBytes(3, nil)))))
	require.NoError(t, err)
	assert.Equal(t, &RequestBatch{Requests: []Request{{ServerStats: true}}}, got, "oneof: last member wins")
}

func TestResponseBatchRoundTrip(t *testing.T) {
	t.Parallel()
	in := ResponseBatch{Responses: []Response{
		{HasOutgoing: true, OutgoingMessages: []OutgoingMessage{{ID: []byte{1}, Body: []byte(simpleBody), Expiry: 1, Created: 2,
			Sender: &PBSender{Type: SenderClient, ID: []byte{0xab}}}}},
		{HasChannelStats: true, ChannelStats: []ChannelStats{{ID: []byte{2}, IsPrivate: true, IsOnline: true}, {ID: []byte{3}}}},
		{HasServerStats: true, ServerStatsJSON: `{"a":1}`},
	}}
	data := in.Marshal()
	got, err := UnmarshalResponseBatch(data)
	require.NoError(t, err)
	assert.Equal(t, &in, got)
	empty := ResponseBatch{Responses: []Response{{}}}
	assert.Equal(t, []byte{0x0a, 0x00}, empty.Marshal())
	// ChannelStats writes all its fields, the sender its type even when zero.
	zero := ResponseBatch{Responses: []Response{{HasChannelStats: true, ChannelStats: []ChannelStats{{}}}}}
	assert.Equal(t, "0a0a12080a060a0010001800", hex.EncodeToString(zero.Marshal()))
	zeroSender := ResponseBatch{Responses: []Response{{HasOutgoing: true, OutgoingMessages: []OutgoingMessage{{Sender: &PBSender{}}}}}}
	assert.Equal(t, "0a130a110a0f0a00120018002500000000"+"2a020800", hex.EncodeToString(zeroSender.Marshal()))
}

func TestDecodeProtobufDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	frame := unhex(t, specResponseHex)
	b := DecodeProtobuf(frame)
	require.Len(t, b.Messages, 1)
	for i := range frame {
		frame[i] = 0
	}
	assert.Equal(t, `{"n":7}`, string(b.Messages[0].Params))
	assert.Equal(t, "application", b.Messages[0].ModuleID)
}

func TestDecodeProtobufParamsAreObjects(t *testing.T) {
	t.Parallel()
	b := DecodeProtobuf(frameOf(outgoing("01", `{"module_id":"m","command":"c","params":[],"extra":null}`, nil)))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "{}", string(b.Messages[0].Params))
	assert.Equal(t, "{}", string(b.Messages[0].Extra))
	assert.True(t, strings.HasPrefix(gjson.ParseBytes(b.Messages[0].Params).Raw, "{"))
}

func BenchmarkDecodeProtobuf(b *testing.B) {
	for _, file := range []string{"ws-binary-3.bin", "ws-binary-replay-1.bin"} {
		frame := fixture(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if len(DecodeProtobuf(frame).Messages) == 0 {
					b.Fatal("no messages")
				}
			}
		})
	}
}

package protocol

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example of docs/protocol.md §17: one message to one public channel, byte for byte.
func TestEncodeClientPublishMatchesTheSpecExample(t *testing.T) {
	ref, err := ParsePublicRef("0f1e2d3c4b5a69788796a5b4c3d2e1f0.38cdc8da33eb1639e59ace48b468e17fe48b8746")
	require.NoError(t, err)
	frame, err := EncodeClientPublish([]PublicRef{ref}, ClientMessage{ModuleID: "application", Command: "hello"})
	require.NoError(t, err)
	want := "0a6b0a690a670a280a100f1e2d3c4b5a69788796a5b4c3d2e1f01a1438cdc8da33eb1639e59ace48b468e17fe48b8746" +
		"1a397b226d6f64756c655f6964223a226170706c69636174696f6e222c22636f6d6d616e64223a2268656c6c6f222c" +
		"22706172616d73223a7b7d7d2000"
	assert.Equal(t, want, hex.EncodeToString(frame))
	assert.Len(t, frame, 109)

	// What the stand-in and the push server read back.
	batch, err := UnmarshalRequestBatch(frame)
	require.NoError(t, err)
	require.Len(t, batch.Requests, 1)
	msgs := batch.Requests[0].IncomingMessages
	require.Len(t, msgs, 1)
	assert.False(t, msgs[0].Receivers[0].IsPrivate)
	assert.JSONEq(t, `{"module_id":"application","command":"hello","params":{}}`, string(msgs[0].Body))
}

func TestEncodeClientPublishKeepsEveryReceiverAndTheExpiry(t *testing.T) {
	a := PublicRef{PublicID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Signature: "abcd"}
	b := PublicRef{PublicID: "ffffffffffffffffffffffffffffffff", Signature: "0102"}
	frame, err := EncodeClientPublish([]PublicRef{a, b}, ClientMessage{
		ModuleID: "my.app", Command: "typing", Params: json.RawMessage(` {"n":7} `), Expiry: 60,
	})
	require.NoError(t, err)
	batch, err := UnmarshalRequestBatch(frame)
	require.NoError(t, err)
	in := batch.Requests[0].IncomingMessages[0]
	require.Len(t, in.Receivers, 2)
	assert.Equal(t, "ffffffffffffffffffffffffffffffff", hex.EncodeToString(in.Receivers[1].ID))
	assert.Equal(t, []byte{1, 2}, in.Receivers[1].Signature)
	assert.EqualValues(t, 60, in.Expiry)
	assert.JSONEq(t, `{"module_id":"my.app","command":"typing","params":{"n":7}}`, string(in.Body))

	_, err = EncodeClientPublish(nil, ClientMessage{ModuleID: "m", Command: "c"})
	assert.Error(t, err, "no receiver")
	_, err = EncodeClientPublish([]PublicRef{{PublicID: "xyz", Signature: "00"}}, ClientMessage{ModuleID: "m", Command: "c"})
	assert.Error(t, err, "a bad id")
}

func TestParsePublicRefRefusesWhatIsNotAPublicChannel(t *testing.T) {
	for _, s := range []string{
		"",
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0",     // no signature
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0.",    // empty signature
		"0f1e2d3c4b5a69788796a5b4c3d2e1f.00",   // 31 digits
		"0f1e2d3c4b5a69788796a5b4c3d2e1fz.00",  // not hex
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0.abc", // odd signature
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0.zz",  // signature not hex
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0:0f1e2d3c4b5a69788796a5b4c3d2e1f0.00", // a private id
	} {
		_, err := ParsePublicRef(s)
		if assert.Error(t, err, "%q", s) && len(s) > 33 {
			assert.NotContains(t, err.Error(), s[33:], "the error quotes the signature")
		}
	}
	r, err := ParsePublicRef("0F1E2D3C4B5A69788796A5B4C3D2E1F0.00ff")
	require.NoError(t, err)
	assert.Equal(t, "0F1E2D3C4B5A69788796A5B4C3D2E1F0.00ff", r.String())
	rc, err := r.Receiver()
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0xff}, rc.Signature)
	_, err = PublicRef{}.Receiver()
	assert.Error(t, err)
	assert.Equal(t, PublicRef{PublicID: "p", Signature: "s"}, PublicRefOf(PublicChannel{PublicID: "p", Signature: "s", UserID: 3}))
}

func TestClientMessageCheck(t *testing.T) {
	ok := ClientMessage{ModuleID: "application", Command: "c"}
	assert.NoError(t, ok.Check())
	for _, p := range []string{"", "null", "{}", ` {"a":[1]} `} {
		m := ok
		m.Params = json.RawMessage(p)
		assert.NoError(t, m.Check(), "params %q", p)
	}
	for _, m := range []ClientMessage{
		{Command: "c"},
		{ModuleID: " ", Command: "c"},
		{ModuleID: "m"},
		{ModuleID: "m", Command: "c", Expiry: -1},
		{ModuleID: "m", Command: "c", Params: json.RawMessage(`[1]`)},
		{ModuleID: "m", Command: "c", Params: json.RawMessage(`"x"`)},
		{ModuleID: "m", Command: "c", Params: json.RawMessage(`{`)},
	} {
		assert.Error(t, m.Check(), "%+v", m)
	}
	assert.Equal(t, `{"module_id":"a\"b","command":"c","params":{}}`, string(ClientMessage{ModuleID: `a"b`, Command: "c", Params: json.RawMessage("null")}.Body()))
}

func TestRPCPublishParams(t *testing.T) {
	m := ClientMessage{ModuleID: "application", Command: "hello", Params: json.RawMessage(`{"n":1}`), Expiry: 30}
	ref := PublicRef{PublicID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Signature: "00"}
	assert.JSONEq(t, `{"userList":[7,9],"body":{"module_id":"application","command":"hello","params":{"n":1}},"expiry":30}`,
		string(RPCPublishParams([]int{7, 9}, nil, m)))
	assert.JSONEq(t, `{"channelList":["0f1e2d3c4b5a69788796a5b4c3d2e1f0.00","0f1e2d3c4b5a69788796a5b4c3d2e1f0.00"],"body":{"module_id":"application","command":"hello","params":{"n":1}},"expiry":30}`,
		string(RPCPublishParams(nil, []PublicRef{ref, ref}, m)))
	assert.JSONEq(t, `{"userList":[1],"channelList":["0f1e2d3c4b5a69788796a5b4c3d2e1f0.00"],"body":{"module_id":"application","command":"hello","params":{"n":1}},"expiry":30}`,
		string(RPCPublishParams([]int{1}, []PublicRef{ref}, m)))
}

func TestUserIDs(t *testing.T) {
	assert.NoError(t, UserIDs([]int{1, 2}))
	assert.Error(t, UserIDs(nil))
	assert.Error(t, UserIDs([]int{1, 0}))
	assert.Error(t, UserIDs([]int{-3}))
}

// A client's channelStats request, and the push server's answer as DecodeProtobuf counts it.
func TestStatsRequestAndAnswer(t *testing.T) {
	ref := PublicRef{PublicID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Signature: "38cdc8da33eb1639e59ace48b468e17fe48b8746"}
	frame, err := EncodeStatsRequest([]PublicRef{ref})
	require.NoError(t, err)
	batch, err := UnmarshalRequestBatch(frame)
	require.NoError(t, err)
	require.Len(t, batch.Requests, 1)
	require.True(t, batch.Requests[0].HasChannelStats)
	assert.Equal(t, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", hex.EncodeToString(batch.Requests[0].ChannelStats[0].ID))
	_, err = EncodeStatsRequest(nil)
	assert.Error(t, err)
	_, err = EncodeStatsRequest([]PublicRef{{PublicID: "x"}})
	assert.Error(t, err)

	stats := Response{HasChannelStats: true, ChannelStats: []ChannelStats{{ID: batch.Requests[0].ChannelStats[0].ID, IsOnline: true}}}
	msg := Response{HasOutgoing: true, OutgoingMessages: []OutgoingMessage{{
		ID: make([]byte, 13), Body: []byte(`{"module_id":"m","command":"c","params":{}}`), Sender: &PBSender{Type: SenderClient},
	}}}
	offline := Response{HasChannelStats: true, ChannelStats: []ChannelStats{{ID: []byte{1, 2}}, {ID: []byte{3}, IsOnline: true}}}
	out := DecodeProtobuf((&ResponseBatch{Responses: []Response{stats, msg, offline}}).Marshal())
	require.Len(t, out.StatsAnswers, 2)
	assert.Equal(t, stats.ChannelStats, out.StatsAnswers[0])
	assert.Equal(t, []ChannelStats{{ID: []byte{1, 2}}, {ID: []byte{3}, IsOnline: true}}, out.StatsAnswers[1])
	assert.Len(t, out.Messages, 1)
	assert.Zero(t, out.Garbage)
	assert.Empty(t, DecodeProtobuf((&ResponseBatch{Responses: []Response{msg}}).Marshal()).StatsAnswers)
	empty := DecodeProtobuf((&ResponseBatch{Responses: []Response{{HasChannelStats: true}}}).Marshal())
	assert.Equal(t, [][]ChannelStats{{}}, empty.StatsAnswers, "an answer naming no channel is still an answer")
}

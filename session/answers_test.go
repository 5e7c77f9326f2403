package session

import (
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Link names the open connection a driver may write its own requests on, and only while it is open.
func TestLinkFollowsTheOpenConnection(t *testing.T) {
	h := newHarness(t, Options{})
	_, ok := h.m.Link()
	assert.False(t, ok, "stopped")
	gen := h.start(defaultSpec())
	l, ok := h.m.Link()
	require.True(t, ok)
	assert.Equal(t, Link{Gen: gen, Transport: protocol.TransportWebSocket, Wire: protocol.WireProtobuf}, l)

	h.drop(gen, 1006)
	_, ok = h.m.Link()
	assert.False(t, ok, "closed")
	dials := all[Connect](h.advanceTo("reconnect"))
	require.Len(t, dials, 1)
	next := dials[0]
	_, ok = h.m.Link()
	assert.False(t, ok, "connecting")
	h.open(next.Gen)
	l, ok = h.m.Link()
	require.True(t, ok)
	assert.Greater(t, l.Gen, gen, "a new connection has a new generation")
	h.m.Stop(h.now)
	_, ok = h.m.Link()
	assert.False(t, ok, "stopped")
}

// The answers to the driver's requests are handed over as they arrive: JSON-RPC responses by id and,
// in protobuf mode, the count of channelStats answers. Deliveries in the same frame still go out.
func TestAnswersReachTheDriver(t *testing.T) {
	t.Run("json-rpc", func(t *testing.T) {
		s := defaultSpec()
		s.version = 5
		h := newHarness(t, Options{})
		gen := h.start(s)
		frame := `[{"jsonrpc":"2.0","id":3,"result":{"7":0}},{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found"}},` +
			`{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"m1","body":{"module_id":"application","command":"c","params":{}}}}]`
		acts := h.m.Frame(gen, []byte(frame), false, h.now)
		a := requireAction[Answers](t, acts)
		assert.Equal(t, gen, a.Gen)
		require.Len(t, a.Responses, 2)
		assert.EqualValues(t, 3, a.Responses[0].ID)
		assert.JSONEq(t, `{"7":0}`, string(a.Responses[0].Result))
		require.NotNil(t, a.Responses[1].Err)
		assert.Equal(t, protocol.RPCMethodNotFound, a.Responses[1].Err.Code)
		assert.Len(t, eventsOf(t, acts), 1, "the delivery in the same frame")

		acts = h.m.Frame(gen, []byte(`{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":"m2","body":{"module_id":"a","command":"c","params":{}}}}`), false, h.now)
		assert.Empty(t, all[Answers](acts), "no answer in the frame, no action")
	})
	t.Run("protobuf", func(t *testing.T) {
		h := newHarness(t, Options{})
		gen := h.start(defaultSpec())
		stats := protocol.Response{HasChannelStats: true, ChannelStats: []protocol.ChannelStats{{ID: make([]byte, 16)}}}
		acts := h.m.Frame(gen, (&protocol.ResponseBatch{Responses: []protocol.Response{stats, stats}}).Marshal(), true, h.now.Add(time.Millisecond))
		assert.Equal(t, Answers{Gen: gen, Stats: [][]protocol.ChannelStats{stats.ChannelStats, stats.ChannelStats}}, requireAction[Answers](t, acts))
		assert.EqualValues(t, 0, h.m.Stats().Garbage, "an answer is not garbage")
	})
}

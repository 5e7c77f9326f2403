//go:build !js

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialBench connects a native websocket to s as the bench user, as the clients do.
func dialBench(t *testing.T, ctx context.Context, s *standin.Server) *websocket.Conn {
	t.Helper()
	rest := &client.HTTPREST{Base: s.PortalURL(), Auth: s.NewToken(benchUser, true)}
	answer, err := rest.Call(ctx, "pull.application.config.get", map[string]any{"CACHE": "N"})
	require.NoError(t, err)
	cfg, err := protocol.ParseConfig(answer, time.Now())
	require.NoError(t, err)
	u, err := cfg.ConnectionURL(protocol.TransportWebSocket, false, protocol.Resume{})
	require.NoError(t, err)
	ws, _, err := websocket.Dial(ctx, u, nil)
	require.NoError(t, err)
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	require.NoError(t, waitConnections(ctx, s, 1, 5*time.Second))
	return ws
}

// TestFrameSizes checks the size of a bench message and that a coalesced frame of a full publishing
// window stays under b24pull's read limit in every wire format.
func TestFrameSizes(t *testing.T) {
	for _, v := range []int{3, 4, 5} {
		t.Run(wireName(v), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := standin.Start(standin.Options{Version: v})
			require.NoError(t, err)
			defer s.Close()
			ws := dialBench(t, ctx, s)
			require.NoError(t, newPublisher(s).publish(7))
			_, frame, err := ws.Read(ctx)
			require.NoError(t, err)
			t.Logf("%s: one event is a %d-byte frame", wireName(v), len(frame))
			assert.InDelta(t, messageBytes+overhead[v], len(frame), 15, "frame size")
			assert.Less(t, window(v, time.Second)*len(frame), client.DefaultReadLimit, "a coalesced window must fit the read limit")
		})
	}
}

// TestBurstPacing checks that a burst far larger than the stand-in's per-connection queue arrives
// whole, in order, one frame per event when coalescing is off.
func TestBurstPacing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	defer s.Close()
	ws := dialBench(t, ctx, s)
	const n = 15000
	errc := make(chan error, 1)
	go func() { errc <- newPublisher(s).burst(ctx, n, window(4, 0)) }()
	for i := 0; i < n; i++ {
		_, frame, err := ws.Read(ctx)
		require.NoError(t, err, "event %d", i)
		b := protocol.DecodeProtobuf(frame)
		require.Len(t, b.Messages, 1)
	}
	require.NoError(t, <-errc)
	// The stand-in counts a frame once its write returns, which may be just after the client read it.
	assert.Eventually(t, func() bool { return s.Stats().Frames >= n }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, int64(n), s.Stats().Frames, "one frame per event, no more")
}

//go:build !js

package standin

import (
	"net/url"
	"testing"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcceptRetiredReplaysTheOldChannel: with AcceptRetired a client that comes back with the ids the
// portal rotated away while it was disconnected still gets what was stored for them, channel_expire
// included, as from Push server 2.0, which checks only signatures.
func TestAcceptRetiredReplaysTheOldChannel(t *testing.T) {
	t.Parallel()
	for _, version := range []int{3, 4, 5} {
		s := startServer(t, Options{Version: version, AcceptRetired: true}, tuning{})
		c, old := connected(t, s, 1, nil)
		require.NoError(t, s.Publish([]int{1}, "application", "first", []byte(`{"n":1}`)))
		first := c.nextData(t)
		var mid string
		if version >= 5 {
			f := protocol.DecodeJSONRPC(first.data)
			require.Len(t, f.Messages, 1)
			mid = f.Messages[0].MID
		} else {
			b := protocol.DecodeText(first.data)
			require.Len(t, b.Messages, 1)
			mid = b.Messages[0].MID
		}

		// While the client is away: a message to the old channel, then the rotation.
		require.NoError(t, c.conn.CloseNow())
		require.NoError(t, s.Publish(nil, "application", "while_away", []byte(`{"n":2}`)))
		s.ExpireChannels(ScopeAll)

		back := dialReady(t, s, wsURL(s, subQuery(old, url.Values{"mid": {mid}})))
		var cmds []string
		for len(cmds) < 3 {
			f := back.nextData(t)
			var msgs []protocol.Message
			if version >= 5 {
				msgs = protocol.DecodeJSONRPC(f.data).Messages
			} else {
				msgs = protocol.DecodeText(f.data).Messages
			}
			require.NotEmpty(t, msgs, "v%d", version)
			for _, m := range msgs {
				cmds = append(cmds, m.Command)
			}
		}
		assert.Contains(t, cmds, "while_away", "v%d", version)
		assert.Contains(t, cmds, "channel_expire", "v%d", version)
	}
}

//go:build !js

package standin

import (
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTraceSeesStoresAndSubscriptions: Options.Trace is told where every message was stored and
// which keys each connection subscribed, from which id.
func TestTraceSeesStoresAndSubscriptions(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	trace := func(what string, keys []string, mid string, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, what+" "+mid+" "+strings.Join(keys, ",")+" "+string(body))
	}
	s := startServer(t, Options{Version: 4, Trace: trace}, tuning{})
	c, ids := connected(t, s, 1, nil)
	require.NoError(t, s.Publish([]int{1}, "application", "traced", []byte(`{"n":1}`)))
	c.nextData(t)
	dialReady(t, s, wsURL(s, subQuery(ids, url.Values{"mid": {"00000000000000000000000001"}})))

	mu.Lock()
	defer mu.Unlock()
	var pubs, subs, configs int
	for _, line := range seen {
		switch {
		case strings.HasPrefix(line, "config "):
			configs++
		case strings.HasPrefix(line, "publish ") && strings.Contains(line, `"traced"`):
			pubs++
		case strings.HasPrefix(line, "subscribe 00000000000000000000000001 "):
			subs++
		}
	}
	assert.Equal(t, 1, pubs, "the published message: %v", seen)
	assert.Equal(t, 1, subs, "the subscription resuming from the given id: %v", seen)
	assert.Positive(t, configs, "the config answers: %v", seen)
}

package session

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnreadableSystemParamsAreCounted: a channel_expire whose new_channel cannot be read is counted
// and logged, without the value, and still handled: the config is reloaded.
func TestUnreadableSystemParamsAreCounted(t *testing.T) {
	h := newHarness(t, Options{})
	gen := h.start(defaultSpec())
	acts := h.m.Frame(gen, channelExpire(`{"action":"reconnect","channel":{"id":"`+sharedID+`","type":"shared"},"new_channel":{"id":"`+newShare+
		`","start":"yesterday","end":"2026-11-24T15:00:05+00:00","type":"shared"}}`), false, h.now)
	requireAction[LoadConfig](t, acts)
	requireNo[Disconnect](t, acts)
	assert.EqualValues(t, 1, h.m.Stats().BadSystem)
	var logged []string
	for _, a := range acts {
		if l, ok := a.(Log); ok {
			logged = append(logged, l.Text)
		}
	}
	assert.Contains(t, logged, "system command channel_expire: new_channel.start: not an ISO-8601 date")
	assert.NotContains(t, strings.Join(logged, "\n"), newShare)

	// a readable one is not counted
	h.m.Frame(gen, channelExpireN(51, `{"action":"get_config","channel":{"id":"`+privID+`","type":"private"}}`), false, h.now)
	assert.EqualValues(t, 1, h.m.Stats().BadSystem)
}

package session

import (
	"testing"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
)

// TestTimerGeneration checks that the generation moves with the timers and stays put across a frame
// that touches none, so that a caller can keep its copy of Deadlines.
func TestTimerGeneration(t *testing.T) {
	h := newHarness(t, Options{})
	before := h.m.TimerGeneration()
	gen := h.start(defaultSpec())
	started := h.m.TimerGeneration()
	assert.NotEqual(t, before, started, "starting sets timers")
	deadlines := h.m.Deadlines()

	frame := protocol.EncodeText(protocol.TextEnvelope{
		ID: 1, MID: "17954937510000000000000001", Channel: "-",
		Text: []byte(`{"module_id":"application","command":"x","params":{"n":1}}`),
	})
	acts := h.m.Frame(gen, frame, false, h.now)
	requireAction[Deliver](t, acts)
	assert.Equal(t, started, h.m.TimerGeneration(), "a plain frame sets no timer")
	assert.Equal(t, deadlines, h.m.Deadlines())

	h.m.Stop(h.now)
	assert.NotEqual(t, started, h.m.TimerGeneration(), "stopping clears the timers")
	assert.Empty(t, h.m.Deadlines())
}

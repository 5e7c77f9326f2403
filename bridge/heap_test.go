package bridge

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHeapMetricsFollowCollections(t *testing.T) {
	runtime.GC()
	before := heapMetrics()
	assert.Positive(t, before.live)
	assert.Positive(t, before.cycles)

	kept := make([][]byte, 64)
	for i := range kept {
		kept[i] = make([]byte, 64<<10)
	}
	runtime.GC()
	during := heapMetrics()
	assert.Greater(t, during.cycles, before.cycles)
	assert.GreaterOrEqual(t, during.live-before.live, float64(len(kept)*(64<<10))*0.9, "4 MiB kept shows in the live heap")
	runtime.KeepAlive(kept)
}

package bridge

import "runtime/metrics"

// heapFigures are the Go heap's figures as of the last completed garbage collection.
type heapFigures struct {
	live   float64 // bytes of heap objects the collection found live
	cycles float64 // collections completed since the program started
}

// heapMetrics reads the heap figures without forcing a collection. Wasm memory only ever grows,
// in steps, so it cannot tell a leak from the heap's working size; the live heap can: it returns
// to the same level after each collection unless something is kept.
func heapMetrics() heapFigures {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(samples)
	var h heapFigures
	if v := samples[0].Value; v.Kind() == metrics.KindUint64 {
		h.live = float64(v.Uint64())
	}
	if v := samples[1].Value; v.Kind() == metrics.KindUint64 {
		h.cycles = float64(v.Uint64())
	}
	return h
}

//go:build !js

package bench

import (
	"context"
	"fmt"
	"net/url"

	"github.com/b24pull/b24pull/standin"
)

// cold measures each client's start in a fresh browser context: from the insertion of its script to
// online (fetch, compile, config, connect), and what it loaded.
func (r *runner) cold(ctx context.Context) error {
	s, err := r.standin(4, 0)
	if err != nil {
		return err
	}
	defer s.Close()
	times := map[string][]float64{}
	phases := map[string]map[string][]float64{}
	for round := 0; round <= r.cfg.ColdRounds; round++ {
		for i := range r.clients {
			kind := r.clients[(i+round)%len(r.clients)]
			ms, loaded, ph, err := r.coldOnce(ctx, s, kind)
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", kind, err)
			}
			if round == 0 {
				size, err := r.sizeOf(kind, loaded)
				if err != nil {
					return err
				}
				r.rep.Size = append(r.rep.Size, size)
				continue // the first round warms the disk and the browser
			}
			times[kind] = append(times[kind], ms)
			if phases[kind] == nil {
				phases[kind] = map[string][]float64{}
			}
			for name, at := range ph {
				phases[kind][name] = append(phases[kind][name], at)
			}
		}
	}
	for _, kind := range r.clients {
		med := map[string]float64{}
		for name, ats := range phases[kind] {
			med[name] = median(ats)
		}
		r.rep.Cold = append(r.rep.Cold, ColdResult{Client: kind, Ms: times[kind], Median: median(times[kind]), Phases: med})
		r.logf("bench: cold start %-8s %6.0f ms", kind, median(times[kind]))
	}
	return nil
}

// resource is one entry of the page's resource timing.
type resource struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Size  int64   `json:"size"`
	Start float64 `json:"start"` // ms after the script insertion
	End   float64 `json:"end"`
}

func (r *runner) coldOnce(ctx context.Context, s *standin.Server, kind string) (float64, []string, map[string]float64, error) {
	p, err := r.openPage(ctx, s, true)
	if err != nil {
		return 0, nil, nil, err
	}
	defer p.close()
	var since float64
	if err := p.eval(ctx, "bench.sinceOrigin()", &since); err != nil {
		return 0, nil, nil, err
	}
	ms, err := p.connect(ctx, kind)
	if err != nil {
		return 0, nil, nil, err
	}
	var res []resource
	if err := p.eval(ctx, fmt.Sprintf("bench.resources(%f)", since), &res); err != nil {
		return 0, nil, nil, err
	}
	var phases map[string]float64
	if err := p.eval(ctx, "bench.phases()", &phases); err != nil {
		return 0, nil, nil, err
	}
	if err := p.disconnect(ctx); err != nil {
		return 0, nil, nil, err
	}
	var paths []string
	for _, e := range res {
		u, err := url.Parse(e.Name)
		if err != nil {
			continue
		}
		if _, ok := r.h.fileFor(u.Path, r.webDir); ok {
			paths = append(paths, u.Path)
		}
	}
	return ms, paths, phases, nil
}

// memory reads each client's JavaScript heap and WebAssembly memory after MemoryEvents/2 and
// MemoryEvents events, in a fresh browser context per client (version 4, protobuf, coalescing off).
func (r *runner) memory(ctx context.Context) error {
	s, err := r.standin(4, 0)
	if err != nil {
		return err
	}
	defer s.Close()
	half := r.cfg.MemoryEvents / 2
	for _, kind := range Clients {
		m, err := r.memoryOf(ctx, s, kind, half)
		if err != nil {
			return fmt.Errorf("memory of %s: %w", kind, err)
		}
		r.rep.Memory = append(r.rep.Memory, m)
		r.logf("bench: memory %-8s heap %d → %d, wasm %d → %d", kind, m.HeapHalf, m.HeapFull, m.WasmHalf, m.WasmFull)
	}
	return nil
}

func (r *runner) memoryOf(ctx context.Context, s *standin.Server, kind string, half int) (MemoryResult, error) {
	m := MemoryResult{Client: kind, Events: 2 * half}
	p, err := r.openPage(ctx, s, true)
	if err != nil {
		return m, err
	}
	defer p.close()
	if m.HeapBase, err = p.heapUsed(ctx); err != nil {
		return m, err
	}
	if _, err := p.connect(ctx, kind); err != nil {
		return m, err
	}
	read := func(heap, wasm *int64) error {
		if _, err := p.collect(ctx, half, false, func() error { return p.pub.burst(ctx, half, window(4, 0)) }); err != nil {
			return err
		}
		h, err := p.heapUsed(ctx)
		if err != nil {
			return err
		}
		*heap = h
		return p.eval(ctx, "bench.wasmBytes()", wasm)
	}
	if err := read(&m.HeapHalf, &m.WasmHalf); err != nil {
		return m, err
	}
	if err := read(&m.HeapFull, &m.WasmFull); err != nil {
		return m, err
	}
	return m, p.disconnect(ctx)
}

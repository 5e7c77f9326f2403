//go:build !js

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// overhead is what each wire format adds to a message body in a frame, in bytes (TestFrameSizes).
var overhead = map[int]int{3: 167, 4: 36, 5: 115}

// coalescedFrameBytes bounds a coalesced frame: b24pull drops a connection whose frame exceeds its
// read limit (client.DefaultReadLimit, 1.06 MiB) and resumes from the last id.
const coalescedFrameBytes = 900 << 10

// window is how many messages may be published and not yet written to the socket, which is how the
// publisher follows the stand-in's pace. Without coalescing every message is a frame and 2,000 keeps
// the socket busy; with coalescing the stand-in writes everything queued at the end of each window
// in one frame, so the window is what fits one frame.
func window(version int, coalesce time.Duration) int {
	if coalesce <= 0 {
		return 2000
	}
	return coalescedFrameBytes / (messageBytes + overhead[version])
}

// streams runs the burst (every version and coalescing window) and the steady stream (every
// version, coalescing off), one stand-in and one page per mode, the clients in turn.
func (r *runner) streams(ctx context.Context) error {
	cfg := r.cfg
	for _, v := range cfg.Versions {
		for _, c := range cfg.Coalesce {
			if err := r.streamMode(ctx, v, c); err != nil {
				return fmt.Errorf("version %d, coalescing %s: %w", v, c, err)
			}
		}
	}
	return nil
}

func (r *runner) streamMode(ctx context.Context, v int, c time.Duration) error {
	cfg := r.cfg
	s, err := r.standin(v, c)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := r.openPage(ctx, s, false)
	if err != nil {
		return err
	}
	defer p.close()
	r.rep.ClockOffsets = append(r.rep.ClockOffsets, p.offset)
	if err := r.burstMode(ctx, p, v, c); err != nil {
		return err
	}
	if c != 0 || !cfg.runs("steady") {
		return nil
	}
	n := int(cfg.SteadyDuration.Seconds() * float64(cfg.SteadyRate))
	for _, kind := range r.clients {
		r.logf("bench: %s, steady %d events/s for %s: %s", wireName(v), cfg.SteadyRate, cfg.SteadyDuration, kind)
		profile := ""
		if cfg.ProfileDir != "" {
			profile = filepath.Join(cfg.ProfileDir, fmt.Sprintf("steady-v%d-%s.cpuprofile", v, kind))
		}
		lat, inClient, err := p.steady(ctx, kind, n, cfg.SteadyRate, profile)
		if err != nil {
			return err
		}
		r.rep.Steady = append(r.rep.Steady, SteadyResult{
			Version: v, Client: kind, Events: n,
			P50: quantile(lat, 0.5), P99: quantile(lat, 0.99), Max: quantile(lat, 1),
			ClientP50: quantile(inClient, 0.5), ClientP99: quantile(inClient, 0.99),
		})
	}
	return nil
}

// burstMode runs the warm-up, the measured rounds and the profiled bursts of one mode.
func (r *runner) burstMode(ctx context.Context, p *pageTab, v int, c time.Duration) error {
	cfg := r.cfg
	if !cfg.runs("burst") {
		return nil
	}
	window := window(v, c)
	r.logf("bench: %s, coalescing %s: warm-up", wireName(v), c)
	for _, kind := range r.clients {
		if _, err := p.burst(ctx, kind, cfg.WarmupEvents, window, ""); err != nil {
			return err
		}
	}
	rates := map[string][]float64{}
	cpus := map[string][]float64{}
	for round := range cfg.BurstRounds {
		// The order turns each round so that no client always follows the same one.
		for i := range r.clients {
			kind := r.clients[(i+round)%len(r.clients)]
			st, err := p.burst(ctx, kind, cfg.BurstEvents, window, "")
			if err != nil {
				return err
			}
			rates[kind] = append(rates[kind], st.rate)
			cpus[kind] = append(cpus[kind], st.cpuPerEv)
			r.logf("bench: %s, coalescing %s, round %d: %-8s %8.0f events/s %6.1f µs CPU/event",
				wireName(v), c, round+1, kind, st.rate, st.cpuPerEv)
		}
	}
	for _, kind := range r.clients {
		r.rep.Burst = append(r.rep.Burst, BurstResult{
			Version: v, CoalesceMs: c.Milliseconds(), Client: kind, Events: cfg.BurstEvents,
			Rates: rates[kind], Median: median(rates[kind]),
			CPUPerEvent: cpus[kind], CPUMedian: median(cpus[kind]),
		})
	}
	if cfg.ProfileDir != "" {
		for _, kind := range r.clients {
			path := filepath.Join(cfg.ProfileDir, fmt.Sprintf("burst-v%d-c%d-%s.cpuprofile", v, c.Milliseconds(), kind))
			if _, err := p.burst(ctx, kind, cfg.BurstEvents, window, path); err != nil {
				return err
			}
			r.logf("bench: profile written to %s", path)
		}
	}
	return nil
}

// wireName names the wire format of a server version.
func wireName(v int) string {
	switch v {
	case 3:
		return "text (v3)"
	case 4:
		return "protobuf (v4)"
	default:
		return "JSON-RPC (v5)"
	}
}

//go:build !js

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/b24pull/b24pull/standin"
)

// pageTab is the bench page of one stand-in, open in one tab, with the clock offset between the page
// and this process.
type pageTab struct {
	*tab
	s      *standin.Server
	pub    *publisher
	offset float64 // page clock − Go clock, ms
}

// openPage opens the bench page of s; fresh puts it in a new browser context.
func (r *runner) openPage(ctx context.Context, s *standin.Server, fresh bool) (*pageTab, error) {
	t, err := r.chrome.openTab(ctx, s.PortalURL()+PagePrefix+"bench.html", fresh)
	if err != nil {
		return nil, err
	}
	p := &pageTab{tab: t, s: s, pub: newPublisher(s)}
	if err := p.waitReady(ctx); err != nil {
		t.close()
		return nil, err
	}
	if err := p.measureOffset(ctx); err != nil {
		t.close()
		return nil, err
	}
	return p, nil
}

func (p *pageTab) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		if err := p.eval(ctx, "window.benchReady === true", &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failed to load the bench page within 10s%s", p.errorTail())
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// measureOffset estimates the page clock minus the Go clock from the round trip with the smallest
// delay; both read the same machine clock, so it should be within a millisecond of 0.
func (p *pageTab) measureOffset(ctx context.Context) error {
	best := -1.0
	for range 15 {
		t0 := nowMs()
		var page float64
		if err := p.eval(ctx, "bench.now()", &page); err != nil {
			return err
		}
		t1 := nowMs()
		if rtt := t1 - t0; best < 0 || rtt < best {
			best = rtt
			p.offset = page - (t0+t1)/2
		}
	}
	return nil
}

// record is what bench.wait resolves with.
type record struct {
	Count  int       `json:"count"`
	Sum    float64   `json:"sum"`
	FirstT float64   `json:"firstT"`
	LastAt float64   `json:"lastAt"`
	Lat    []float64 `json:"lat"`
	// InClient is, per event, the time from its frame's message event to the callback.
	InClient []float64 `json:"inClient"`
}

// connect starts a client of kind in the page and waits until the push server subscribed it.
func (p *pageTab) connect(ctx context.Context, kind string) (float64, error) {
	sess, err := json.Marshal(newSession(p.s))
	if err != nil {
		return 0, fmt.Errorf("failed to encode the session: %w", err)
	}
	var ms float64
	if err := p.eval(ctx, fmt.Sprintf("bench.connect(%q, %s)", kind, sess), &ms); err != nil {
		return 0, fmt.Errorf("failed to connect %s: %w", kind, err)
	}
	if err := waitConnections(ctx, p.s, 1, 10*time.Second); err != nil {
		return 0, fmt.Errorf("failed to connect %s: %w", kind, err)
	}
	return ms, nil
}

func (p *pageTab) disconnect(ctx context.Context) error {
	if err := p.eval(ctx, "bench.disconnect()", nil); err != nil {
		return err
	}
	return waitConnections(ctx, p.s, 0, 10*time.Second)
}

// collect arms the page for n events, runs publish, and returns the record after checking that every
// event arrived exactly once (count and checksum).
func (p *pageTab) collect(ctx context.Context, n int, latency bool, publish func() error) (record, error) {
	var rec record
	if err := p.eval(ctx, fmt.Sprintf("bench.arm(%d, %t)", n, latency), nil); err != nil {
		return rec, err
	}
	if err := publish(); err != nil {
		return rec, err
	}
	timeout := 60*time.Second + time.Duration(n)*time.Millisecond
	if err := p.eval(ctx, fmt.Sprintf("bench.wait(%d)", timeout.Milliseconds()), &rec); err != nil {
		return rec, err
	}
	want := float64(n) * float64(n-1) / 2
	if rec.Count != n || rec.Sum != want {
		return rec, fmt.Errorf("failed to receive the events exactly once: %d events, checksum %.0f, want %d and %.0f",
			rec.Count, rec.Sum, n, want)
	}
	return rec, nil
}

// burstStats is one burst's outcome: end-to-end events/s and the page's main-thread CPU time per
// event (µs), which does not depend on how fast the stand-in publishes.
type burstStats struct {
	rate     float64
	cpuPerEv float64
}

// measured runs f on the connected client, under Chrome's profiler writing to profile when that is
// set, then disconnects the client; the first error wins.
func (p *pageTab) measured(ctx context.Context, profile string, f func() error) error {
	err := func() error {
		if profile == "" {
			return f()
		}
		if err := p.startProfile(ctx); err != nil {
			return err
		}
		err := f()
		if perr := p.stopProfile(ctx, profile); perr != nil && err == nil {
			err = perr
		}
		return err
	}()
	if derr := p.disconnect(ctx); derr != nil && err == nil {
		err = derr
	}
	return err
}

// burst runs one burst of n events through a client of kind.
func (p *pageTab) burst(ctx context.Context, kind string, n, window int, profile string) (burstStats, error) {
	var out burstStats
	if _, err := p.connect(ctx, kind); err != nil {
		return out, err
	}
	var rec record
	err := p.measured(ctx, profile, func() error {
		cpu0, err := p.taskSeconds(ctx)
		if err != nil {
			return err
		}
		if rec, err = p.collect(ctx, n, false, func() error { return p.pub.burst(ctx, n, window) }); err != nil {
			return err
		}
		cpu1, err := p.taskSeconds(ctx)
		// The reads bracket arm and wait as well; each costs far less than a millisecond.
		out.cpuPerEv = (cpu1 - cpu0) * 1e6 / float64(n)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("%s burst: %w", kind, err)
	}
	secs := (rec.LastAt - p.offset - rec.FirstT) / 1000
	if secs <= 0 {
		return out, fmt.Errorf("%s burst: the last event came before the first publish", kind)
	}
	out.rate = float64(n) / secs
	return out, nil
}

// steady runs the steady stream through a client of kind and returns every event's publish→callback
// delay in ms, and the part of it spent in the page from its frame's message event on. With profile
// set, the run is profiled into that file (which perturbs the delays it measures).
func (p *pageTab) steady(ctx context.Context, kind string, n, rate int, profile string) (lat, inClient []float64, err error) {
	if _, err := p.connect(ctx, kind); err != nil {
		return nil, nil, err
	}
	var rec record
	err = p.measured(ctx, profile, func() error {
		var err error
		rec, err = p.collect(ctx, n, true, func() error { return p.pub.steady(ctx, n, rate) })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s steady: %w", kind, err)
	}
	lat = make([]float64, len(rec.Lat))
	for i, v := range rec.Lat {
		lat[i] = v - p.offset
	}
	return lat, rec.InClient, nil
}

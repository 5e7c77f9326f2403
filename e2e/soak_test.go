//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/standin"
)

// The soak's knobs, read from the environment so that scripts/soak.sh can run it longer:
//
//	B24PULL_SOAK           how long events are published and faults injected (default 3m; 20s with -short)
//	B24PULL_SOAK_VERSIONS  server versions, run one after another (default "4")
//	B24PULL_SOAK_SEED      seed of the fault schedule (default: the clock; printed either way)
//	B24PULL_SOAK_RATE      events per second, alternating between the shared channel and the user (default 50)
//	B24PULL_SOAK_LONGPOLL  set to 1 to run on long polling only (disableWebSocket)
//	B24PULL_SOAK_FAULTS    set to 0 to run without faults (a baseline)
const (
	soakDefault  = 3 * time.Minute
	soakLifetime = 2 * time.Second // channel lifetime: a renewal every two seconds
	// soakTokenLifetime is the version 5 token's: longer than an outage (restarts up to 1.5 s, then
	// the backoff), as the portal's twelve-hour token is. A token that lapses before the client can
	// reconnect makes what its channel still held unreachable: reading it needs a token naming it.
	soakTokenLifetime  = 10 * time.Second
	soakDrain          = 60 * time.Second
	soakSettle         = 10 * time.Second
	soakFaultMin       = 2 * time.Second
	soakFaultMax       = 6 * time.Second
	soakDefaultRate    = 50
	soakProgressPeriod = 15 * time.Second
)

// TestSoak keeps one client online for B24PULL_SOAK while the stand-in, with two-second channels,
// publishes events to the app's shared channel and to the user and injects a seeded random fault
// every few seconds: push server restarts, dropped connections, close codes 1006, 3001 and 4010,
// channel_expire in both wordings, config_expire, server_restart, garbage frames, duplicated
// deliveries and delayed frames. At the end every event must have arrived exactly once, in order
// on its channel, and no secret may show in anything the page or the stand-in wrote.
//
// The stand-in accepts rotated-away channel ids (standin.Options.AcceptRetired), as Push server 2.0
// does: the next connection after a rotation while disconnected subscribes the old ids beside the new
// ones (the session's ledger, session/ledger.go); a server that refused them would make what was stored for the
// old channel unreachable, a loss no client can prevent (docs/reliability.md).
func TestSoak(t *testing.T) {
	duration := soakDefault
	if testing.Short() {
		duration = 20 * time.Second
	}
	if v := os.Getenv("B24PULL_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "B24PULL_SOAK")
		duration = d
	}
	versions := []int{4}
	if v := os.Getenv("B24PULL_SOAK_VERSIONS"); v != "" {
		versions = nil
		for _, f := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
			n, err := strconv.Atoi(f)
			require.NoError(t, err, "B24PULL_SOAK_VERSIONS")
			versions = append(versions, n)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("B24PULL_SOAK_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "B24PULL_SOAK_SEED")
		seed = s
	}
	rate := soakDefaultRate
	if v := os.Getenv("B24PULL_SOAK_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "B24PULL_SOAK_RATE")
		require.Positive(t, n, "B24PULL_SOAK_RATE")
		rate = n
	}
	b := relBrowser(t, false)
	for _, version := range versions {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			runSoak(t, b, version, duration, seed, rate)
		})
	}
}

// soakSummary is soak.summary(): what the page's subscriber saw per stream.
type soakSummary struct {
	Streams map[string]struct {
		Delivered int `json:"delivered"`
		Distinct  int `json:"distinct"`
		Last      int `json:"last"`
		Dups      int `json:"dups"`
		Disorder  int `json:"disorder"`
	} `json:"streams"`
	Other int `json:"other"`
}

// soakPublisher publishes numbered events at a steady rate, alternating between the streams.
type soakPublisher struct {
	srv       *standin.Server
	published [2]atomic.Int64 // per stream: the last number published
	errors    atomic.Int64
	lastErr   atomic.Pointer[string]
}

var soakStreams = [2]string{"shared", "user"}

func (p *soakPublisher) run(ctx context.Context, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s := i % 2
		n := p.published[s].Load() + 1
		var users []int
		if s == 1 {
			users = []int{relUser}
		}
		params := json.RawMessage(fmt.Sprintf(`{"s":%q,"n":%d}`, soakStreams[s], n))
		if err := p.srv.Publish(users, "application", "soak", params); err != nil {
			p.errors.Add(1)
			msg := err.Error()
			p.lastErr.Store(&msg)
			continue
		}
		p.published[s].Store(n)
	}
}

// soakFault is one kind of fault and how to inject it.
type soakFault struct {
	name   string
	inject func(srv *standin.Server, rng *rand.Rand)
}

var soakFaults = []soakFault{
	{"restart", func(srv *standin.Server, rng *rand.Rand) {
		srv.Restart(time.Duration(100+rng.IntN(1400)) * time.Millisecond)
	}},
	{"drop", func(srv *standin.Server, _ *rand.Rand) { srv.DropConnections() }},
	{"close 1006", func(srv *standin.Server, _ *rand.Rand) { srv.CloseConnections(1006, "abnormal") }},
	{"close 3001", func(srv *standin.Server, _ *rand.Rand) { srv.CloseConnections(3001, "channel expired") }},
	{"close 4010", func(srv *standin.Server, _ *rand.Rand) { srv.CloseConnections(4010, "Wrong Channel Id.") }},
	{"channel_expire app", func(srv *standin.Server, rng *rand.Rand) {
		_ = srv.ExpireChannelsVariant(soakScope(rng), standin.VariantApp)
	}},
	{"channel_expire portal", func(srv *standin.Server, rng *rand.Rand) {
		_ = srv.ExpireChannelsVariant(soakScope(rng), standin.VariantPortal)
	}},
	{"config_expire", func(srv *standin.Server, _ *rand.Rand) { srv.ConfigExpire() }},
	{"server_restart", func(srv *standin.Server, _ *rand.Rand) { srv.ServerRestartMessage() }},
	{"garbage", func(srv *standin.Server, _ *rand.Rand) { srv.SendGarbage() }},
	{"duplicates", func(srv *standin.Server, rng *rand.Rand) { srv.DuplicateNext(1 + rng.IntN(30)) }},
	{"delay frames", func(srv *standin.Server, rng *rand.Rand) {
		srv.DelayFrames(time.Duration(50+rng.IntN(450)) * time.Millisecond)
	}},
}

func soakScope(rng *rand.Rand) string {
	return []string{standin.ScopePrivate, standin.ScopeShared, standin.ScopeAll}[rng.IntN(3)]
}

// runFaults injects a random fault every soakFaultMin–soakFaultMax until ctx ends; a frame delay
// lasts until the next fault. It returns how many of each kind it injected.
func runFaults(ctx context.Context, srv *standin.Server, seed uint64, log func(string, ...any)) map[string]int {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	counts := map[string]int{}
	for {
		wait := soakFaultMin + time.Duration(rng.Int64N(int64(soakFaultMax-soakFaultMin)))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			srv.DelayFrames(0)
			srv.DuplicateNext(0)
			return counts
		case <-timer.C:
		}
		srv.DelayFrames(0)
		f := soakFaults[rng.IntN(len(soakFaults))]
		f.inject(srv, rng)
		counts[f.name]++
		log("fault %s", f.name)
	}
}

func runSoak(t *testing.T, b *browser.Browser, version int, duration time.Duration, seed uint64, rate int) {
	trace := newSoakTrace()
	opts := relOptions{standin: standin.Options{
		Version:         version,
		ChannelLifetime: soakLifetime,
		TokenLifetime:   soakTokenLifetime,
		AcceptRetired:   true,
		Trace:           trace.record,
	}}
	if os.Getenv("B24PULL_SOAK_LONGPOLL") == "1" {
		opts.client = map[string]any{"disableWebSocket": true}
	}
	r := relStart(t, b, opts)
	t.Logf("soak v%d: %v, %d events/s, seed %d (B24PULL_SOAK_SEED=%d to repeat the fault schedule)",
		version, duration, rate, seed, seed)
	r.start(t)

	pub := &soakPublisher{srv: r.srv}
	pubCtx, stopPub := context.WithCancel(r.ctx)
	faultCtx, stopFaults := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	var faults map[string]int
	var faultLog []string
	var faultMu sync.Mutex
	began := time.Now()
	trace.startAt(began)
	wg.Go(func() { pub.run(pubCtx, rate) })
	wg.Go(func() {
		if os.Getenv("B24PULL_SOAK_FAULTS") == "0" {
			faults = map[string]int{}
			return
		}
		faults = runFaults(faultCtx, r.srv, seed, func(format string, args ...any) {
			faultMu.Lock()
			defer faultMu.Unlock()
			faultLog = append(faultLog, fmt.Sprintf("%6.1fs ", time.Since(began).Seconds())+fmt.Sprintf(format, args...))
		})
	})
	defer func() {
		stopPub()
		stopFaults()
		wg.Wait()
	}()

	deadline := time.NewTimer(duration)
	progress := time.NewTicker(soakProgressPeriod)
	for running := true; running; {
		select {
		case <-deadline.C:
			running = false
		case <-progress.C:
			var sum soakSummary
			r.eval(t, `soak.summary()`, &sum)
			st := r.stats(t)
			t.Logf("soak v%d %3.0fs: published %d/%d, delivered %d/%d, renewals %d, reconnects %d, status %s",
				version, time.Since(began).Seconds(), pub.published[0].Load(), pub.published[1].Load(),
				sum.Streams["shared"].Distinct, sum.Streams["user"].Distinct, st.Renewals, st.Reconnects, st.Status)
		}
	}
	progress.Stop()
	stopFaults()
	stopPub()
	wg.Wait()
	published := [2]int{int(pub.published[0].Load()), int(pub.published[1].Load())}

	// Drain: everything published must arrive once the faults stop. Waiting ends when it has, or when
	// nothing more arrived for soakSettle (stranded events never come).
	drainErr := soakDrainWait(t, r, published)

	var sum soakSummary
	r.eval(t, `soak.summary()`, &sum)
	st := r.stats(t)
	ss := r.srv.Stats()
	delivered, distinct, dups, disorder, lost := 0, 0, 0, 0, 0
	for i, name := range soakStreams {
		s := sum.Streams[name]
		delivered += s.Delivered
		distinct += s.Distinct
		dups += s.Dups
		disorder += s.Disorder
		lost += published[i] - s.Distinct
	}
	// A lost event is out of reach when it was stored only on channels that no config answer and no
	// channel_expire named (see soakTrace.unannounced); any other loss is the client's.
	var unreachable []string
	var missed []string
	for i, name := range soakStreams {
		if published[i] == sum.Streams[name].Distinct {
			continue
		}
		var missing []int
		r.eval(t, fmt.Sprintf(`soak.missing(%q, %d, 100000)`, name, published[i]), &missing)
		for _, n := range missing {
			event := fmt.Sprintf("%s#%d", name, n)
			if trace.unannounced(event) {
				unreachable = append(unreachable, event)
			} else {
				missed = append(missed, event)
			}
		}
	}
	names := make([]string, 0, len(faults))
	total := 0
	for name, n := range faults {
		names = append(names, fmt.Sprintf("%s %d", name, n))
		total += n
	}
	sort.Strings(names)
	t.Logf("soak v%d figures: duration %v, seed %d, published %d (shared %d, user %d), delivered %d, "+
		"delivered twice %d, out of order %d, lost %d (of them on channels no config or channel_expire named %d), duplicates skipped by the client %d (server duplicated %d), "+
		"garbage frames %d, renewals %d, reconnects %d, config loads %d, server replays %d, refused handshakes %d",
		version, duration, seed, published[0]+published[1], published[0], published[1], delivered,
		dups, disorder, lost, len(unreachable), st.DuplicatesSkipped, ss.Duplicated, st.GarbageFrames, st.Renewals, st.Reconnects,
		st.ConfigLoads, ss.Replayed, ss.HandshakesRefused)
	t.Logf("soak v%d faults (%d): %s", version, total, strings.Join(names, ", "))
	// The first loss of each kind is explained with the page's console, the next few briefly.
	var console []string
	if len(missed)+len(unreachable) > 0 {
		console = r.consoleLines(t)
	}
	for i, name := range missed {
		if i == 5 {
			break
		}
		t.Logf("lost %s", trace.explain(name, firstOnly(i, console)))
	}
	for i, name := range unreachable {
		if i == 5 {
			break
		}
		t.Logf("out of reach (no config or channel_expire named its channel) %s", trace.explain(name, firstOnly(i, console)))
	}
	if t.Failed() || lost > 0 || os.Getenv("B24PULL_E2E_CONSOLE") != "" {
		faultMu.Lock()
		t.Logf("fault log:\n  %s", strings.Join(faultLog, "\n  "))
		faultMu.Unlock()
	}

	assert.Zero(t, pub.errors.Load(), "publishing failed: %v", pub.lastErr.Load())
	assert.Zero(t, disorder, "events delivered out of order on their channel")
	if lost > len(unreachable) {
		assert.NoError(t, drainErr, "not every event arrived after the faults stopped")
	}
	assert.Empty(t, missed, "events lost")
	assert.Zero(t, dups, "events delivered twice to the subscriber")
	assert.Zero(t, sum.Other, "events the soak did not publish")
	assert.Positive(t, st.Renewals, "no channel renewal in the whole soak")
	if os.Getenv("B24PULL_SOAK_FAULTS") != "0" {
		assert.Greater(t, total, 0, "no fault injected")
	}
	// Renewals go on every two seconds after the soak, and a long-polling connection counts as open
	// only once its first request is answered or has been pending for a while: wait for online.
	assert.NoError(t, r.page.WaitFor(r.ctx, `soak.status() === 'online'`, soakSettle), "waiting for online")
	st = r.stats(t)
	assert.Equal(t, "online", st.Status, "the client is not online after the soak")
	assert.Empty(t, r.page.Exceptions(), "uncaught exceptions in the page")

	// Nothing the soak made the page, the module or the stand-in write holds a secret.
	secScanRun(t, r)

	var stopped bool
	r.eval(t, `soak.stop()`, &stopped)
	p := r.probe(t)
	assert.Zero(t, p.ClientGoroutines, "goroutines of the client left after stop()")
	assert.Zero(t, p.ClientTimers, "timers of the client left after stop()")
}

// firstOnly is lines for the first of a list (i == 0), nothing for the rest.
func firstOnly(i int, lines []string) []string {
	if i == 0 {
		return lines
	}
	return nil
}

// soakDrainWait waits until every published event was delivered, or nothing new arrived for
// soakSettle, or soakDrain passed; it returns an error unless everything arrived.
func soakDrainWait(t *testing.T, r *relRun, published [2]int) error {
	deadline := time.Now().Add(soakDrain)
	last, lastChange := -1, time.Now()
	for {
		var sum soakSummary
		r.eval(t, `soak.summary()`, &sum)
		got := sum.Streams["shared"].Distinct + sum.Streams["user"].Distinct
		if sum.Streams["shared"].Distinct >= published[0] && sum.Streams["user"].Distinct >= published[1] {
			return nil
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		if time.Since(lastChange) > soakSettle || time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events delivered when the drain ended", got, published[0]+published[1])
		}
		timer := time.NewTimer(250 * time.Millisecond)
		select {
		case <-r.ctx.Done():
			timer.Stop()
			return r.ctx.Err()
		case <-timer.C:
		}
	}
}

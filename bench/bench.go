//go:build !js

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/standin"
)

// Client kinds, in the order the tables show them.
const (
	// Raw is the limit: a native WebSocket and the least decoding the wire format allows.
	Raw = "raw"
	// Official is @bitrix24/b24jssdk's PullClient (the pinned webdeps.SDKVersion).
	Official = "official"
	// B24Pull is this project's browser package.
	B24Pull = "b24pull"
)

// Variant is another build of b24pull (Config.VariantDir).
const Variant = "variant"

// Clients lists the client kinds in table order.
var Clients = []string{Raw, Official, B24Pull}

// Config says what a run measures and how much. Quick and Full are the two presets.
type Config struct {
	// Preset names the configuration in the report ("quick", "full").
	Preset string
	// Versions are the push server generations to run: 3 (text), 4 (protobuf), 5 (JSON-RPC).
	Versions []int
	// Coalesce are the stand-in's coalescing windows to run the burst with (0 = every message its own
	// frame; Push server 2.0 uses 400 ms).
	Coalesce []time.Duration
	// BurstEvents is the size of a measured burst, WarmupEvents of the unmeasured one before them,
	// BurstRounds how many measured bursts each client gets per mode (the median is reported).
	BurstEvents, WarmupEvents, BurstRounds int
	// SteadyRate events per second for SteadyDuration, once per client and version, coalescing off.
	SteadyRate     int
	SteadyDuration time.Duration
	// ColdRounds measured cold starts per client, after one unmeasured.
	ColdRounds int
	// MemoryEvents are published to each client in two halves; memory is read after each half.
	MemoryEvents int
	// Workloads limits the run to some of "burst", "steady", "cold" (cold start and size) and
	// "memory"; empty runs them all.
	Workloads []string
	// ProfileDir, when set, receives a Chrome CPU profile of one extra, unmeasured burst of each
	// client in each mode (<dir>/burst-v<version>-c<ms>-<client>.cpuprofile) and of each client's
	// steady stream, which is then measured under the profiler (<dir>/steady-v<version>-<client>.cpuprofile).
	ProfileDir string
	// JSDir is where the browser package is served from; empty means the repository's js/ (built by
	// scripts/build-wasm.sh). Build variants (a wasm with symbols for profiling) go elsewhere.
	JSDir string
	// VariantDir, when set, serves another build of the browser package (b24pull.js,
	// b24pull.wasm), measured as the client "variant" beside the current build in the burst and the
	// steady stream: how a change is judged within one run.
	VariantDir string
	// Logf receives progress lines; nil is silent.
	Logf func(format string, args ...any)
}

// Quick is the preset of `make bench-quick`: every workload, small, in about two minutes.
func Quick() Config {
	return Config{
		Preset:   "quick",
		Versions: []int{3, 4, 5},
		Coalesce: []time.Duration{0, 400 * time.Millisecond},
		// The burst is big enough for the clients to reach their steady rate.
		BurstEvents: 4000, WarmupEvents: 1000, BurstRounds: 2,
		SteadyRate: 100, SteadyDuration: 2 * time.Second,
		ColdRounds:   3,
		MemoryEvents: 20000,
	}
}

// Full is the preset of `make bench`: the recorded run, under 15 minutes.
func Full() Config {
	return Config{
		Preset:      "full",
		Versions:    []int{3, 4, 5},
		Coalesce:    []time.Duration{0, 400 * time.Millisecond},
		BurstEvents: 20000, WarmupEvents: 5000, BurstRounds: 3,
		SteadyRate: 100, SteadyDuration: 30 * time.Second,
		ColdRounds:   7,
		MemoryEvents: 100000,
	}
}

// Run starts the stand-ins and a headless Chromium, runs every workload of cfg against the three
// clients and returns the report. Everything it starts has ended when it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	root, err := webdeps.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("failed to find the repository: %w", err)
	}
	jsDir := cfg.JSDir
	if jsDir == "" {
		jsDir = filepath.Join(root, "js")
	}
	for _, f := range []string{"b24pull.wasm", "b24pull.js"} {
		if _, err := os.Stat(filepath.Join(jsDir, f)); err != nil {
			return nil, fmt.Errorf("failed to find %s in %s: run scripts/build-wasm.sh first", f, jsDir)
		}
	}
	if err := webdeps.Check(); err != nil {
		return nil, err
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("failed to create the profile directory: %w", err)
		}
	}
	webDir := filepath.Join(root, "e2e", "web")
	r := &runner{cfg: cfg, h: newHandler(jsDir, webDir), webDir: webDir, clients: Clients}
	if cfg.VariantDir != "" {
		r.h.variantDir = cfg.VariantDir
		r.clients = append(slices.Clone(Clients), Variant)
	}
	r.logf = cfg.Logf
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	c, err := launchChrome(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer c.close()
	r.chrome = c
	rep := &Report{Preset: cfg.Preset, Config: cfg.summary(), Started: time.Now(), Clients: r.clients}
	rep.Machine = machine(c.version())
	r.rep = rep
	steps := []struct {
		on  bool
		run func(context.Context) error
	}{
		{cfg.runs("burst") || cfg.runs("steady"), r.streams},
		{cfg.runs("cold"), r.cold},
		{cfg.runs("memory"), r.memory},
	}
	for _, step := range steps {
		if !step.on {
			continue
		}
		if err := step.run(ctx); err != nil {
			return rep, err
		}
	}
	rep.Elapsed = time.Since(rep.Started).Round(time.Second)
	return rep, nil
}

func (cfg Config) validate() error {
	switch {
	case len(cfg.Versions) == 0:
		return errors.New("bench: no server version to run")
	case cfg.BurstEvents < 1 || cfg.BurstRounds < 1:
		return errors.New("bench: a burst needs events and rounds")
	case cfg.SteadyRate < 1 || cfg.SteadyDuration <= 0:
		return errors.New("bench: the steady stream needs a rate and a duration")
	case cfg.ColdRounds < 1:
		return errors.New("bench: cold start needs rounds")
	case cfg.MemoryEvents < 2:
		return errors.New("bench: memory needs events")
	}
	for _, w := range cfg.Workloads {
		if !slices.Contains([]string{"burst", "steady", "cold", "memory"}, w) {
			return fmt.Errorf("bench: unknown workload %q", w)
		}
	}
	for _, v := range cfg.Versions {
		if v < 3 || v > 5 {
			return fmt.Errorf("bench: unknown server version %d", v)
		}
	}
	return nil
}

// runs reports whether the workload is part of the run.
func (cfg Config) runs(workload string) bool {
	return len(cfg.Workloads) == 0 || slices.Contains(cfg.Workloads, workload)
}

// runner holds what the workloads share.
type runner struct {
	cfg     Config
	clients []string // the kinds of the stream workloads
	h       *handler
	webDir  string
	chrome  *chrome
	rep     *Report
	logf    func(format string, args ...any)
}

// standin starts a stand-in serving the bench pages.
func (r *runner) standin(version int, coalesce time.Duration) (*standin.Server, error) {
	s, err := standin.Start(standin.Options{Version: version, Coalesce: coalesce, Handler: r.h})
	if err != nil {
		return nil, fmt.Errorf("failed to start the stand-in: %w", err)
	}
	return s, nil
}

// session is what bench.connect needs to reach the portal as the bench user.
type session struct {
	Portal string `json:"portal"`
	Auth   string `json:"auth"`
	UserID int    `json:"userId"`
}

func newSession(s *standin.Server) session {
	return session{Portal: s.PortalURL(), Auth: s.NewToken(benchUser, true), UserID: benchUser}
}

// machine describes where the run happens.
func machine(chromeVersion string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Chromium: chromeVersion, OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryBytes = kb * 1024
		}
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = string(data[:min(len(data), 14)])
	}
	return m
}

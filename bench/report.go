//go:build !js

package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured. Its JSON form is what b24pull-bench -json writes.
type Report struct {
	Preset       string         `json:"preset"`
	Clients      []string       `json:"clients"`
	Config       ConfigSummary  `json:"config"`
	Machine      Machine        `json:"machine"`
	Started      time.Time      `json:"started"`
	Elapsed      time.Duration  `json:"elapsed"`
	ClockOffsets []float64      `json:"clockOffsetsMs"`
	Burst        []BurstResult  `json:"burst"`
	Steady       []SteadyResult `json:"steady"`
	Cold         []ColdResult   `json:"cold"`
	Size         []SizeResult   `json:"size"`
	Memory       []MemoryResult `json:"memory"`
}

// ConfigSummary is the part of Config a reader of the report needs.
type ConfigSummary struct {
	BurstEvents   int     `json:"burstEvents"`
	WarmupEvents  int     `json:"warmupEvents"`
	BurstRounds   int     `json:"burstRounds"`
	SteadyRate    int     `json:"steadyRate"`
	SteadySeconds float64 `json:"steadySeconds"`
	ColdRounds    int     `json:"coldRounds"`
	MemoryEvents  int     `json:"memoryEvents"`
	MessageBytes  int     `json:"messageBytes"`
}

func (cfg Config) summary() ConfigSummary {
	return ConfigSummary{
		BurstEvents: cfg.BurstEvents, WarmupEvents: cfg.WarmupEvents, BurstRounds: cfg.BurstRounds,
		SteadyRate: cfg.SteadyRate, SteadySeconds: cfg.SteadyDuration.Seconds(),
		ColdRounds: cfg.ColdRounds, MemoryEvents: cfg.MemoryEvents, MessageBytes: messageBytes,
	}
}

// Machine describes where the run happened.
type Machine struct {
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memoryBytes"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	Chromium    string `json:"chromium"`
	LoadAvg     string `json:"loadavg"`
}

// BurstResult is one client's throughput in one mode: events/s of each measured round and their
// median, and the page's main-thread CPU time per event (µs) of each round and its median.
type BurstResult struct {
	Version     int       `json:"version"`
	CoalesceMs  int64     `json:"coalesceMs"`
	Client      string    `json:"client"`
	Events      int       `json:"events"`
	Rates       []float64 `json:"rates"`
	Median      float64   `json:"median"`
	CPUPerEvent []float64 `json:"cpuPerEventUs"`
	CPUMedian   float64   `json:"cpuMedianUs"`
}

// SteadyResult is one client's publish→callback delay in ms over the steady stream.
type SteadyResult struct {
	Version int     `json:"version"`
	Client  string  `json:"client"`
	Events  int     `json:"events"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	// ClientP50 and ClientP99 are the quantiles of the part spent in the page, from the frame's
	// message event to the callback.
	ClientP50 float64 `json:"clientP50"`
	ClientP99 float64 `json:"clientP99"`
}

// ColdResult is one client's cold starts in ms (script insertion to online) and their median, and
// the median time of each phase the page saw (ms after the insertion): loaded (the script ran),
// compiled and instantiated (the wasm), goRun and goReady (the Go program started and registered
// its API), rest and restDone (the config call went out, its answer came), wsNew and wsOpen (the
// websocket was created, it opened), online.
type ColdResult struct {
	Client string             `json:"client"`
	Ms     []float64          `json:"ms"`
	Median float64            `json:"median"`
	Phases map[string]float64 `json:"phases"`
}

// phaseOrder is the order phases are printed in.
var phaseOrder = []string{"loaded", "compiled", "instantiated", "goRun", "goReady", "rest", "restDone", "wsNew", "wsOpen", "online"}

// SizeResult is what one client loads, per file and in total, raw and compressed.
type SizeResult struct {
	Client string     `json:"client"`
	Files  []FileSize `json:"files"`
	Raw    int64      `json:"raw"`
	Gzip   int64      `json:"gzip"`
	Brotli int64      `json:"brotli"`
}

// FileSize is one loaded file's size in bytes.
type FileSize struct {
	Path   string `json:"path"`
	Raw    int64  `json:"raw"`
	Gzip   int64  `json:"gzip"`
	Brotli int64  `json:"brotli"`
}

// MemoryResult is one client's memory in bytes: the JavaScript heap of the page before the client
// loaded, after half the events and after all of them (after a full GC each time), and its
// WebAssembly memory at the same two points.
type MemoryResult struct {
	Client   string `json:"client"`
	Events   int    `json:"events"`
	HeapBase int64  `json:"heapBase"`
	HeapHalf int64  `json:"heapHalf"`
	HeapFull int64  `json:"heapFull"`
	WasmHalf int64  `json:"wasmHalf"`
	WasmFull int64  `json:"wasmFull"`
}

// WriteTable prints the report as plain-text tables: absolute numbers and the ratios b24pull/official
// and b24pull/raw.
func (rep *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\nb24pull benchmarks (%s): %d CPUs, %s, %s, %s; load %s; %s\n",
		rep.Preset, rep.Machine.CPUs, gib(rep.Machine.MemoryBytes), rep.Machine.Go, rep.Machine.Chromium,
		strings.TrimSpace(rep.Machine.LoadAvg), rep.Elapsed)
	var tw *tabwriter.Writer
	// title ends the table before it and starts a new one under a heading line.
	title := func(format string, args ...any) {
		if tw != nil {
			tw.Flush()
		}
		fmt.Fprintf(w, "\n"+format+"\n", args...)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	}
	defer func() {
		if tw != nil {
			tw.Flush()
		}
	}()
	c := rep.Config
	if len(rep.Burst) > 0 {
		title("Burst: events/s, median of %d rounds of %d events (~%d B), first publish → last callback",
			c.BurstRounds, c.BurstEvents, c.MessageBytes)
		rep.burstTable(tw, false)
		title("Burst: main-thread CPU µs per event (renderer thread time, median); ratios are other/b24pull")
		rep.burstTable(tw, true)
	}
	if len(rep.Steady) > 0 {
		title("Steady: publish → callback ms, %d events/s for %.0f s, coalescing off; in page: from the frame's message event", c.SteadyRate, c.SteadySeconds)
		fmt.Fprintln(tw, "mode\tclient\tp50\tp99\tmax\tp99 b24pull/this\tin page p50\tin page p99\t")
		b24 := map[int]SteadyResult{}
		for _, s := range rep.Steady {
			if s.Client == B24Pull {
				b24[s.Version] = s
			}
		}
		for _, s := range rep.Steady {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%s\t%.3f\t%.3f\t\n", wireName(s.Version), s.Client, s.P50, s.P99, s.Max,
				times(b24[s.Version].P99, s.P99), s.ClientP50, s.ClientP99)
		}
	}
	if len(rep.Cold) > 0 {
		title("Cold start: ms from script insertion to online, median of %d fresh browser contexts (v4)", c.ColdRounds)
		fmt.Fprintln(tw, "client\tmedian\tmin\tmax\tb24pull/this\t  phases (median ms after insertion)")
		cold := map[string]ColdResult{}
		for _, r := range rep.Cold {
			cold[r.Client] = r
		}
		for _, r := range rep.Cold {
			var ph []string
			for _, name := range phaseOrder {
				if at, ok := r.Phases[name]; ok {
					ph = append(ph, fmt.Sprintf("%s %.0f", name, at))
				}
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%s\t  %s\n", r.Client, r.Median, quantile(r.Ms, 0), quantile(r.Ms, 1),
				times(cold[B24Pull].Median, r.Median), strings.Join(ph, ", "))
		}
	}
	if len(rep.Size) > 0 {
		title("Size: bytes of everything the client loads")
		fmt.Fprintln(tw, "client\traw\tgzip -9\tbrotli -q 11\t")
		for _, s := range rep.Size {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s.Client, s.Raw, s.Gzip, s.Brotli)
			for _, f := range s.Files {
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\n", f.Path, f.Raw, f.Gzip, f.Brotli)
			}
		}
	}
	if len(rep.Memory) > 0 {
		title("Memory: bytes after a full GC, %d events (v4, protobuf); heap = JS heap minus the page's before loading", c.MemoryEvents)
		fmt.Fprintln(tw, "client\theap\twasm\ttotal\tgrowth 2nd half\t")
		for _, m := range rep.Memory {
			heap := m.HeapFull - m.HeapBase
			growth := (m.HeapFull + m.WasmFull) - (m.HeapHalf + m.WasmHalf)
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%+d\t\n", m.Client, heap, m.WasmFull, heap+m.WasmFull, growth)
		}
	}
}

// burstTable prints one row per mode: each client's median rate (or CPU per event), then b24pull
// against the official client and against raw (for CPU, the other client's cost over b24pull's, so
// that above 1 always means b24pull does better).
func (rep *Report) burstTable(w io.Writer, cpu bool) {
	header := []string{"mode", "coalesce"}
	header = append(header, rep.Clients...)
	header = append(header, "b24pull vs official", "b24pull vs raw")
	fmt.Fprintln(w, strings.Join(header, "\t")+"\t")
	type mode struct {
		v int
		c int64
	}
	var modes []mode
	for _, b := range rep.Burst {
		m := mode{b.Version, b.CoalesceMs}
		if len(modes) == 0 || modes[len(modes)-1] != m {
			modes = append(modes, m)
		}
	}
	for _, m := range modes {
		row := rep.burstRow(m.v, m.c, cpu)
		cells := []string{wireName(m.v), fmt.Sprintf("%d ms", m.c)}
		for _, k := range rep.Clients {
			if cpu {
				cells = append(cells, fmt.Sprintf("%.1f", row[k]))
			} else {
				cells = append(cells, fmt.Sprintf("%.0f", row[k]))
			}
		}
		if cpu {
			cells = append(cells, times(row[Official], row[B24Pull]), times(row[Raw], row[B24Pull]))
		} else {
			cells = append(cells, times(row[B24Pull], row[Official]), times(row[B24Pull], row[Raw]))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t")+"\t")
	}
}

func (rep *Report) burstRow(version int, coalesce int64, cpu bool) map[string]float64 {
	row := map[string]float64{}
	for _, b := range rep.Burst {
		if b.Version == version && b.CoalesceMs == coalesce {
			row[b.Client] = b.Median
			if cpu {
				row[b.Client] = b.CPUMedian
			}
		}
	}
	return row
}

// times formats a/b as "1.23×", or "-" when it is undefined.
func times(a, b float64) string {
	r := ratio(a, b)
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2f×", r)
}

func gib(n int64) string {
	return fmt.Sprintf("%.1f GiB memory", float64(n)/(1<<30))
}

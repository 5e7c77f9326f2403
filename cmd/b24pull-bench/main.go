//go:build !js

// Command b24pull-bench measures b24pull against the official client (@bitrix24/b24jssdk's
// PullClient) and a raw JavaScript client in one headless Chromium, on the same stand-in stream, and
// prints the tables of package bench. scripts/bench.sh builds what it needs and runs it.
//
//	b24pull-bench [-preset quick|full] [-json report.json] [-profile dir] [-versions 3,4,5]
//	              [-coalesce 0,400] [-only burst,steady,cold,memory] [-rounds n] [-events n]
//	              [-memory-events n] [-jsdir dir] [-variant dir]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/b24pull/b24pull/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "b24pull-bench:", err)
		os.Exit(1)
	}
}

// options is what the command line asks for.
type options struct {
	cfg     bench.Config
	jsonOut string
}

// parse reads the command line into a bench configuration.
func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("b24pull-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "quick", "quick (about 2 minutes) or full (the recorded run)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	profile := fs.String("profile", "", "write Chrome CPU profiles of one extra burst per client and mode here")
	versions := fs.String("versions", "", "server versions to run, e.g. 4 or 3,5 (default all)")
	coalesce := fs.String("coalesce", "", "coalescing windows of the burst in ms, e.g. 0 or 0,400 (default both)")
	only := fs.String("only", "", "workloads to run: burst, steady, cold, memory (comma-separated; default all)")
	rounds := fs.Int("rounds", 0, "measured burst rounds (default: the preset's)")
	events := fs.Int("events", 0, "events per measured burst (default: the preset's)")
	memEvents := fs.Int("memory-events", 0, "events published to each client in the memory workload (default: the preset's)")
	coldRounds := fs.Int("cold-rounds", 0, "measured cold starts per client (default: the preset's)")
	jsDir := fs.String("jsdir", "", "serve the browser package from this directory instead of js/")
	variant := fs.String("variant", "", `also measure the build of the browser package in this directory, as client "variant"`)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var cfg bench.Config
	switch *preset {
	case "quick":
		cfg = bench.Quick()
	case "full":
		cfg = bench.Full()
	default:
		return options{}, fmt.Errorf("unknown preset %q (quick or full)", *preset)
	}
	cfg.ProfileDir, cfg.JSDir, cfg.VariantDir = *profile, *jsDir, *variant
	if *versions != "" {
		vs, err := ints(*versions)
		if err != nil {
			return options{}, fmt.Errorf("bad -versions: %w", err)
		}
		cfg.Versions = vs
	}
	if *coalesce != "" {
		ms, err := ints(*coalesce)
		if err != nil {
			return options{}, fmt.Errorf("bad -coalesce: %w", err)
		}
		cfg.Coalesce = nil
		for _, m := range ms {
			cfg.Coalesce = append(cfg.Coalesce, time.Duration(m)*time.Millisecond)
		}
	}
	if *only != "" {
		cfg.Workloads = strings.Split(*only, ",")
	}
	for _, o := range []struct {
		v   int
		dst *int
	}{{*rounds, &cfg.BurstRounds}, {*events, &cfg.BurstEvents}, {*memEvents, &cfg.MemoryEvents}, {*coldRounds, &cfg.ColdRounds}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	return options{cfg: cfg, jsonOut: *jsonOut}, nil
}

// ints parses a comma-separated list of non-negative integers.
func ints(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a non-negative integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func run(args []string) error {
	opts, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	opts.cfg.Logf = log.New(os.Stderr, "", log.Ltime).Printf
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts.cfg)
	if rep != nil {
		rep.WriteTable(os.Stdout)
		if opts.jsonOut != "" {
			data, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(opts.jsonOut, data, 0o644)
			}
			if jerr != nil && err == nil {
				err = fmt.Errorf("failed to write the JSON report: %w", jerr)
			}
		}
	}
	return err
}

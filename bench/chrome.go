//go:build !js

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/b24pull/b24pull/internal/browser"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chrome is one headless Chromium for a whole benchmark run. It is started here rather than through
// internal/browser because the measurements need CDP commands a browser.Page does not offer (heap
// usage, garbage collection, the sampling profiler) and tabs in fresh browser contexts (cold starts
// with nothing cached in the renderer). The flags are internal/browser's.
type chrome struct {
	ctx         context.Context // the browser's chromedp context, no deadline
	cancelAlloc context.CancelFunc
	cancelCtx   context.CancelFunc
	logf        func(format string, args ...any)
}

// launchChrome starts the browser; close it with close.
func launchChrome(ctx context.Context, logf func(format string, args ...any)) (*chrome, error) {
	path, ok := browser.Available()
	if !ok {
		return nil, fmt.Errorf("failed to find chromium at %s: run scripts/ensure-chromium.sh", path)
	}
	quiet := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if !browser.IsNoise(line) && logf != nil {
			logf("%s", line)
		}
	}
	allocOpts := append(browser.AllocatorOptions(path), chromedp.Headless)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocOpts...)
	bctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet))
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, fmt.Errorf("failed to start chromium: %w", err)
	}
	return &chrome{ctx: bctx, cancelAlloc: cancelAlloc, cancelCtx: cancelCtx, logf: quiet}, nil
}

// close ends the browser and waits for its process.
func (c *chrome) close() {
	_ = chromedp.Cancel(c.ctx)
	c.cancelCtx()
	c.cancelAlloc()
}

// version returns the browser's product string ("Chrome/…").
func (c *chrome) version() string {
	v, err := chromedp.CallBrowser(c.ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		return "unknown"
	}
	return v.Product
}

// tab is one page with its console errors and exceptions collected.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	errors []string
}

// openTab opens url in a new tab with the CDP Network domain off (with it on, Chromium reports every
// websocket frame to the driver and throughput halves). fresh puts the tab in a new browser context:
// its own renderer process, no cache, no compiled code from earlier tabs.
func (c *chrome) openTab(ctx context.Context, url string, fresh bool) (*tab, error) {
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	tctx, cancel := chromedp.NewContext(c.ctx, opts...)
	t := &tab{ctx: tctx, cancel: cancel}
	stop := context.AfterFunc(ctx, cancel)
	err := chromedp.Do(tctx)
	stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to open a tab: %w", err)
	}
	if err := chromedp.Listen(tctx, t.record); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to listen to the tab: %w", err)
	}
	sctx, done := t.step(ctx)
	defer done()
	if _, err := chromedp.Call(sctx, network.Disable, cdp.Empty{}); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to disable the network domain: %w", err)
	}
	// Thread ticks: the metrics count CPU time of the renderer's main thread, not wall time, so other
	// processes on the machine do not inflate them.
	if _, err := chromedp.Call(sctx, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks}); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to enable the performance metrics: %w", err)
	}
	if err := chromedp.Do(sctx, chromedp.Navigate(url)); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to open the bench page: %w", err)
	}
	return t, nil
}

func (t *tab) close() { t.cancel() }

// step bounds one command by ctx without bounding the tab's life.
func (t *tab) step(ctx context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(t.ctx)
	if dl, ok := ctx.Deadline(); ok {
		sctx, cancel = context.WithDeadline(t.ctx, dl)
	}
	stop := context.AfterFunc(ctx, cancel)
	return sctx, func() { stop(); cancel() }
}

// eval evaluates expr, awaits a promise, and decodes the JSON result into out (nil discards it).
func (t *tab) eval(ctx context.Context, expr string, out any) error {
	sctx, done := t.step(ctx)
	defer done()
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("failed to evaluate %.60q: %w%s", expr, err, t.errorTail())
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("failed to decode the result of %.60q: %w", expr, err)
	}
	return nil
}

// heapUsed collects garbage and returns the JavaScript heap in use, in bytes.
func (t *tab) heapUsed(ctx context.Context) (int64, error) {
	sctx, done := t.step(ctx)
	defer done()
	for range 2 {
		if _, err := chromedp.Call(sctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return 0, fmt.Errorf("failed to collect garbage: %w", err)
		}
	}
	u, err := chromedp.Call(sctx, runtime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		return 0, fmt.Errorf("failed to read the heap usage: %w", err)
	}
	return int64(u.UsedSize), nil
}

// taskSeconds returns the CPU time the page's main thread has spent running tasks (script, wasm,
// style, the browser's own event dispatch), in seconds.
func (t *tab) taskSeconds(ctx context.Context) (float64, error) {
	sctx, done := t.step(ctx)
	defer done()
	res, err := chromedp.Call(sctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return 0, fmt.Errorf("failed to read the performance metrics: %w", err)
	}
	for _, m := range res.Metrics {
		if m != nil && m.Name == "TaskDuration" {
			return m.Value, nil
		}
	}
	return 0, errors.New("failed to find TaskDuration in the performance metrics")
}

// startProfile starts Chrome's sampling profiler on the tab.
func (t *tab) startProfile(ctx context.Context) error {
	sctx, done := t.step(ctx)
	defer done()
	if _, err := chromedp.Call(sctx, profiler.Enable, cdp.Empty{}); err != nil {
		return fmt.Errorf("failed to enable the profiler: %w", err)
	}
	if _, err := chromedp.Call(sctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 100}); err != nil {
		return fmt.Errorf("failed to set the sampling interval: %w", err)
	}
	if _, err := chromedp.Call(sctx, profiler.Start, cdp.Empty{}); err != nil {
		return fmt.Errorf("failed to start the profiler: %w", err)
	}
	return nil
}

// stopProfile stops the profiler and writes the profile to path (a .cpuprofile that DevTools opens).
func (t *tab) stopProfile(ctx context.Context, path string) error {
	sctx, done := t.step(ctx)
	defer done()
	res, err := chromedp.Call(sctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("failed to stop the profiler: %w", err)
	}
	data, err := json.Marshal(res.Profile)
	if err != nil {
		return fmt.Errorf("failed to encode the profile: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("failed to write the profile: %w", err)
	}
	return nil
}

// record keeps console errors and uncaught exceptions; it runs on chromedp's event loop.
func (t *tab) record(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			if a == nil {
				continue
			}
			if len(a.Value) > 0 {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = string(ev.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		if ev.ExceptionDetails == nil {
			return
		}
		line = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			line += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry == nil || ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		line = "log: " + ev.Entry.Text
	default:
		return
	}
	if browser.IsNoise(line) {
		return
	}
	if i := strings.IndexByte(line, '?'); i >= 0 {
		line = line[:i] + "?…" // connection URLs carry channel ids and tokens
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errors) < 50 {
		t.errors = append(t.errors, line)
	}
}

// errorTail quotes the last console errors for an error message.
func (t *tab) errorTail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errors) == 0 {
		return ""
	}
	n := len(t.errors)
	from := max(0, n-5)
	return "\nlast page errors:\n  " + strings.Join(t.errors[from:], "\n  ")
}

//go:build !js

// Package browser drives a headless Chromium from Go tests, benchmarks and
// demos through chromedp.
//
// It is the one place that knows how Chromium is started on the project's
// machines: the Debian build at /usr/bin/chromium (or $CHROMIUM), run headless
// with a fresh profile and the flags that keep it from opening outbound
// connections of its own. A missing browser is a test failure, not a skip:
// [Require] tells how to install it (scripts/ensure-chromium.sh, which
// `make test` runs).
//
// A [Browser] owns one Chromium process; each [Page] is one tab with its console
// lines and uncaught exceptions captured in order.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// EnvPath names the environment variable that overrides [DefaultPath].
const EnvPath = "CHROMIUM"

// Options tune [Launch]. The zero value runs a headless browser with the CDP
// Network domain enabled and no logging.
type Options struct {
	// Headless states the default explicitly: Chromium always runs headless
	// unless Visible is set.
	Headless bool
	// Visible shows a window instead (needs DISPLAY or WAYLAND_DISPLAY); for
	// looking at a page by hand, never in CI.
	Visible bool
	// NetworkDomainOff disables the CDP Network domain on every page. With it
	// on, Chromium reports every websocket frame to the driver and websocket
	// throughput halves, so benchmarks set it.
	NetworkDomainOff bool
	// Logf receives the driver's errors and Chromium's own output, minus known
	// harmless noise. Nil means t.Logf when Launch gets a test, else nothing.
	Logf func(format string, args ...any)
}

// Browser is one running Chromium process. Its methods are safe for
// concurrent use; each Page must be used from one goroutine at a time.
type Browser struct {
	ctx         context.Context // the browser's chromedp context, no deadline
	cancelAlloc context.CancelFunc
	cancelCtx   context.CancelFunc
	opts        Options

	closeOnce sync.Once
	closeErr  error
}

// Available returns the Chromium path ($CHROMIUM or [DefaultPath]) and whether
// an executable file is there.
func Available() (string, bool) {
	path := os.Getenv(EnvPath)
	if path == "" {
		path = DefaultPath
	}
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return path, false
	}
	return path, true
}

// Require fails the test at once when Chromium is missing, saying how to
// install it. Tests that need a browser call it first: in this project a
// missing browser is an error, never a skip.
func Require(t testing.TB) {
	t.Helper()
	if path, ok := Available(); !ok {
		t.Fatalf("chromium not found at %s: run scripts/ensure-chromium.sh as root "+
			"(make test does it), or set %s to a Chromium binary", path, EnvPath)
	}
}

// Launch starts Chromium and returns once the browser answers. The browser
// lives until Close, or until ctx is cancelled; ctx must not carry a deadline
// meant for a single step, because it bounds the browser's whole life. When t
// is not nil, Close is registered with t.Cleanup and logs go to t.Logf unless
// opts.Logf is set.
// AllocatorOptions are the flags every headless run here needs (toolchain.md §4: no sandbox as root,
// no GPU, no QUIC, none of Chromium's own background traffic), plus no throttling of background tabs,
// whose clients rely on their timers. Launch and the benchmarks start Chromium with them.
func AllocatorOptions(path string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	}
}

func Launch(ctx context.Context, t testing.TB, opts Options) (*Browser, error) {
	path, ok := Available()
	if !ok {
		return nil, fmt.Errorf("failed to find chromium at %s: run scripts/ensure-chromium.sh", path)
	}
	if opts.Logf == nil && t != nil {
		opts.Logf = t.Logf
	}
	logf := filteredLogf(opts.Logf)

	allocOpts := append(AllocatorOptions(path),
		chromedp.CombinedOutput(&lineWriter{logf: logf, prefix: "chromium: "}),
		// No UserDataDir: the allocator creates a fresh profile directory for
		// every launch and removes it when the browser exits.
	)
	if opts.Visible {
		allocOpts = append(allocOpts, chromedp.VisibleWindow)
	} else {
		allocOpts = append(allocOpts, chromedp.Headless)
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocOpts...)
	bctx, cancelCtx := chromedp.NewContext(allocCtx,
		chromedp.WithErrorf(logf),
		chromedp.WithLogf(logf),
	)
	b := &Browser{ctx: bctx, cancelAlloc: cancelAlloc, cancelCtx: cancelCtx, opts: opts}
	// The first Do starts the browser; its context has no timeout because it
	// bounds the browser's lifetime.
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, fmt.Errorf("failed to start chromium: %w", err)
	}
	if t != nil {
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Logf("browser: %v", err)
			}
		})
	}
	return b, nil
}

// Close closes the browser and every page, waits for the process to exit and
// removes its profile directory. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		err := chromedp.Cancel(b.ctx)
		b.cancelCtx()
		b.cancelAlloc()
		if err != nil && !errors.Is(err, context.Canceled) {
			b.closeErr = fmt.Errorf("failed to close chromium: %w", err)
		}
	})
	return b.closeErr
}

// noise lists substrings of lines that are known to be harmless: cdproto not
// knowing an enum value newer Chromium sends, the Debian launcher's
// /etc/chromium.d/dev-shm test, and Chromium finding no D-Bus in a container.
var noise = []string{
	"unknown IPAddressSpace value",
	"unexpected operator",
	"dev-shm",
	"dbus/",
}

// IsNoise reports whether a log line is known harmless Chromium or driver
// noise.
func IsNoise(line string) bool {
	for _, n := range noise {
		if strings.Contains(line, n) {
			return true
		}
	}
	return false
}

// filteredLogf wraps logf so that noise lines are dropped; nil logs nothing.
func filteredLogf(logf func(string, ...any)) func(string, ...any) {
	return func(format string, args ...any) {
		if logf == nil {
			return
		}
		line := fmt.Sprintf(format, args...)
		if IsNoise(line) {
			return
		}
		logf("%s", line)
	}
}

// lineWriter splits Chromium's output into lines for a logf.
type lineWriter struct {
	logf   func(string, ...any)
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if line != "" {
			w.logf("%s%s", w.prefix, line)
		}
	}
	return len(p), nil
}

var _ io.Writer = (*lineWriter)(nil)

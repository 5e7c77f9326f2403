//go:build !js

package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// maxLines bounds the console lines and exceptions a Page keeps; older lines
// are dropped first.
const maxLines = 5000

// waitTailLines is how many of the last console lines a WaitFor timeout
// quotes.
const waitTailLines = 30

// pollInterval is how often WaitFor evaluates its expression.
const pollInterval = 50 * time.Millisecond

// ErrWaitTimeout is wrapped by WaitFor when the expression did not become
// true in time.
var ErrWaitTimeout = errors.New("browser: wait timed out")

// Page is one browser tab. Console lines (console.* calls and browser log
// entries, as "<level>: <text>") and uncaught exceptions (including unhandled
// promise rejections) are captured from before the navigation on.
type Page struct {
	ctx    context.Context // the tab's chromedp context, no deadline
	cancel context.CancelFunc

	mu         sync.Mutex
	console    []string
	exceptions []string
}

// NewPage opens a tab, starts capturing its console, and navigates to url,
// waiting for the load event. ctx bounds only the opening and navigation; the
// tab lives until the browser closes or Close is called.
func (b *Browser) NewPage(ctx context.Context, url string) (*Page, error) {
	tctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{ctx: tctx, cancel: cancel}
	// Creating the target must not run under a deadline (it would bound the
	// tab's life), but the caller's cancellation still aborts it.
	stop := context.AfterFunc(ctx, cancel)
	err := chromedp.Do(tctx)
	stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to open a tab: %w", err)
	}
	if err := chromedp.Listen(tctx, p.record); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to listen to the tab: %w", err)
	}
	sctx, done := p.stepCtx(ctx)
	defer done()
	if b.opts.NetworkDomainOff {
		if _, err := chromedp.Call(sctx, network.Disable, cdp.Empty{}); err != nil {
			cancel()
			return nil, fmt.Errorf("failed to disable the network domain: %w", err)
		}
	}
	if err := chromedp.Do(sctx, chromedp.Navigate(url)); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to navigate to %s: %w", redactURL(url), err)
	}
	return p, nil
}

// Frame waits up to timeout for an iframe of the page's browser whose URL starts with urlPrefix and
// returns it as a Page of its own: Eval, WaitFor and the console work inside the frame. Only a frame
// of another site than its parent (for example an app on 127.0.0.2 inside a portal page on
// 127.0.0.1) runs in a process of its own and can be found this way; a same-site frame cannot. The
// frame's console is captured from when it is found on. Close detaches from the frame.
func (p *Page) Frame(ctx context.Context, urlPrefix string, timeout time.Duration) (*Page, error) {
	deadline := time.Now().Add(timeout)
	for {
		sctx, done := p.stepCtx(ctx)
		targets, err := chromedp.Targets(sctx)
		done()
		if err != nil {
			return nil, fmt.Errorf("failed to list the targets: %w", err)
		}
		for _, info := range targets {
			if info.Type != "iframe" || !strings.HasPrefix(info.URL, urlPrefix) {
				continue
			}
			fctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID))
			f := &Page{ctx: fctx, cancel: cancel}
			if err := chromedp.Do(fctx); err != nil {
				cancel()
				return nil, fmt.Errorf("failed to attach to the frame: %w", err)
			}
			if err := chromedp.Listen(fctx, f.record); err != nil {
				cancel()
				return nil, fmt.Errorf("failed to listen to the frame: %w", err)
			}
			return f, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("no frame at %s within %v: %w\n%s", redactURL(urlPrefix), timeout, ErrWaitTimeout, p.tail(waitTailLines))
		}
		time.Sleep(pollInterval)
	}
}

// Close closes the tab. Later calls on the page fail.
func (p *Page) Close() {
	p.cancel()
}

// Eval evaluates a JavaScript expression, awaits it when it is a promise, and
// unmarshals its JSON value into out (nil out discards it; undefined reads as
// null). A thrown exception or a rejected promise is returned as an error.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	sctx, done := p.stepCtx(ctx)
	defer done()
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("failed to evaluate: %w", err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		raw = []byte("null")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("failed to decode the result: %w", err)
	}
	return nil
}

// WaitFor polls a JavaScript expression every 50 ms until it is truthy, for at
// most timeout (and never past ctx). On timeout the error wraps ErrWaitTimeout
// and quotes the last console lines and exceptions, which usually say why.
func (p *Page) WaitFor(ctx context.Context, expr string, timeout time.Duration) error {
	sctx, done := p.stepCtx(ctx)
	defer done()
	_, err := chromedp.Run(sctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(pollInterval),
		chromedp.WithPollingTimeout(timeout)))
	if err == nil {
		return nil
	}
	if errors.Is(err, chromedp.ErrPollingTimeout) || errors.Is(err, context.DeadlineExceeded) {
		err = ErrWaitTimeout
	}
	return fmt.Errorf("failed to wait %v for %s: %w\n%s", timeout, expr, err, p.tail(waitTailLines))
}

// Console returns a copy of the console lines so far, oldest first.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Exceptions returns a copy of the uncaught exceptions so far, oldest first.
func (p *Page) Exceptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.exceptions...)
}

// Screenshot writes a PNG of the visible viewport to path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	sctx, done := p.stepCtx(ctx)
	defer done()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("failed to capture a screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("failed to write the screenshot: %w", err)
	}
	return nil
}

// stepCtx derives a context from the tab's context that also ends with ctx
// (its deadline and its cancellation), so that one step is bounded without
// bounding the tab.
func (p *Page) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	var sctx context.Context
	var cancel context.CancelFunc
	if dl, ok := ctx.Deadline(); ok {
		sctx, cancel = context.WithDeadline(p.ctx, dl)
	} else {
		sctx, cancel = context.WithCancel(p.ctx)
	}
	stop := context.AfterFunc(ctx, cancel)
	return sctx, func() {
		stop()
		cancel()
	}
}

// record runs on chromedp's event loop: it must be quick and never call back.
func (p *Page) record(ev any) {
	var line string
	exception := false
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		line = string(ev.Type) + ": " + argsText(ev.Args)
	case *runtime.EventExceptionThrown:
		line = exceptionText(ev.ExceptionDetails)
		exception = true
	case *cdplog.EventEntryAdded:
		if ev.Entry == nil {
			return
		}
		line = string(ev.Entry.Level) + ": " + ev.Entry.Text
		if ev.Entry.URL != "" {
			line += " (" + redactURL(ev.Entry.URL) + ")"
		}
	default:
		return
	}
	if IsNoise(line) {
		return
	}
	line = redactURLs(line)
	p.mu.Lock()
	defer p.mu.Unlock()
	if exception {
		p.exceptions = appendBounded(p.exceptions, line)
		line = "exception: " + line
	}
	p.console = appendBounded(p.console, line)
}

// tail formats the last n console lines for an error message.
func (p *Page) tail(n int) string {
	lines := p.Console()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(no console output)"
	}
	return "last console lines:\n  " + strings.Join(lines, "\n  ")
}

func appendBounded(s []string, line string) []string {
	if len(s) >= maxLines {
		s = append(s[:0], s[len(s)-maxLines+1:]...)
	}
	return append(s, line)
}

// argsText renders console arguments roughly as DevTools does: strings as
// they are, other primitives as JSON, objects by their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if a == nil {
			continue
		}
		parts = append(parts, objectText(a))
	}
	return strings.Join(parts, " ")
}

func objectText(o *runtime.RemoteObject) string {
	switch {
	case len(o.Value) > 0:
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			return s
		}
		return string(o.Value)
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case o.Description != "":
		return o.Description
	default:
		return string(o.Type)
	}
}

// exceptionText gives "Uncaught Error: message" plus where it was thrown,
// without the stack.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	text := d.Text
	if d.Exception != nil {
		desc, _, _ := strings.Cut(objectText(d.Exception), "\n    at ")
		text = strings.TrimSpace(text + " " + desc)
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d)", redactURL(d.URL), d.LineNumber+1)
	}
	return text
}

// urlPattern finds the URLs in a console line.
var urlPattern = regexp.MustCompile(`(?i)\b(?:wss?|https?)://[^\s'"<>]+`)

// redactURLs redacts every URL in a line: Chromium's own messages (such as a
// failed WebSocket connection) quote the full URL.
func redactURLs(line string) string {
	return urlPattern.ReplaceAllStringFunc(line, redactURL)
}

// redactURL drops the query of a URL: connection URLs carry channel ids,
// tokens and client ids, which must not reach logs.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

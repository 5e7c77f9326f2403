//go:build !js

// Package js holds the npm package of b24pull. This test drives its built files in headless Chromium:
// the loader (once per page, HTTP errors, the MIME fallback, retries), the subscriber fan-out, the
// classic-script build and the crash path. It needs the files scripts/build-wasm.sh writes and
// Chromium (make test provides both); without them it fails and says what to run.
package js

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageResult is what js/testdata/harness.js writes into the page.
type pageResult struct {
	Checks   int             `json:"checks"`
	Failures []string        `json:"failures"`
	Report   json.RawMessage `json:"report"` // what a benchmark page measured
}

func TestPagesInChromium(t *testing.T) {
	chromium, url := pageServer(t)
	for _, page := range []string{"loader", "api", "resume", "classic", "crash"} {
		t.Run(page, func(t *testing.T) {
			res, messages := runPage(t, chromium, url+"/js/testdata/"+page+".html", 30*time.Second)
			log := consoleText(messages)
			t.Logf("%d checks", res.Checks)
			assert.Positive(t, res.Checks, "the page ran no check; console:\n%s", log)
			assert.Empty(t, res.Failures, "console:\n%s", log)
			for _, m := range messages {
				assert.False(t, m.IsException(), "uncaught: %s", m.Text)
				for _, bad := range []string{"call to released function", "Go program has already exited", "internal error"} {
					assert.NotContains(t, m.Text, bad)
				}
			}
		})
	}
}

// TestCopyCost runs js/testdata/copycost.html and prints what it costs per event to give each
// subscriber its own params and extra (docs/benchmarks.md). B24PULL_COPYCOST_EVENTS sets the events
// per round: the default, 2000, keeps the test short; the recorded numbers use 20000.
func TestCopyCost(t *testing.T) {
	chromium, url := pageServer(t)
	events := os.Getenv("B24PULL_COPYCOST_EVENTS")
	if events == "" {
		events = "2000"
	}
	res, messages := runPage(t, chromium, url+"/js/testdata/copycost.html?events="+events, 5*time.Minute)
	require.Empty(t, res.Failures, "console:\n%s", consoleText(messages))
	var rows []struct {
		Way string    `json:"way"`
		NS  []float64 `json:"ns"`
	}
	require.NoError(t, json.Unmarshal(res.Report, &rows), "report %s", res.Report)
	var b strings.Builder
	fmt.Fprintf(&b, "ns per event, by subscribers of the event (median of 7 rounds of %s events)\n", events)
	fmt.Fprintf(&b, "%44s %8s %8s %8s\n", "way", "1", "3", "10")
	for _, r := range rows {
		fmt.Fprintf(&b, "%44s", r.Way)
		for _, ns := range r.NS {
			fmt.Fprintf(&b, " %8.0f", ns)
		}
		b.WriteString("\n")
	}
	t.Log("\n" + b.String())
}

// pageServer checks that the package is built, builds the stand-in module of the crash page and
// serves the package and its test pages; it returns the Chromium to use and the server's URL.
func pageServer(t *testing.T) (chromium, url string) {
	t.Helper()
	for _, f := range []string{"b24pull.wasm", "b24pull.mjs", "b24pull.js"} {
		_, err := os.Stat(f)
		require.NoError(t, err, "run make build (scripts/build-wasm.sh) first")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}

	exiting := filepath.Join(t.TempDir(), "exiting.wasm")
	build := exec.Command("go", "build", "-o", exiting, "./testdata/exiting")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build exiting.wasm: %s", out)

	sdk := filepath.Join("..", "e2e", "web", "node_modules", "@bitrix24", "b24jssdk", "dist", "esm")
	_, err = os.Stat(filepath.Join(sdk, "types", "pull.mjs"))
	require.NoError(t, err, "the official client is missing: run scripts/ensure-npm.sh")

	mux := http.NewServeMux()
	files := http.StripPrefix("/js/", http.FileServer(http.Dir(".")))
	mux.HandleFunc("/js/", func(w http.ResponseWriter, r *http.Request) {
		// The sandboxed iframe of resume.html has an opaque origin: it loads the package by CORS.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		files.ServeHTTP(w, r)
	})
	// The official client's enums, which api.html compares with b24pull's.
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(sdk))))
	mux.HandleFunc("/plain/b24pull.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, "b24pull.wasm")
	})
	mux.HandleFunc("/html/b24pull.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>app</title>"))
	})
	mux.HandleFunc("/exiting.wasm", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, exiting)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return chromium, srv.URL
}

// runPage loads url in a fresh headless Chromium, waits up to timeout for the page to finish, and
// returns what it wrote together with its console messages.
func runPage(t *testing.T, chromium, url string, timeout time.Duration) (pageResult, []chromedp.ConsoleMessage) {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx), "start chromium") // no timeout here: it bounds the browser's life

	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
	)
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	stream := chromedp.Console(consoleCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range stream {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	pageCtx, cancelPage := context.WithTimeout(ctx, timeout)
	defer cancelPage()
	require.NoError(t, chromedp.Do(pageCtx, chromedp.Navigate(url)))
	out, err := chromedp.Run(pageCtx, chromedp.Evaluate[string](waitForResult, chromedp.EvalAwaitPromise))
	// A page that reloads itself (resume.html) ends the wait: wait again in the page that follows.
	for reloads := 0; err != nil && reloads < 3 && pageCtx.Err() == nil && reloaded(err); reloads++ {
		time.Sleep(50 * time.Millisecond)
		out, err = chromedp.Run(pageCtx, chromedp.Evaluate[string](waitForResult, chromedp.EvalAwaitPromise))
	}
	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	require.NoError(t, err, "the page did not finish; console:\n%s", consoleText(messages))
	var res pageResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), "page result %q", out)
	return res, messages
}

// reloaded tells whether err is the end of an evaluation by the page navigating away.
func reloaded(err error) bool {
	text := err.Error()
	return strings.Contains(text, "navigated or closed") || strings.Contains(text, "context was destroyed") ||
		strings.Contains(text, "Cannot find context")
}

// waitForResult resolves with the page's result once harness.js wrote it.
const waitForResult = `new Promise((resolve) => {
  const poll = () => document.title === 'done' ? resolve(document.getElementById('out').textContent) : setTimeout(poll, 20);
  poll();
})`

// consoleText renders console messages one per line.
func consoleText(messages []chromedp.ConsoleMessage) string {
	var b strings.Builder
	for _, m := range messages {
		fmt.Fprintf(&b, "%s: %s\n", m.Type, m.Text)
	}
	return b.String()
}

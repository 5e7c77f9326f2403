//go:build !js

package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/demo"
	"github.com/b24pull/b24pull/internal/browser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envScreenshot, when set, names a file the browser test also writes its screenshot to, for a look by
// eye.
const envScreenshot = "B24PULL_DEMO_SCREENSHOT"

// minScreenshotBytes is well above what a blank or almost blank 800×600 PNG weighs.
const minScreenshotBytes = 20 << 10

// TestDemoInBrowser runs the demo as the b24pull-demo command does, on each push server version, and
// drives the page in headless Chromium: online within 10 s, an event sent from the form reaches the
// log, "expire channels now" moves the renewal counter, and the page renders.
func TestDemoInBrowser(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)

	for _, version := range []int{4, 3, 5} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			srv, page := openDemo(ctx, t, b, version)

			// An event from the form, with markup in its params that must stay text.
			command := fmt.Sprintf("demo_test_v%d", version)
			require.NoError(t, page.Eval(ctx, fmt.Sprintf(`(() => {
				document.getElementById('command').value = %q;
				document.getElementById('params').value = '{"n": 7, "text": "<b id=\\"injected\\">hi</b>"}';
				document.getElementById('send-button').click();
			})()`, command), nil))
			rowExpr := fmt.Sprintf(`[...document.querySelectorAll('#events li.event-message')]
				.find((r) => r.dataset.command === %q)`, command)
			require.NoError(t, page.WaitFor(ctx, rowExpr+` !== undefined`, 10*time.Second), "the event did not reach the log")
			require.NoError(t, page.WaitFor(ctx, `document.getElementById('send-result').textContent !== 'sending…'`,
				10*time.Second), "the REST call did not answer")
			var row struct {
				Module, Command, Params, Result string
				Injected                        bool
			}
			require.NoError(t, page.Eval(ctx, `(() => { const r = `+rowExpr+`; return {
				module: r.querySelector('.event-module').textContent,
				command: r.querySelector('.event-command').textContent,
				params: r.querySelector('.event-params').textContent,
				result: document.getElementById('send-result').textContent,
				injected: document.getElementById('injected') !== null,
			}; })()`, &row))
			assert.Equal(t, "application", row.Module)
			assert.Equal(t, command, row.Command)
			assert.Contains(t, row.Params, `"n":7`, "PARAMS keep their JSON types")
			assert.Contains(t, row.Params, `<b id=\"injected\">hi</b>`)
			assert.False(t, row.Injected, "message content must be rendered as text")
			assert.True(t, strings.HasPrefix(row.Result, "sent "+command), "send result: %q", row.Result)

			// Expire the channels from the fault panel: the client renews them.
			rotations := srv.Standin().Stats().Rotations
			require.NoError(t, page.Eval(ctx, `document.querySelector('[data-fault="expire"]').click()`, nil))
			require.NoError(t, page.WaitFor(ctx, `Number(document.getElementById('c-renewals').textContent) >= 1`,
				15*time.Second), "the renewal counter did not move")
			assert.Greater(t, srv.Standin().Stats().Rotations, rotations)
			require.NoError(t, page.WaitFor(ctx, `document.getElementById('badge').textContent === 'online'`,
				10*time.Second), "the page did not come back online after the renewal")
			require.NoError(t, page.WaitFor(ctx, `document.querySelector('#fault-notes .note-done') !== null`,
				5*time.Second), "the fault note did not settle")

			// The page rendered: the badge, the transport, the countdown, and a non-trivial PNG.
			var view struct{ Badge, Link, Countdown, Banner string }
			require.NoError(t, page.Eval(ctx, `({
				badge: document.getElementById('badge').textContent,
				link: document.getElementById('link').textContent,
				countdown: document.getElementById('countdown').textContent,
				banner: document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent,
			})`, &view))
			assert.Equal(t, "online", view.Badge)
			assert.Contains(t, view.Link, "websocket")
			assert.Regexp(t, `^\d+:\d\d$|^renewing…$`, view.Countdown)
			assert.Empty(t, view.Banner)

			shot := filepath.Join(t.TempDir(), "demo.png")
			require.NoError(t, page.Screenshot(ctx, shot))
			png, err := os.ReadFile(shot)
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "not a PNG")
			assert.Greater(t, len(png), minScreenshotBytes, "the screenshot looks blank")
			if out := os.Getenv(envScreenshot); out != "" && version == 4 {
				require.NoError(t, os.WriteFile(out, png, 0o644))
			}

			assert.Empty(t, page.Exceptions(), "uncaught exceptions")
			for _, line := range page.Console() {
				assert.NotContains(t, line, "Content Security Policy", "the page must work under its CSP")
				assert.False(t, strings.HasPrefix(line, "error:"), "console error: %s", line)
			}
		})
	}
}

// openDemo starts the demo as the command does, on a random port, opens the page and waits for it to
// go online within 10 s.
func openDemo(ctx context.Context, t *testing.T, b *browser.Browser, version int) (*demo.Server, *browser.Page) {
	t.Helper()
	srv, err := demo.Start(demo.Options{Version: version, Addr: "0"})
	require.NoError(t, err, "the demo needs the browser package: run scripts/build-wasm.sh")
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	page, err := b.NewPage(ctx, srv.URL())
	require.NoError(t, err)
	t.Cleanup(page.Close)
	require.NoError(t, page.WaitFor(ctx, onlineExpr, 10*time.Second), "the page did not go online")
	return srv, page
}

// onlineExpr is true while the page's badge says online.
const onlineExpr = `document.getElementById('badge').textContent === 'online'`

// counterExpr is true once the page's counter id shows at least n.
func counterExpr(id string, n int) string {
	return fmt.Sprintf(`Number(document.getElementById(%q).textContent) >= %d`, id, n)
}

// clickFault clicks the fault button of name.
func clickFault(ctx context.Context, t *testing.T, page *browser.Page, name string) {
	t.Helper()
	require.NoError(t, page.Eval(ctx, fmt.Sprintf(`document.querySelector('[data-fault=%q]').click()`, name), nil))
}

// TestDemoFaultButtons presses the other fault buttons of the page and checks that the client shows
// their effect and recovers: a duplicated message is skipped, a garbage frame counted, a dropped
// connection and a push server restart end online again.
func TestDemoFaultButtons(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	srv, page := openDemo(ctx, t, b, 4)

	// Duplicate the next message, then send one: it is logged once and skipped once.
	clickFault(ctx, t, page, "duplicate")
	require.NoError(t, page.WaitFor(ctx, `document.querySelector('#fault-notes .note-pending') !== null`, 5*time.Second))
	require.NoError(t, page.Eval(ctx, `(() => {
		document.getElementById('command').value = 'twice';
		document.getElementById('send-button').click();
	})()`, nil))
	require.NoError(t, page.WaitFor(ctx, counterExpr("c-duplicates", 1), 10*time.Second), "no duplicate skipped")
	var rows int
	require.NoError(t, page.Eval(ctx, `document.querySelectorAll('#events li.event-message[data-command="twice"]').length`, &rows))
	assert.Equal(t, 1, rows, "a duplicate must not reach the log")
	assert.GreaterOrEqual(t, srv.Standin().Stats().Duplicated, int64(1))

	clickFault(ctx, t, page, "garbage")
	require.NoError(t, page.WaitFor(ctx, counterExpr("c-garbage", 1), 10*time.Second), "no garbage frame counted")

	clickFault(ctx, t, page, "drop")
	require.NoError(t, page.WaitFor(ctx, counterExpr("c-reconnects", 1), 15*time.Second), "no reconnect after a drop")
	require.NoError(t, page.WaitFor(ctx, onlineExpr, 10*time.Second), "not online after a drop")

	clickFault(ctx, t, page, "restart")
	require.NoError(t, page.WaitFor(ctx, counterExpr("c-reconnects", 2), 30*time.Second),
		"no reconnect after a push server restart")
	require.NoError(t, page.WaitFor(ctx, onlineExpr, 10*time.Second), "not online after a push server restart")
	assert.Equal(t, int64(1), srv.Standin().Stats().Restarts)

	// The debug toggle replaces the client with one that prints its log lines.
	require.NoError(t, page.Eval(ctx, `(() => {
		globalThis.previousPull = b24pullDemo.pull;
		document.getElementById('debug').click();
	})()`, nil))
	require.NoError(t, page.WaitFor(ctx, `b24pullDemo.pull !== null && b24pullDemo.pull !== previousPull && `+onlineExpr,
		10*time.Second), "the debug toggle did not bring a new client online")
	debugLines := 0
	for _, line := range page.Console() {
		if strings.HasPrefix(line, "debug: b24pull:") {
			debugLines++
		}
	}
	assert.Positive(t, debugLines, "no debug lines after the toggle")

	assert.Empty(t, page.Exceptions(), "uncaught exceptions")
}

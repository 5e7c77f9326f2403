//go:build !js

package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
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

// TestDemoClientPublishing drives the "send as a client" form and the presence panel in Chromium.
// On versions 4 and 5 a message the page sends to its own user arrives in the log as a client
// message, apart from server events, and the result line says it was sent. On version 5 a second
// one goes to the user's public app channel typed into the form (as pull.channel.public.list with
// APPLICATION=Y names it), which then appears nowhere on the page but the input nor in the console;
// the presence panel shows the page's user online now and the other demo users never seen, and
// following user 2 logs it coming online when a page opens as user 2 and going offline when that
// page closes. On versions 3 and 4 the panel says it needs version 5; on version 3 the form's send
// is refused with PUBLISHING_UNAVAILABLE, and a note says why.
func TestDemoClientPublishing(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)

	for _, version := range []int{5, 4, 3} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			srv, page := openDemo(ctx, t, b, version)
			var users string
			require.NoError(t, page.WaitFor(ctx, `document.getElementById('client-users').value !== ''`, 5*time.Second))
			require.NoError(t, page.Eval(ctx, `document.getElementById('client-users').value`, &users))
			assert.Equal(t, "1", users, "the form sends to the page's user by default")

			command := fmt.Sprintf("client_test_v%d", version)
			sendAsClient(ctx, t, page, command, `{"n": 7, "text": "<i id=\"injected\">x</i>"}`)
			result := clientResult(ctx, t, page)
			if version == 3 {
				assert.Equal(t, "PUBLISHING_UNAVAILABLE", result.Code, "the form's send on version 3: %s", result.Text)
				assert.Equal(t, "false", result.OK)
				var note string
				require.NoError(t, page.Eval(ctx, `document.getElementById('client-note').hidden ? '' : document.getElementById('client-note').textContent`, &note))
				assert.Contains(t, note, "version 4 or later")
			} else {
				assert.Equal(t, "true", result.OK, "the form's send: %s", result.Text)
				assert.True(t, strings.HasPrefix(result.Text, "sent "+command), "send result: %q", result.Text)
				row := waitClientRow(ctx, t, page, command)
				assert.Equal(t, "client", row.Kind)
				assert.Equal(t, "application", row.Module)
				assert.Contains(t, row.Params, `"n":7`)
				assert.False(t, row.Injected, "message content must be rendered as text")
				var asServer int
				require.NoError(t, page.Eval(ctx, fmt.Sprintf(`document.querySelectorAll('#events li.event-message[data-command=%q]').length`, command), &asServer))
				assert.Zero(t, asServer, "a client message was logged as a server event")
			}

			var presenceNote bool
			require.NoError(t, page.Eval(ctx, `!document.getElementById('presence-note').hidden`, &presenceNote))
			if version < 5 {
				assert.True(t, presenceNote, "the presence panel says it needs version 5")
				var disabled bool
				require.NoError(t, page.Eval(ctx, `document.getElementById('presence-refresh').disabled`, &disabled))
				assert.True(t, disabled, "refresh is disabled without JSON-RPC")
			} else {
				assert.False(t, presenceNote, "the version 5 note shows on version 5")
				demoPresence(ctx, t, b, srv, page)
				demoSendToChannel(ctx, t, page)
			}

			assert.Empty(t, page.Exceptions(), "uncaught exceptions")
			for _, line := range page.Console() {
				assert.NotContains(t, line, "Content Security Policy", "the page must work under its CSP")
				assert.False(t, strings.HasPrefix(line, "error:"), "console error: %s", line)
			}
		})
	}
}

// sendAsClient fills the client form for the page's users target and submits it.
func sendAsClient(ctx context.Context, t *testing.T, page *browser.Page, command, params string) {
	t.Helper()
	require.NoError(t, page.Eval(ctx, fmt.Sprintf(`(() => {
		document.getElementById('client-command').value = %q;
		document.getElementById('client-params').value = %q;
		document.getElementById('client-send').click();
	})()`, command, params), nil))
}

type formResult struct {
	Text string `json:"text"`
	OK   string `json:"ok"`
	Code string `json:"code"`
}

// clientResult waits for the client form's result line to settle and returns it.
func clientResult(ctx context.Context, t *testing.T, page *browser.Page) formResult {
	t.Helper()
	require.NoError(t, page.WaitFor(ctx, `(r => r.textContent !== '' && r.textContent !== 'sending…')(document.getElementById('client-result'))`,
		15*time.Second), "the client send did not settle")
	var r formResult
	require.NoError(t, page.Eval(ctx, `(r => ({text: r.textContent, ok: r.dataset.ok, code: r.dataset.code}))(document.getElementById('client-result'))`, &r))
	return r
}

type logRow struct {
	Kind, Module, Params string
	Injected             bool
}

// waitClientRow waits for the log's client row of command.
func waitClientRow(ctx context.Context, t *testing.T, page *browser.Page, command string) logRow {
	t.Helper()
	rowExpr := fmt.Sprintf(`document.querySelector('#events li.event-client[data-command=%q]')`, command)
	require.NoError(t, page.WaitFor(ctx, rowExpr+` !== null`, 10*time.Second), "the client message %s did not reach the log", command)
	var row logRow
	require.NoError(t, page.Eval(ctx, `(r => ({
		kind: r.querySelector('.event-kind').textContent,
		module: r.querySelector('.event-module').textContent,
		params: r.querySelector('.event-params').textContent,
		injected: document.getElementById('injected') !== null,
	}))(`+rowExpr+`)`, &row))
	return row
}

// demoPresence checks the presence panel of a version 5 page of user 1: user 1 online now, users 2
// and 3 never seen; following user 2 logs a page of user 2 coming online and, once closed, offline.
func demoPresence(ctx context.Context, t *testing.T, b *browser.Browser, srv *demo.Server, page *browser.Page) {
	t.Helper()
	seen := func(user int) string {
		return fmt.Sprintf(`document.querySelector('#presence-rows tr[data-user="%d"] .presence-seen')`, user)
	}
	require.NoError(t, page.WaitFor(ctx, seen(1)+`?.dataset.state === 'online'`, 10*time.Second),
		"the presence panel did not show user 1 online")
	for _, user := range []int{2, 3} {
		var state string
		require.NoError(t, page.Eval(ctx, seen(user)+`.dataset.state`, &state))
		assert.Equal(t, "never", state, "user %d has never connected", user)
	}

	follow := `document.querySelector('#presence-rows tr[data-user="2"] .presence-follow')`
	require.NoError(t, page.Eval(ctx, follow+`.click()`, nil))
	require.NoError(t, page.WaitFor(ctx, `(b => b.checked && !b.disabled)(`+follow+`)`, 5*time.Second),
		"following user 2 did not settle")
	other, err := b.NewPage(ctx, srv.URL()+"?user=2")
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, other.WaitFor(ctx, onlineExpr, 10*time.Second), "the page of user 2 did not go online")
	statusRow := func(text string) string {
		return fmt.Sprintf(`document.querySelector('#events li.event-presence[data-command=%q]') !== null`, text)
	}
	require.NoError(t, page.WaitFor(ctx, statusRow("user 2 online"), 10*time.Second), "user 2 coming online was not logged")
	require.NoError(t, page.WaitFor(ctx, seen(2)+`?.dataset.state === 'online'`, 10*time.Second),
		"the presence panel did not show user 2 online")
	var otherUser string
	require.NoError(t, other.Eval(ctx, `document.getElementById('user-id').textContent`, &otherUser))
	assert.Equal(t, "2", otherUser, "/?user=2 opens the page as user 2")
	other.Close()
	require.NoError(t, page.WaitFor(ctx, statusRow("user 2 offline"), 15*time.Second), "user 2 going offline was not logged")
}

// demoSendToChannel sends from the form to the page's own public app channel, typed in as a user
// would, and checks that it arrives and that the channel shows nowhere but in its input.
func demoSendToChannel(ctx context.Context, t *testing.T, page *browser.Page) {
	t.Helper()
	var channel string
	require.NoError(t, page.Eval(ctx, `new Promise((resolve) => BX24.callMethod('pull.channel.public.list',
		{USERS: [1], APPLICATION: 'Y'}, (r) => { const e = (r.data() || {})['1']; resolve(e ? e.public_id + '.' + e.signature : ''); }))`, &channel))
	require.NotEmpty(t, channel, "pull.channel.public.list gave no channel")
	arg, err := json.Marshal(channel)
	require.NoError(t, err)
	require.NoError(t, page.Eval(ctx, `(() => {
		document.querySelector('input[name="client-target"][value="channel"]').click();
		document.getElementById('client-channel').value = `+string(arg)+`;
		document.getElementById('client-command').value = 'client_channel';
		document.getElementById('client-params').value = '{"via": "channel"}';
		document.getElementById('client-send').click();
	})()`, nil))
	result := clientResult(ctx, t, page)
	assert.Equal(t, "true", result.OK, "the send to a channel: %s", result.Text)
	row := waitClientRow(ctx, t, page, "client_channel")
	assert.Contains(t, row.Params, `"via":"channel"`)
	var shown bool
	require.NoError(t, page.Eval(ctx, `document.body.innerText.includes(`+string(arg)+`)`, &shown))
	assert.False(t, shown, "the public channel shows on the page")
	for _, part := range strings.Split(channel, ".") {
		for _, line := range page.Console() {
			assert.False(t, strings.Contains(line, part), "the console holds the public channel")
		}
	}
}

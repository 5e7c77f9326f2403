//go:build !js

package demo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/demo"
	"github.com/b24pull/b24pull/internal/browser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compareSide is one client's counters in the side-by-side card.
type compareSide struct {
	Received   int  `json:"received"`
	Lost       int  `json:"lost"`
	Duplicated int  `json:"duplicated"`
	Delay      *int `json:"delay"`
}

// compareCounters is what b24pullDemo.compare.counters() returns.
type compareCounters struct {
	Sent           int         `json:"sent"`
	Failed         int         `json:"failed"`
	Busy           int         `json:"busy"`
	B24pull        compareSide `json:"b24pull"`
	Official       compareSide `json:"official"`
	OfficialStatus string      `json:"officialStatus"`
}

func (s compareSide) String() string {
	delay := "—"
	if s.Delay != nil {
		delay = fmt.Sprintf("%d ms", *s.Delay)
	}
	return fmt.Sprintf("received %d, lost %d, duplicated %d, latest delay %s", s.Received, s.Lost, s.Duplicated, delay)
}

func (c compareCounters) String() string {
	return fmt.Sprintf("sent %d; b24pull: %v; official (%s): %v", c.Sent, c.B24pull, c.OfficialStatus, c.Official)
}

func readCounters(ctx context.Context, t *testing.T, page *browser.Page) compareCounters {
	t.Helper()
	var c compareCounters
	require.NoError(t, page.Eval(ctx, `b24pullDemo.compare.counters()`, &c))
	return c
}

// burst presses "Send 10 events" and waits until the portal accepted them.
func burst(ctx context.Context, t *testing.T, page *browser.Page, sent int) int {
	t.Helper()
	require.NoError(t, page.Eval(ctx, `document.getElementById('cmp-burst').click()`, nil))
	sent += 10
	require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`(c => c.sent + c.failed >= %d && c.busy === 0)(b24pullDemo.compare.counters())`, sent),
		10*time.Second), "the card's events were not sent")
	return sent
}

// TestDemoSideBySide drives the side-by-side card in Chromium on each push server version. Events
// sent before the switch count for b24pull alone; switched on, the official client runs beside
// b24pull in the page and counts from the events sent once it is online. The card's events then go
// through a dropped connection, a push server restart, a duplicated message and a channel renewal,
// each pressed from the fault panel with events sent right after it. Both panels count; b24pull
// receives every event exactly once (nothing lost, nothing duplicated), and the card shows the same
// numbers as its counters. The official client's numbers are logged, not judged. Reset zeroes the
// counters, and switching off stops the official client and empties its column.
func TestDemoSideBySide(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)

	for _, version := range []int{4, 5, 3} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			_, page := openDemo(ctx, t, b, version)
			var disabled bool
			require.NoError(t, page.Eval(ctx, `document.getElementById('official-toggle').disabled`, &disabled))
			require.False(t, disabled, "the switch is disabled: run scripts/ensure-npm.sh")

			// Before the switch, b24pull counts alone and the official column is empty.
			sent := burst(ctx, t, page, 0)
			require.NoError(t, page.WaitFor(ctx, `b24pullDemo.compare.counters().b24pull.received >= 10`, 10*time.Second))
			var officialCell string
			require.NoError(t, page.Eval(ctx, `document.getElementById('cmp-official-received').textContent`, &officialCell))
			assert.Equal(t, "—", officialCell)

			require.NoError(t, page.Eval(ctx, `document.getElementById('official-toggle').click()`, nil))
			require.NoError(t, page.WaitFor(ctx, `b24pullDemo.compare.counters().officialStatus === 'online'`, 20*time.Second),
				"the official client did not go online")
			sent = burst(ctx, t, page, sent)
			require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`(c => c.b24pull.received >= %d && c.official.received >= 10)(b24pullDemo.compare.counters())`, sent),
				10*time.Second), "both clients receive the events sent once both are online")
			c := readCounters(ctx, t, page)
			assert.Equal(t, 10, c.Official.Received, "the official client counts from the events sent once it was online")
			assert.Zero(t, c.Official.Lost, "the events sent before the switch do not count as lost")

			for _, fault := range []string{"drop", "restart", "duplicate", "expire"} {
				clickFault(ctx, t, page, fault)
				// The button stays disabled until the stand-in answered: the fault is in place.
				require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`!document.querySelector('[data-fault=%q]').disabled`, fault),
					5*time.Second))
				sent = burst(ctx, t, page, sent)
				require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`b24pullDemo.compare.counters().b24pull.received >= %d`, sent),
					20*time.Second), "b24pull did not receive the events sent after %s: %v", fault, readCounters(ctx, t, page))
				t.Logf("after %s: %v", fault, readCounters(ctx, t, page))
			}
			// Every event of the official client settles: received, or lost once a later one arrived
			// (or 10 s passed).
			err := page.WaitFor(ctx, fmt.Sprintf(`(c => c.official.received + c.official.lost >= %d)(b24pullDemo.compare.counters())`, sent-10),
				20*time.Second)
			c = readCounters(ctx, t, page)
			t.Logf("v%d side by side: %v (every official event received or counted lost: %v)", version, c, err == nil)
			assert.Zero(t, c.Failed, "events the portal refused")
			assert.Equal(t, sent, c.Sent)
			assert.Equal(t, sent, c.B24pull.Received, "b24pull receives every event")
			assert.Zero(t, c.B24pull.Lost, "b24pull loses nothing")
			assert.Zero(t, c.B24pull.Duplicated, "b24pull delivers nothing twice")
			require.NotNil(t, c.B24pull.Delay)
			assert.GreaterOrEqual(t, *c.B24pull.Delay, 0)
			assert.Positive(t, c.Official.Received, "the official panel counts")
			assert.NotNil(t, c.Official.Delay)

			// The card shows the counters.
			var shown map[string]string
			require.NoError(t, page.Eval(ctx, `Object.fromEntries(['b24pull', 'official'].flatMap((k) =>
				['received', 'lost', 'duplicated'].map((n) => [k + '-' + n, document.getElementById('cmp-' + k + '-' + n).textContent])))`, &shown))
			c2 := readCounters(ctx, t, page)
			assert.Equal(t, fmt.Sprint(c2.B24pull.Received), shown["b24pull-received"])
			assert.Equal(t, "0", shown["b24pull-lost"])
			assert.Equal(t, "0", shown["b24pull-duplicated"])
			assert.Equal(t, fmt.Sprint(c2.Official.Received), shown["official-received"])

			// Reset starts a new run: every counter back at zero.
			require.NoError(t, page.Eval(ctx, `document.getElementById('cmp-reset').click()`, nil))
			c = readCounters(ctx, t, page)
			assert.Zero(t, c.Sent)
			assert.Equal(t, compareSide{}, c.B24pull)
			assert.Equal(t, compareSide{}, c.Official)

			// Switched off, the official client stops and its panel empties.
			require.NoError(t, page.Eval(ctx, `document.getElementById('official-toggle').click()`, nil))
			require.NoError(t, page.WaitFor(ctx, `document.getElementById('cmp-official-status').textContent === 'off' &&
				document.getElementById('cmp-official-received').textContent === '—'`, 5*time.Second))

			assert.Empty(t, page.Exceptions(), "uncaught exceptions")
			for _, line := range page.Console() {
				assert.NotContains(t, line, "Content Security Policy", "the page must work under its CSP")
				assert.NotContains(t, line, "unsafe-eval", "the page must work under its CSP")
				// Chromium's own line for a refused websocket: the push server is down on purpose.
				if strings.HasPrefix(line, "error: WebSocket connection to ") {
					continue
				}
				assert.False(t, strings.HasPrefix(line, "error:"), "console error: %s", line)
			}
		})
	}
}

// TestDemoSideBySideWithoutTheOfficialClient opens the demo with no official client installed: the
// page works, the switch is disabled, and the card says how to install what it needs; the card's
// events still count for b24pull.
func TestDemoSideBySideWithoutTheOfficialClient(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := demo.Start(demo.Options{Version: 4, Addr: "0", WebDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	page, err := b.NewPage(ctx, srv.URL())
	require.NoError(t, err)
	t.Cleanup(page.Close)
	require.NoError(t, page.WaitFor(ctx, onlineExpr, 10*time.Second), "the page did not go online")

	var card struct {
		Disabled bool   `json:"disabled"`
		Note     string `json:"note"`
	}
	require.NoError(t, page.Eval(ctx, `({
		disabled: document.getElementById('official-toggle').disabled,
		note: document.getElementById('official-note').hidden ? '' : document.getElementById('official-note').textContent,
	})`, &card))
	assert.True(t, card.Disabled, "the switch is disabled")
	assert.Contains(t, card.Note, "scripts/ensure-npm.sh")

	burst(ctx, t, page, 0)
	require.NoError(t, page.WaitFor(ctx, `b24pullDemo.compare.counters().b24pull.received === 10`, 10*time.Second))
	assert.Empty(t, page.Exceptions(), "uncaught exceptions")
}

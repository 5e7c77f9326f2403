//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/standin"
)

const (
	// hiccupEvents is how many events each run publishes once started: half to the page's user, half
	// to the app's shared channel.
	hiccupEvents = 10
	// hiccupStartMax bounds a start through the hiccup: two retries on the page's 50 ms and 200 ms
	// backoff, far below its 15 s startTimeout.
	hiccupStartMax = 5 * time.Second
	// hiccupRejectMax is what "rejects at once" means for a start the portal refuses for good.
	hiccupRejectMax = 2 * time.Second
)

// hiccupRun is what hx.run() returns.
type hiccupRun struct {
	OK              bool     `json:"ok"`
	Code            string   `json:"code"`
	Description     string   `json:"description"`
	IsError         bool     `json:"isError"`
	CreateMS        int64    `json:"createMs"` // createPullClient
	MS              int64    `json:"ms"`       // start()
	Status          string   `json:"status"`
	RetrySubscribed bool     `json:"retrySubscribed"`
	Retries         []any    `json:"retries"`
	Statuses        []string `json:"statuses"`
}

// hiccupCall is one REST call the page's rest option made, as hx.calls() records it.
type hiccupCall struct {
	Method string `json:"method"`
	Status int    `json:"status"`
	JSON   bool   `json:"json"`
}

// TestStartThroughAPortalHiccup is issue 16's "a start survives a portal hiccup", end to end in
// Chromium on push server versions 3, 4 and 5: the first config call of a start answers 500
// INTERNAL_SERVER_ERROR, the second a reverse proxy's 502 HTML page, then the portal is back. With
// the BX24 stand-in, and with a rest function that throws on the HTML page (fetch(...).then((r) =>
// r.json())), start() resolves online after exactly those two failures, the page sees the retries
// when the wrapper reports them, and every event published after the start arrives exactly once. A
// start the portal refuses for good (WRONG_AUTH_TYPE, a webhook token) still rejects at once instead
// of retrying until its timeout. Nothing the page handled that is secret shows in its console.
func TestStartThroughAPortalHiccup(t *testing.T) {
	browser.Require(t)
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	for _, version := range []int{3, 4, 5} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			site := newModuleSite(t)
			srv, err := standin.Start(standin.Options{Version: version, Handler: site})
			require.NoError(t, err)
			site.srv.Store(srv)
			t.Cleanup(func() { assert.NoError(t, srv.Close()) })
			page, err := b.NewPage(ctx, srv.PortalURL()+webdeps.PagesPrefix+"hiccup.html")
			require.NoError(t, err)
			t.Cleanup(page.Close)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("v%d page console:\n  %s", version, strings.Join(page.Console(), "\n  "))
				}
			})
			require.NoError(t, page.WaitFor(ctx, `window.hxReady === true || window.hxError !== undefined`, 15*time.Second))
			var loadErr string
			require.NoError(t, page.Eval(ctx, `window.hxError || ''`, &loadErr))
			require.Empty(t, loadErr, "the page failed to load")

			for _, rest := range []string{"bx24", "fetch"} {
				t.Run(rest, func(t *testing.T) { hiccupStart(ctx, t, page, srv, rest) })
			}
			t.Run("WRONG_AUTH_TYPE", func(t *testing.T) { hiccupRefused(ctx, t, page) })

			var secrets []string
			require.NoError(t, page.Eval(ctx, `hx.secrets()`, &secrets))
			secrets = append(secrets, site.issuedTokens()...)
			secrets = append(secrets, srv.WebhookToken())
			require.NotEmpty(t, secrets)
			for _, line := range page.Console() {
				for _, s := range secrets {
					assert.NotContains(t, line, s, "a secret in the page's console")
				}
			}
			assert.Empty(t, page.Exceptions(), "uncaught exceptions on the page")
		})
	}
}

// hiccupStart runs one start of the page's client with rest ('bx24' or 'fetch') through the hiccup,
// then publishes hiccupEvents events and checks that each arrives once.
func hiccupStart(ctx context.Context, t *testing.T, page *browser.Page, srv *standin.Server, rest string) {
	srv.FailREST("INTERNAL_SERVER_ERROR", 1)
	srv.FailRESTWithPage(http.StatusBadGateway, 1)
	restErrors := srv.Stats().RESTErrors

	runCtx, cancel := context.WithTimeout(ctx, hiccupStartMax)
	defer cancel()
	var res hiccupRun
	require.NoError(t, page.Eval(runCtx, fmt.Sprintf(`hx.run({rest: %q})`, rest), &res))
	t.Logf("start() through the hiccup: %+v", res)
	require.True(t, res.OK, "start() rejected: %s %s", res.Code, res.Description)
	assert.Equal(t, "online", res.Status)
	assert.Less(t, res.MS, hiccupStartMax.Milliseconds())
	assert.NotContains(t, res.Statuses, "offline", "the status stays connect while the start retries")
	require.True(t, res.RetrySubscribed, "subscribe({type: 'retry'}) threw")
	// Events are dispatched in batches: the second may land just after start() resolved.
	require.NoError(t, page.WaitFor(ctx, `hx.retries().length >= 2`, 2*time.Second),
		"a retry event per failed config call, got %v", res.Retries)
	var retries []struct {
		Code    string  `json:"code"`
		RetryIn float64 `json:"retryIn"`
	}
	require.NoError(t, page.Eval(ctx, `hx.retries()`, &retries))
	t.Logf("retry events: %+v", retries)
	assert.Equal(t, "INTERNAL_SERVER_ERROR", retries[0].Code, "the 500 names its Bitrix code")
	for _, r := range retries {
		assert.NotEmpty(t, r.Code)
		assert.Positive(t, r.RetryIn, "each says when the next try comes")
	}

	var calls []hiccupCall
	require.NoError(t, page.Eval(ctx, `hx.calls()`, &calls))
	var configs []hiccupCall
	for _, c := range calls {
		if c.Method == "pull.application.config.get" {
			configs = append(configs, c)
		}
	}
	require.GreaterOrEqual(t, len(configs), 3, "config calls: %+v", calls)
	assert.Equal(t, hiccupCall{"pull.application.config.get", http.StatusInternalServerError, true}, configs[0])
	assert.Equal(t, hiccupCall{"pull.application.config.get", http.StatusBadGateway, false}, configs[1])
	assert.Equal(t, hiccupCall{"pull.application.config.get", http.StatusOK, true}, configs[2])
	assert.Equal(t, int64(2), srv.Stats().RESTErrors-restErrors, "the two injected failures, nothing else")

	require.Eventually(t, func() bool {
		st := srv.Stats()
		return st.ConnectionsOpen+st.LongPollsPending > 0
	}, 5*time.Second, 20*time.Millisecond, "the server never subscribed the client")
	var keys []string
	for i := 1; i <= hiccupEvents; i++ {
		k := fmt.Sprintf("%s-%d", rest, i)
		var users []int
		if i%2 == 0 {
			users = []int{modUser}
		}
		require.NoError(t, srv.Publish(users, "application", "hiccup", json.RawMessage(fmt.Sprintf(`{"k":%q}`, k))))
		keys = append(keys, k)
	}
	list, err := json.Marshal(keys)
	require.NoError(t, err)
	require.NoError(t, page.WaitFor(ctx, `(c => `+string(list)+`.every((k) => c[k] > 0))(hx.counts())`, 10*time.Second),
		"the events published after the start did not all arrive")
	// A moment for a late duplicate to show.
	time.Sleep(300 * time.Millisecond)
	var counts map[string]int
	require.NoError(t, page.Eval(ctx, `hx.counts()`, &counts))
	for _, k := range keys {
		assert.Equal(t, 1, counts[k], "deliveries of %s", k)
	}
	assert.Len(t, counts, len(keys), "only the published events arrive: %v", counts)
	require.NoError(t, page.Eval(ctx, `hx.destroy()`, nil))
}

// hiccupRefused starts a client whose rest function sends the stand-in's webhook token: the portal
// answers WRONG_AUTH_TYPE, which no retry can mend, and start() rejects with it at once.
func hiccupRefused(ctx context.Context, t *testing.T, page *browser.Page) {
	runCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var res hiccupRun
	require.NoError(t, page.Eval(runCtx, `hx.run({rest: 'fetch', session: 'webhook'})`, &res))
	t.Logf("start() with a webhook token: %+v", res)
	assert.False(t, res.OK, "start() with a webhook token resolved")
	assert.True(t, res.IsError, "the rejection is an Error")
	assert.Equal(t, "WRONG_AUTH_TYPE", res.Code)
	assert.Less(t, res.MS, hiccupRejectMax.Milliseconds(), "start() took %d ms to reject", res.MS)
	assert.Equal(t, "offline", res.Status)
	if res.RetrySubscribed {
		assert.Empty(t, res.Retries, "WRONG_AUTH_TYPE is not retried")
	}
	require.NoError(t, page.Eval(ctx, `hx.destroy()`, nil))
}

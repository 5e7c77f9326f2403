//go:build !js

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/b24pull/b24pull/standin"
)

// secCSP is a strict policy: scripts only from the page's origin, WebAssembly compilation allowed,
// no 'unsafe-eval', no inline script, connections only to the page's origin and the push server.
const secCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws://%PUSH% http://%PUSH%; " +
	"img-src data:; style-src 'none'; base-uri 'none'; form-action 'none'"

// secPayloads are message params made to run code if anything evaluated them or inserted them as
// HTML.
var secPayloads = map[string]any{
	"s":     "xss",
	"n":     1,
	"img":   `<img src=x onerror="window.__secPwned='img'">`,
	"html":  `<script>window.__secPwned='script'</script><b id="secInjected">b</b>`,
	"js":    `javascript:window.__secPwned='url'`,
	"tmpl":  "${window.__secPwned='template'}{{constructor.constructor('window.__secPwned=1')()}}",
	"proto": map[string]any{"__proto__": map[string]any{"secPolluted": true}},
}

// TestSecurityPageUnderStrictCSP runs the module under a strict CSP ('wasm-unsafe-eval', no
// 'unsafe-eval') through a start, events carrying script and markup, a drop, a renewal and long
// polling, and checks that: nothing violated the policy; message content was neither evaluated nor
// inserted as HTML; only the config's push URLs and the page's own origin were dialled; nothing was
// written to localStorage, sessionStorage or cookies.
func TestSecurityPageUnderStrictCSP(t *testing.T) {
	b := relBrowser(t, false)
	for _, lp := range []bool{false, true} {
		name := "websocket"
		if lp {
			name = "long-polling"
		}
		t.Run(name, func(t *testing.T) {
			r := relStart(t, b, relOptions{
				standin: standin.Options{Version: 4, ChannelLifetime: 3 * time.Second},
				csp:     secCSP,
				client:  map[string]any{"disableWebSocket": lp},
			})
			var evalAllowed bool
			r.eval(t, `soak.evalAllowed()`, &evalAllowed)
			require.False(t, evalAllowed, "the policy must forbid eval for this test to mean anything")

			r.start(t)
			params, err := json.Marshal(secPayloads)
			require.NoError(t, err)
			require.NoError(t, r.srv.Publish([]int{relUser}, "application", "xss", params))
			require.NoError(t, r.page.WaitFor(r.ctx, `soak.summary().streams.xss !== undefined`, 10*time.Second))
			r.srv.DropConnections()
			require.NoError(t, r.page.WaitFor(r.ctx, `soak.stats().renewals >= 1 && soak.status() === 'online'`, 20*time.Second))

			var page struct {
				Pwned      any      `json:"pwned"`
				Injected   bool     `json:"injected"`
				Images     int      `json:"images"`
				Polluted   bool     `json:"polluted"`
				Violations []string `json:"violations"`
			}
			r.eval(t, `({pwned: window.__secPwned === undefined ? null : window.__secPwned,
				injected: document.getElementById('secInjected') !== null,
				images: document.images.length, polluted: ({}).secPolluted === true,
				violations: soak.violations()})`, &page)
			assert.Nil(t, page.Pwned, "message content ran")
			assert.False(t, page.Injected, "message content was inserted as HTML")
			assert.Zero(t, page.Images)
			assert.False(t, page.Polluted, "__proto__ in params polluted Object.prototype")
			assert.Empty(t, page.Violations, "CSP violations")

			secCheckDialled(t, r)
			secScanRun(t, r)
			assert.Empty(t, r.page.Exceptions())
		})
	}
}

// secCheckDialled checks every URL the page opened: the page's own origin (its REST calls and the
// module's files) and the push server bases of the configs it received, nothing else.
func secCheckDialled(t *testing.T, r *relRun) {
	var configs []string
	r.eval(t, `soak.configs()`, &configs)
	allowed := []string{r.srv.PortalURL() + "/rest/", r.srv.PortalURL() + "/b24pull/"}
	for _, c := range configs {
		s := gjson.Get(c, "server")
		for _, k := range []string{"websocket", "websocket_secure", "long_polling", "long_pooling_secure"} {
			if v := s.Get(k).String(); v != "" {
				allowed = append(allowed, v)
			}
		}
	}
	var dialled []struct {
		Kind string `json:"kind"`
		URL  string `json:"url"`
	}
	r.eval(t, `soak.dialed()`, &dialled)
	require.NotEmpty(t, dialled)
	for _, d := range dialled {
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(d.URL, a) {
				ok = true
				break
			}
		}
		assert.True(t, ok, "%s to a URL outside the config and the page's origin: %.80s", d.Kind, d.URL)
	}
}

//go:build !js

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/b24pull/b24pull/standin"
)

// secHexPart matches the pieces of channel ids worth looking for: raw ids (32 hex) and signatures
// (40 hex).
var secHexPart = regexp.MustCompile(`[0-9a-fA-F]{32,}`)

// secSecrets returns every secret the client was handed: the access token, and from each config the
// page received the channel ids and their parts (private id, public id, signature), the JWT and its
// signature, and clientId.
func secSecrets(t *testing.T, r *relRun) []string {
	var configs []string
	r.eval(t, `soak.configs()`, &configs)
	require.NotEmpty(t, configs, "the page recorded no config")
	seen := map[string]bool{r.token: true}
	for _, c := range configs {
		cfg := gjson.Parse(c)
		for _, key := range []string{"channels.private.id", "channels.shared.id", "channels.private.public_id",
			"channels.shared.public_id", "jwt", "clientId"} {
			v := cfg.Get(key).String()
			if v == "" {
				continue
			}
			seen[v] = true
			for _, part := range secHexPart.FindAllString(v, -1) {
				seen[part] = true
			}
			if key == "jwt" {
				if i := strings.LastIndexByte(v, '.'); i > 0 && len(v)-i > 16 {
					seen[v[i+1:]] = true
				}
			}
		}
		cfg.Get("publicChannels").ForEach(func(_, ch gjson.Result) bool {
			for _, part := range secHexPart.FindAllString(ch.Raw, -1) {
				seen[part] = true
			}
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// secScanRun checks that no secret of the run shows in the page's console (as the page wrote it and
// as the browser logged it), getDebugInfo(), the errors the client rejected with, the stand-in's
// log, or browser storage, and that the module wrote nothing to storage at all.
func secScanRun(t *testing.T, r *relRun) {
	secrets := secSecrets(t, r)
	var debugInfo string
	r.eval(t, `soak.debugInfo()`, &debugInfo)
	var errs []string
	r.eval(t, `soak.errors()`, &errs)
	var storage struct {
		Local   map[string]string `json:"local"`
		Session map[string]string `json:"session"`
		Cookie  string            `json:"cookie"`
	}
	r.eval(t, `soak.storage()`, &storage)
	assert.Empty(t, storage.Local, "localStorage written")
	assert.Empty(t, storage.Session, "sessionStorage written")
	assert.Empty(t, storage.Cookie, "cookies written")

	places := map[string][]string{
		"page console":    r.consoleLines(t),
		"browser console": r.page.Console(),
		"getDebugInfo()":  {debugInfo},
		"rejections":      errs,
		"stand-in log":    r.standinLogs(),
		"page exceptions": r.page.Exceptions(),
		"browser storage": {fmt.Sprint(storage.Local), fmt.Sprint(storage.Session), storage.Cookie},
	}
	scanned := 0
	for where, lines := range places {
		for _, line := range lines {
			scanned++
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("a secret (%d chars, starting %.4s…) shows in the %s: %.300s", len(s), s, where,
						strings.ReplaceAll(line, s, "<SECRET>"))
					break
				}
			}
		}
	}
	assert.Greater(t, len(places["page console"]), 0, "the module logged nothing: the scan would prove nothing")
	t.Logf("secrets scan: %d secrets against %d lines", len(secrets), scanned)
}

// TestSecuritySecretsNeverShow runs the client with debug logging on every version through what
// makes it log the most (renewals, drops, 4010, server_restart, a failing config call) and scans
// everything it and the stand-in wrote for the secrets it was handed.
func TestSecuritySecretsNeverShow(t *testing.T) {
	b := relBrowser(t, false)
	for _, version := range []int{3, 4, 5} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			r := relStart(t, b, relOptions{standin: standin.Options{Version: version, ChannelLifetime: 3 * time.Second}})
			r.start(t)
			r.srv.DropConnections()
			r.srv.CloseConnections(4010, "Wrong Channel Id.")
			r.srv.ServerRestartMessage()
			require.NoError(t, r.srv.ExpireChannelsVariant(standin.ScopeAll, standin.VariantPortal))
			// A channel end passes: the client renews on its own.
			require.NoError(t, r.page.WaitFor(r.ctx, `soak.stats().renewals >= 2 && soak.status() === 'online'`, 20*time.Second))
			require.NoError(t, r.srv.Publish([]int{relUser}, "application", "probe", []byte(`{"s":"user","n":1}`)))
			require.NoError(t, r.page.WaitFor(r.ctx, `soak.summary().streams.user !== undefined`, 10*time.Second))

			r.srv.FailREST("NO_AUTH_FOUND", 1)
			var res relResult
			r.eval(t, `soak.getConfig()`, &res)
			require.False(t, res.OK)
			assert.Equal(t, "NO_AUTH_FOUND", res.Code)
			secScanRun(t, r)
		})
	}
}

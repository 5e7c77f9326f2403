//go:build !js

package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/standin"
)

// badRESTCodes are the REST error codes of docs/protocol.md §2.5 a config call can meet.
var badRESTCodes = []string{
	"WRONG_AUTH_TYPE", "SERVER_ERROR", "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER",
	"QUERY_LIMIT_EXCEEDED", "NO_AUTH_FOUND", "INVALID_REQUEST", "OVERLOAD_LIMIT", "ACCESS_DENIED",
	"INVALID_CREDENTIALS", "insufficient_scope", "expired_token", "user_access_error", "PORTAL_DELETED",
}

// TestBadInputRESTErrorsReachTheCaller: every REST error code of the seed table makes GetConfig fail
// with that code, its description and its HTTP status, never a panic or a hang. Start fails the same
// way for the errors retrying cannot mend; for the transient ones it retries, tells why in a retry
// event, and goes online.
func TestBadInputRESTErrorsReachTheCaller(t *testing.T) {
	srv, err := standin.Start(standin.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	for _, code := range badRESTCodes {
		t.Run(code, func(t *testing.T) {
			status, description, _, known := protocol.KnownRESTError(code)
			require.True(t, known, "the code table knows %s", code)
			rec := newRecorder()
			c := client.New(client.Options{
				REST:     &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(1, false)},
				Timing:   fastTiming(),
				OnEvents: rec.onEvents,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			t.Cleanup(func() { _ = c.Destroy(context.Background()) })

			srv.FailREST(code, 1)
			_, err := c.GetConfig(ctx, false, false)
			requireRESTError(t, err, code, description, status)

			srv.FailREST(code, 1)
			err = c.Start(ctx)
			if _, _, class, _ := protocol.KnownRESTError(code); class == protocol.ClassTransient {
				require.NoError(t, err, "a transient failure is retried")
				assert.Equal(t, "online", c.Status())
				var retry map[string]any
				for _, e := range rec.all() {
					if e["type"] == "retry" {
						retry = e
					}
				}
				require.NotNil(t, retry, "a retry event tells why the start waits")
				assert.Equal(t, code, retry["code"])
				srv.FailREST("", 0)
				return
			}
			requireRESTError(t, err, code, description, status)
			assert.Equal(t, "offline", c.Status())
			assert.Zero(t, c.Stats().Goroutines, "a failed start leaves no goroutine")
			srv.FailREST("", 0)
		})
	}
}

func requireRESTError(t *testing.T, err error, code, description string, status int) {
	t.Helper()
	re, ok := protocol.AsRESTError(err)
	require.True(t, ok, "want a *protocol.RESTError, got %T: %v", err, err)
	assert.Equal(t, code, re.Code)
	assert.Equal(t, description, re.Description)
	assert.Equal(t, status, re.Status)
	assert.Contains(t, err.Error(), code)
}

// TestBadInputConfigs: a config answer that cannot be used makes Start fail at once with an error
// naming the field and what is wrong with it, and no secret of the answer.
func TestBadInputConfigs(t *testing.T) {
	srv, err := standin.Start(standin.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	real := &client.HTTPREST{Base: srv.PortalURL(), Auth: srv.NewToken(1, false)}

	for _, tc := range []struct {
		name   string
		secure bool
		edit   func(t *testing.T, answer string) string
		want   []string // substrings of the error
		is     error
	}{
		{"no channels", false, func(t *testing.T, a string) string { return del(t, a, "result.channels") },
			[]string{"channels"}, protocol.ErrInvalidConfig},
		{"empty channels", false, func(t *testing.T, a string) string { return set(t, a, "result.channels", map[string]any{}) },
			[]string{"channel"}, nil},
		{"bad end date", false, func(t *testing.T, a string) string { return set(t, a, "result.channels.shared.end", "yesterday") },
			[]string{"channels.shared.end"}, protocol.ErrInvalidConfig},
		{"start date of the wrong type", false, func(t *testing.T, a string) string {
			return set(t, a, "result.channels.private.start", []int{1})
		}, []string{"channels.private.start"}, protocol.ErrInvalidConfig},
		{"not JSON", false, func(*testing.T, string) string { return `<html>502 Bad Gateway</html>` },
			[]string{"json"}, nil},
		{"result not an object", false, func(*testing.T, string) string { return `{"result":"ok"}` },
			[]string{"result"}, nil},
		{"version out of range", false, func(t *testing.T, a string) string { return set(t, a, "result.server.version", 0) },
			[]string{"server.version"}, protocol.ErrInvalidConfig},
		{"version of the wrong type", false, func(t *testing.T, a string) string { return set(t, a, "result.server.version", "four") },
			[]string{"server.version"}, protocol.ErrInvalidConfig},
		{"plain ws URL on a secure page", true, func(t *testing.T, a string) string { return a },
			[]string{"server.websocket_secure", "wss://"}, protocol.ErrInsecureURL},
		{"websocket URL with an http scheme", false, func(t *testing.T, a string) string {
			return set(t, a, "result.server.websocket", "http://127.0.0.1:1/bitrix/subws/")
		}, []string{"server.websocket"}, protocol.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var secrets []string
			rest := client.RESTFunc(func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
				answer, err := real.Call(ctx, method, params)
				if err != nil {
					return nil, err
				}
				for _, k := range []string{"result.channels.private.id", "result.channels.shared.id", "result.jwt"} {
					if v := gjsonString(answer, k); v != "" {
						secrets = append(secrets, v)
					}
				}
				return json.RawMessage(tc.edit(t, string(answer))), nil
			})
			c := client.New(client.Options{REST: rest, Secure: tc.secure, Timing: fastTiming()})
			t.Cleanup(func() { _ = c.Destroy(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := c.Start(ctx)
			require.Error(t, err)
			msg := strings.ToLower(err.Error())
			for _, w := range tc.want {
				assert.Contains(t, msg, strings.ToLower(w), "the error names what is wrong")
			}
			if tc.is != nil {
				assert.True(t, errors.Is(err, tc.is), "errors.Is(%v, %v)", err, tc.is)
			}
			for _, s := range secrets {
				assert.NotContains(t, err.Error(), s, "a secret in the error")
			}
			assert.Equal(t, "offline", c.Status())
			assert.Zero(t, srv.Stats().ConnectionsOpen, "nothing was dialled with a bad config")
		})
	}
}

// set replaces the value at a dotted path of a JSON document (the path's parents must exist).
func set(t *testing.T, doc, path string, v any) string {
	return edit(t, doc, path, func(m map[string]any, k string) { m[k] = v })
}

// del removes the value at a dotted path of a JSON document.
func del(t *testing.T, doc, path string) string {
	return edit(t, doc, path, func(m map[string]any, k string) { delete(m, k) })
}

func edit(t *testing.T, doc, path string, change func(map[string]any, string)) string {
	var root map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &root))
	keys := strings.Split(path, ".")
	cur := root
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		require.True(t, ok, "no object at %s", k)
		cur = next
	}
	change(cur, keys[len(keys)-1])
	out, err := json.Marshal(root)
	require.NoError(t, err)
	return string(out)
}

func gjsonString(doc []byte, path string) string {
	var v map[string]any
	if json.Unmarshal(doc, &v) != nil {
		return ""
	}
	cur := any(v)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// TestBadInputFramesKeepTheConnection: garbage, oversized, duplicated and unknown frames never
// panic; garbage is counted and skipped on the live connection, an oversized frame (over the read
// limit) drops the connection, which resumes from the last message id, and nothing is lost.
func TestBadInputFramesKeepTheConnection(t *testing.T) {
	for _, v := range versions {
		t.Run(string(rune('0'+v)), func(t *testing.T) {
			f := setup(t, standin.Options{Version: v}, client.Options{ReadLimit: 64 << 10})
			f.start(t)
			f.srv.SendGarbage()
			f.publish(t, []int{1}, "after_garbage", 1)
			eventually(t, "an event after garbage", func() bool { return f.rec.count("after_garbage", 1) == 1 })
			st := f.c.Stats()
			assert.Positive(t, st.GarbageFrames, "garbage counted")
			assert.Zero(t, st.Reconnects, "garbage does not cost the connection")

			f.srv.SendOversized(1 << 20) // over the 64 KiB read limit
			eventually(t, "back after the oversized frame", func() bool {
				return f.c.Stats().Reconnects >= 1 && f.c.Status() == "online"
			})
			f.publish(t, []int{1}, "after_oversized", 2)
			eventually(t, "an event after the oversized frame", func() bool { return f.rec.count("after_oversized", 2) == 1 })

			f.srv.DuplicateNext(3)
			for n := 3; n <= 5; n++ {
				f.publish(t, nil, "dup", n)
			}
			eventually(t, "duplicated events once", func() bool {
				return f.rec.count("dup", 3) == 1 && f.rec.count("dup", 4) == 1 && f.rec.count("dup", 5) == 1
			})
			eventually(t, "duplicates skipped", func() bool { return f.c.Stats().DuplicatesSkipped >= 3 })
			assert.Equal(t, "online", f.c.Status())
		})
	}
}

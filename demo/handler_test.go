package demo_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b24pull/b24pull/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeJSDir writes a stand-in browser package: the handler tests do not need a real build.
func fakeJSDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"b24pull.mjs": "export {}", "b24pull.wasm": "\x00asm\x01\x00\x00\x00", "b24pull.d.ts": "//",
		"b24pull.js": "//", "browser_test.go": "package js",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

func startDemo(t *testing.T) *demo.Server {
	t.Helper()
	srv, err := demo.Start(demo.Options{Addr: "0", JSDir: fakeJSDir(t), Version: 5})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return srv
}

func get(t *testing.T, method, u, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestIndexModes(t *testing.T) {
	t.Parallel()
	srv := startDemo(t)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, query, contentType, body string
		portal                                 bool
	}{
		{"local GET", http.MethodGet, "", "", "", false},
		{"local POST without AUTH_ID", http.MethodPost, "", form, "x=1", false},
		{"DOMAIN alone is not a frame", http.MethodGet, "?DOMAIN=example.bitrix24.com", "", "", false},
		{"app frame GET", http.MethodGet, "?DOMAIN=example.bitrix24.com&PROTOCOL=1&LANG=en&APP_SID=abc", "", "", true},
		{"app opening POST", http.MethodPost, "?DOMAIN=example.bitrix24.com&APP_SID=abc", form,
			"AUTH_ID=secret&AUTH_EXPIRES=3600&REFRESH_ID=r&member_id=m&status=L", true},
		{"POST with AUTH_ID only", http.MethodPost, "", form, "AUTH_ID=secret", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, tt.method, srv.URL()+tt.query, tt.contentType, tt.body)
			require.Equal(t, http.StatusOK, res.StatusCode)
			csp := res.Header.Get("Content-Security-Policy")
			assert.Contains(t, csp, "script-src 'self' 'wasm-unsafe-eval'")
			assert.NotContains(t, csp, "'unsafe-eval'")
			assert.NotContains(t, csp, "'unsafe-inline'")
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.NotContains(t, body, "secret", "the page must not echo the auth")
			if tt.portal {
				assert.Contains(t, body, `<script src="//api.bitrix24.com/api/v1/"></script>`)
				assert.NotContains(t, body, demo.BX24LocalPath)
				assert.Contains(t, body, `data-mode="portal"`)
				assert.Contains(t, csp, "api.bitrix24.com")
				assert.Contains(t, csp, "connect-src 'self' https: wss:")
			} else {
				assert.Contains(t, body, `<script src="`+demo.BX24LocalPath+`"`)
				assert.NotContains(t, body, "api.bitrix24.com")
				assert.Contains(t, body, `data-mode="local"`)
				push, err := url.Parse(srv.Standin().PushURL())
				require.NoError(t, err)
				assert.Contains(t, csp, "ws://"+push.Host)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	srv := startDemo(t)
	base := strings.TrimSuffix(srv.URL(), "/")
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{http.MethodGet, "/b24pull/b24pull.wasm", http.StatusOK, "application/wasm"},
		{http.MethodGet, "/b24pull/b24pull.mjs", http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodHead, "/b24pull/b24pull.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/b24pull/wasm_exec.js", http.StatusNotFound, ""},
		{http.MethodGet, "/b24pull/browser_test.go", http.StatusNotFound, ""},
		{http.MethodGet, "/b24pull/../go.mod", http.StatusNotFound, ""},
		{http.MethodGet, "/b24pull/", http.StatusNotFound, ""},
		{http.MethodPost, "/b24pull/b24pull.mjs", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/demo/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/demo/compare.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/demo/style.css", http.StatusOK, "text/css; charset=utf-8"},
		{http.MethodGet, demo.BX24LocalPath, http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/demo/icon.svg", http.StatusOK, "image/svg+xml"},
		{http.MethodGet, "/demo/index.html", http.StatusNotFound, ""},
		{http.MethodDelete, "/demo/app.js", http.StatusMethodNotAllowed, ""},
		{http.MethodPut, "/", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/elsewhere", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res, _ := get(t, tt.method, base+tt.path, "", "")
			assert.Equal(t, tt.status, res.StatusCode)
			if tt.contentType != "" {
				assert.Equal(t, tt.contentType, res.Header.Get("Content-Type"))
			}
		})
	}
}

// TestSessionCallsREST checks that the session's token works for the pull REST methods, as
// bx24-local.js uses it, and that every session gets a fresh token.
func TestSessionCallsREST(t *testing.T) {
	t.Parallel()
	srv := startDemo(t)
	base := strings.TrimSuffix(srv.URL(), "/")
	res, body := get(t, http.MethodGet, base+demo.SessionPath, "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	var s demo.Session
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	assert.Equal(t, base, s.Portal)
	assert.Equal(t, 1, s.User)
	assert.True(t, s.Admin)
	assert.Equal(t, 5, s.Version)
	assert.Equal(t, demo.DefaultChannelLifetime.Seconds(), s.Lifetime)
	require.NotEmpty(t, s.Token)

	_, again := get(t, http.MethodGet, base+demo.SessionPath, "", "")
	var s2 demo.Session
	require.NoError(t, json.Unmarshal([]byte(again), &s2))
	assert.NotEqual(t, s.Token, s2.Token, "each session carries a fresh token")

	form := url.Values{"auth": {s.Token}, "COMMAND": {"hello"}, "PARAMS[text]": {"hi"}}
	res, body = get(t, http.MethodPost, s.Portal+"/rest/pull.application.event.add.json",
		"application/x-www-form-urlencoded", form.Encode())
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.JSONEq(t, "true", restResult(t, body))
}

func restResult(t *testing.T, body string) string {
	t.Helper()
	var answer struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &answer))
	return string(answer.Result)
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	js := fakeJSDir(t)
	require.NoError(t, os.Remove(filepath.Join(js, "b24pull.wasm")))
	tests := []struct {
		name string
		opts demo.Options
		is   error
		text string
	}{
		{"package not built", demo.Options{Addr: "0", JSDir: js}, demo.ErrNoJSDir, "build-wasm.sh"},
		{"no such folder", demo.Options{Addr: "0", JSDir: filepath.Join(js, "nope")}, demo.ErrNoJSDir, "build-wasm.sh"},
		{"address without port", demo.Options{Addr: "127.0.0.1", JSDir: fakeJSDir(t)}, nil, "no port"},
		{"not loopback", demo.Options{Addr: "0.0.0.0:0", JSDir: fakeJSDir(t)}, nil, "loopback"},
		{"bad version", demo.Options{Addr: "0", Version: 9, JSDir: fakeJSDir(t)}, nil, "version"},
		{"bad user", demo.Options{Addr: "0", UserID: -1, JSDir: fakeJSDir(t)}, nil, "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := demo.Start(tt.opts)
			if srv != nil {
				assert.NoError(t, srv.Close())
			}
			require.Error(t, err)
			if tt.is != nil {
				assert.True(t, errors.Is(err, tt.is), "%v", err)
			}
			assert.Contains(t, err.Error(), tt.text)
		})
	}
}

func TestAssetsEmbedded(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"index.html", "app.js", "compare.js", "style.css", "bx24-local.js", "icon.svg"} {
		b, err := fsReadFile(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, b, name)
	}
}

func fsReadFile(name string) ([]byte, error) {
	f, err := demo.Assets().Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// TestSessionAsOtherUser checks that a local page opened as another demo user (/?user=N) gets a
// session of N, not an administrator, that only the demo's users are accepted, and that every
// session lists them.
func TestSessionAsOtherUser(t *testing.T) {
	t.Parallel()
	srv := startDemo(t)
	base := strings.TrimSuffix(srv.URL(), "/")

	res, body := get(t, http.MethodGet, base+"/?user=2", "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `data-session="`+demo.SessionPath+`?user=2"`)
	_, body = get(t, http.MethodGet, base+"/", "", "")
	assert.Contains(t, body, `data-session="`+demo.SessionPath+`"`)

	for _, q := range []string{"?user=1", ""} {
		_, body = get(t, http.MethodGet, base+demo.SessionPath+q, "", "")
		var s demo.Session
		require.NoError(t, json.Unmarshal([]byte(body), &s))
		assert.Equal(t, 1, s.User, "session%s", q)
		assert.True(t, s.Admin, "the configured user stays an administrator")
		assert.Equal(t, demo.DemoUsers, s.Users)
	}
	res, body = get(t, http.MethodGet, base+demo.SessionPath+"?user=3", "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var s demo.Session
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	assert.Equal(t, 3, s.User)
	assert.False(t, s.Admin, "another demo user is not an administrator")
	require.NotEmpty(t, s.Token)
	// The token is user 3's: the app config it gets names user 3's public channel.
	form := url.Values{"auth": {s.Token}}
	res, body = get(t, http.MethodPost, s.Portal+"/rest/pull.application.config.get.json",
		"application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var config struct {
		PublicChannels map[string]json.RawMessage `json:"publicChannels"`
	}
	require.NoError(t, json.Unmarshal([]byte(restResult(t, body)), &config))
	assert.Contains(t, config.PublicChannels, "3")
	assert.Len(t, config.PublicChannels, 1)

	for _, q := range []string{"?user=4", "?user=0", "?user=-1", "?user=x", "?user=1e3"} {
		res, _ := get(t, http.MethodGet, base+demo.SessionPath+q, "", "")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "session%s", q)
		res, _ = get(t, http.MethodGet, base+"/"+q, "", "")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "page%s", q)
	}
	// Bitrix24 opening the app ignores the parameter: the portal's own session is used.
	res, body = get(t, http.MethodGet, base+"/?user=x&DOMAIN=example.bitrix24.com&APP_SID=abc", "", "")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, demo.SessionPath)
}

//go:build !js

package standin

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// getFramePage opens the portal page for the raw query and returns the status and body.
func getFramePage(t *testing.T, s *Server, query string) (int, string) {
	t.Helper()
	resp, err := testClient.Get(s.PortalURL() + PortalFramePath + "?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// frameCommandCall posts one command of page sid to /portal/app/command.
func frameCommandCall(t *testing.T, s *Server, body string) (int, gjson.Result) {
	t.Helper()
	resp, err := testClient.Post(s.PortalURL()+PortalFramePath+"/command", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, gjson.ValidBytes(data), "%s", data)
	return resp.StatusCode, gjson.ParseBytes(data)
}

var (
	frameSrcRe  = regexp.MustCompile(`data-src="([^"]*)"`)
	frameNameRe = regexp.MustCompile(`name="([^"]*)"`)
	frameSIDRe  = regexp.MustCompile(`data-sid="([0-9a-f]{32})"`)
)

func TestPortalFramePageRefusesForeignApps(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	for _, app := range []string{
		"",
		"http://example.com/app",
		"https://10.0.0.1/app",
		"http://127.0.0.1.example.com/app",
		"http://localhost.example.com/app",
		"ftp://127.0.0.1/app",
		"javascript:alert(1)",
		"file:///etc/passwd",
		"//127.0.0.1/app",
		"/pages/app.html",
		"http://user:pw@127.0.0.1/app",
		"http://[::2]/app",
		"http://0.0.0.0/app",
	} {
		code, body := getFramePage(t, s, url.Values{"url": {app}}.Encode())
		assert.Equal(t, http.StatusBadRequest, code, "url %q: %s", app, body)
	}
	for _, q := range []string{"user=0", "user=x", "admin=maybe", "lang=../x"} {
		code, body := getFramePage(t, s, q+"&url="+url.QueryEscape("http://127.0.0.1:1/"))
		assert.Equal(t, http.StatusBadRequest, code, "%s: %s", q, body)
	}
	resp, err := testClient.Post(s.PortalURL()+PortalFramePath+"?url=http://127.0.0.1/", "text/plain", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Zero(t, s.PortalFrameStats().Pages)
}

func TestPortalFramePageHostsLoopbackApps(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	portal, err := url.Parse(s.PortalURL())
	require.NoError(t, err)
	for _, app := range []string{
		"http://127.0.0.1:5173/app/?keep=1",
		"https://127.8.9.10/app",
		"http://localhost:3000/",
		"http://LOCALHOST:3000/",
		"http://[::1]:8080/x",
	} {
		code, body := getFramePage(t, s, url.Values{"url": {app}, "lang": {"de"}}.Encode())
		require.Equal(t, http.StatusOK, code, "url %q: %s", app, body)

		m := frameSrcRe.FindStringSubmatch(body)
		require.Len(t, m, 2, "no iframe src in the page")
		src, err := url.Parse(html.UnescapeString(m[1]))
		require.NoError(t, err)
		want, _ := url.Parse(app)
		assert.Equal(t, strings.ToLower(want.Scheme), src.Scheme)
		assert.Equal(t, want.Host, src.Host)
		assert.Equal(t, want.Path, src.Path)
		q := src.Query()
		assert.Equal(t, portal.Host, q.Get("DOMAIN"))
		assert.Equal(t, "0", q.Get("PROTOCOL"))
		assert.Equal(t, "de", q.Get("LANG"))
		assert.Regexp(t, `^[0-9a-f]{32}$`, q.Get("APP_SID"))
		if want.Query().Get("keep") != "" {
			assert.Equal(t, "1", q.Get("keep"), "the app URL's own query is kept")
		}

		sid := frameSIDRe.FindStringSubmatch(body)
		require.Len(t, sid, 2)
		assert.Equal(t, q.Get("APP_SID"), sid[1])
		name := frameNameRe.FindStringSubmatch(body)
		require.Len(t, name, 2)
		assert.Equal(t, portal.Host+"|0|"+sid[1], html.UnescapeString(name[1]))
		assert.Contains(t, body, `<script src="/portal/app/frame.js"></script>`)
	}
	assert.EqualValues(t, 5, s.PortalFrameStats().Pages)

	resp, err := testClient.Get(s.PortalURL() + "/portal/app/frame.js")
	require.NoError(t, err)
	js, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(js), "/portal/app/command")
}

func TestPortalFrameTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	code, body := getFramePage(t, s, "url="+url.QueryEscape("http://127.0.0.1:1/app"))
	require.Equal(t, http.StatusOK, code, body)
	sid := frameSIDRe.FindStringSubmatch(body)[1]

	code, init := frameCommandCall(t, s, `{"sid":"`+sid+`","command":"getInitData","params":""}`)
	require.Equal(t, http.StatusOK, code, init.Raw)
	a := init.Get("answer")
	portal, _ := url.Parse(s.PortalURL())
	assert.Equal(t, portal.Host, a.Get("DOMAIN").String())
	assert.Equal(t, int64(0), a.Get("PROTOCOL").Int())
	assert.Equal(t, "en", a.Get("LANG").String())
	assert.Equal(t, "DEFAULT", a.Get("PLACEMENT").String())
	assert.True(t, a.Get("PLACEMENT_OPTIONS").IsObject())
	assert.False(t, a.Get("IS_ADMIN").Bool())
	assert.False(t, a.Get("FIRST_RUN").Bool())
	assert.False(t, a.Get("INSTALL").Bool())
	assert.EqualValues(t, PortalFrameTokenLifetime, a.Get("AUTH_EXPIRES").Int())
	assert.Regexp(t, `^[0-9a-f]{32}$`, a.Get("MEMBER_ID").String())
	assert.NotEmpty(t, a.Get("REFRESH_ID").String())
	first := a.Get("AUTH_ID").String()
	require.NotEmpty(t, first)

	// The token is an app token of user 7.
	status, ans := rest(t, s, "pull.application.config.get", url.Values{"auth": {first}, "CACHE": {"N"}})
	require.Equal(t, http.StatusOK, status, ans.Raw)
	assert.Equal(t, int64(7), ans.Get("result.publicChannels.7.user_id").Int())

	code, ref := frameCommandCall(t, s, `{"sid":"`+sid+`","command":"refreshAuth","params":""}`)
	require.Equal(t, http.StatusOK, code, ref.Raw)
	second := ref.Get("answer.AUTH_ID").String()
	require.NotEmpty(t, second)
	require.True(t, second != first, "refreshAuth must hand out a new token")
	assert.EqualValues(t, PortalFrameTokenLifetime, ref.Get("answer.AUTH_EXPIRES").Int())
	status, ans = rest(t, s, "pull.application.config.get", url.Values{"auth": {second}})
	require.Equal(t, http.StatusOK, status, ans.Raw)

	toks := s.PortalFrameTokens(sid)
	require.Len(t, toks, 2)
	assert.True(t, toks[0] == first && toks[1] == second, "the page's tokens in order")

	// Options set by the app come back in the next init data; other commands answer null.
	code, opt := frameCommandCall(t, s, `{"sid":"`+sid+`","command":"setAppOption","params":"{\"name\":\"color\",\"value\":\"red\"}"}`)
	require.Equal(t, http.StatusOK, code, opt.Raw)
	assert.Equal(t, gjson.Null, opt.Get("answer").Type)
	code, other := frameCommandCall(t, s, `{"sid":"`+sid+`","command":"setTitle","params":"{\"title\":\"x\"}"}`)
	require.Equal(t, http.StatusOK, code, other.Raw)
	assert.Equal(t, gjson.Null, other.Get("answer").Type)
	_, init = frameCommandCall(t, s, `{"sid":"`+sid+`","command":"getInitData","params":""}`)
	assert.Equal(t, "red", init.Get("answer.APP_OPTIONS.color").String())

	// Expiring the page's tokens: REST answers 401 expired_token, a refresh works again.
	resp, err := testClient.Post(s.PortalURL()+PortalFramePath+"/expire?sid="+sid, "application/json", nil)
	require.NoError(t, err)
	exp, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(exp))
	assert.Equal(t, int64(3), gjson.GetBytes(exp, "expired").Int())
	status, ans = rest(t, s, "pull.application.config.get", url.Values{"auth": {second}})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "expired_token", ans.Get("error").String())
	_, ref = frameCommandCall(t, s, `{"sid":"`+sid+`","command":"refreshAuth","params":""}`)
	status, ans = rest(t, s, "pull.application.config.get", url.Values{"auth": {ref.Get("answer.AUTH_ID").String()}})
	require.Equal(t, http.StatusOK, status, ans.Raw)

	st := s.PortalFrameStats()
	assert.EqualValues(t, 1, st.Pages)
	assert.EqualValues(t, 2, st.InitData)
	assert.EqualValues(t, 2, st.Refreshes)
	assert.EqualValues(t, 4, st.Tokens)
	assert.EqualValues(t, 3, st.Expired)
	assert.EqualValues(t, 1, st.Commands["setTitle"])

	resp, err = testClient.Get(s.PortalURL() + PortalFramePath + "/stats")
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(2), gjson.GetBytes(raw, "refreshes").Int(), "%s", raw)
	assert.Equal(t, int64(2), gjson.GetBytes(raw, "initData").Int())
	assert.Equal(t, int64(1), gjson.GetBytes(raw, "commands.setAppOption").Int())
	assert.NotContains(t, string(raw), first, "stats carry no token")
}

func TestPortalFrameCommandRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	code, _ := frameCommandCall(t, s, `{"sid":"0123456789abcdef0123456789abcdef","command":"getInitData"}`)
	assert.Equal(t, http.StatusNotFound, code, "an unknown page gets no token")
	code, _ = frameCommandCall(t, s, `not json`)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = frameCommandCall(t, s, `{"sid":"x","command":""}`)
	assert.Equal(t, http.StatusBadRequest, code)

	resp, err := testClient.Post(s.PortalURL()+PortalFramePath+"/command", "text/plain", strings.NewReader(`{"sid":"x","command":"getInitData"}`))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "a form post from another origin is refused")
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	resp, err = testClient.Get(s.PortalURL() + PortalFramePath + "/command")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Zero(t, s.PortalFrameStats().Tokens)
}

// TestPortalFrameRESTPreflight checks what a browser needs to let an app on another loopback origin
// call REST the way b24jssdk does: a JSON POST to /rest/<method> without .json, preflighted.
func TestPortalFrameRESTPreflight(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	req, err := http.NewRequest(http.MethodOptions, s.PortalURL()+"/rest/pull.application.config.get?bx24_request_id=1", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://127.0.0.1:5173")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "content-type")

	// The call itself, as b24jssdk's HttpV2 sends it: no .json suffix, telemetry in the query, auth in
	// the JSON body.
	tok := s.NewToken(7, false)
	resp, err = testClient.Post(s.PortalURL()+"/rest/pull.application.config.get?bx24_request_id=1&bx24_sdk_ver=2.2.0&bx24_sdk_type=b24-js-sdk",
		"application/json", strings.NewReader(`{"CACHE":"N","auth":"`+tok+`"}`))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, int64(4), gjson.GetBytes(body, "result.server.version").Int())
}

//go:build !js

package standin

import (
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// standinCall posts to a /standin/ endpoint and returns status and answer.
func standinCall(t *testing.T, s *Server, path, body string) (int, gjson.Result) {
	t.Helper()
	resp, err := testClient.Post(s.PortalURL()+"/standin/"+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	require.True(t, gjson.ValidBytes(data), "%s", data)
	return resp.StatusCode, gjson.ParseBytes(data)
}

func TestFaultEndpoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, body string
		ok         bool
	}{
		{"fault/drop", "", true},
		{"fault/close?code=4029&reason=Too%20many", "", true},
		{"fault/close", `{"code": 4000, "reason": "bye"}`, true},
		{"fault/close?code=x", "", false},
		{"fault/close?code=7000", "", false},
		{"fault/garbage", "", true},
		{"fault/oversized?bytes=1000", "", true},
		{"fault/oversized", "", false},
		{"fault/oversized?bytes=-1", "", false},
		{"fault/duplicate?n=2", "", true},
		{"fault/duplicate?n=0", "", true},
		{"fault/delay?ms=10", "", true},
		{"fault/delay?ms=0", "", true},
		{"fault/delay?ms=-5", "", false},
		{"fault/expire?scope=shared&variant=portal", "", true},
		{"fault/expire", `{"scope": "all"}`, true},
		{"fault/expire?scope=none", "", false},
		{"fault/expire?variant=odd", "", false},
		{"fault/config_expire", "", true},
		{"fault/server_restart", "", true},
		{"fault/fail_rest?code=QUERY_LIMIT_EXCEEDED&times=0", "", true},
		{"fault/fail_rest", "", false},
		{"fault/fail_rest_page", "", true},
		{"fault/fail_rest_page?status=503&times=2", "", true},
		{"fault/fail_rest_page", `{"status": 504, "times": 0}`, true},
		{"fault/fail_rest_page?status=200", "", false},
		{"fault/fail_rest_page?times=x", "", false},
		{"fault/push_configured?on=true", "", true},
		{"fault/push_configured?on=maybe", "", false},
		{"fault/reject4010?on=false", "", true},
		{"fault/restart?seconds=0.05", "", true},
		{"fault/restart?seconds=-1", "", false},
		{"fault/nothing", "", false},
		{"fault/drop", "[not an object]", false},
		{"publish", `{"users": [1], "moduleId": "app", "command": "hi", "params": {"a": 1}}`, true},
		{"publish", `{"command": "bad command"}`, false},
		{"publish", `not json`, false},
		{"token", `{"user": 5, "admin": true}`, true},
		{"token?user=x", "", false},
	} {
		s := startServer(t, Options{}, tuning{})
		status, answer := standinCall(t, s, tc.path, tc.body)
		if tc.ok {
			assert.Equal(t, http.StatusOK, status, "%s %s: %s", tc.path, tc.body, answer.Raw)
		} else {
			assert.Equal(t, http.StatusBadRequest, status, "%s %s: %s", tc.path, tc.body, answer.Raw)
			assert.NotEmpty(t, answer.Get("error").String())
		}
	}
}

func TestFaultEndpointEffects(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	tok := s.NewToken(1, false)

	status, _ := standinCall(t, s, "fault/fail_rest?code=QUERY_LIMIT_EXCEEDED&times=1", "")
	require.Equal(t, http.StatusOK, status)
	code, answer := rest(t, s, "pull.application.config.get", url.Values{"auth": {tok}})
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "QUERY_LIMIT_EXCEEDED", answer.Get("error").String())

	standinCall(t, s, "fault/push_configured?on=false", "")
	code, _ = rest(t, s, "pull.application.config.get", url.Values{"auth": {tok}})
	assert.Equal(t, http.StatusInternalServerError, code)
	standinCall(t, s, "fault/push_configured?on=true", "")

	status, answer = standinCall(t, s, "token", `{"user": 9}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(9), answer.Get("user").Int())
	c := dialReady(t, s, wsURL(s, subQuery(appConfig(t, s, answer.Get("token").String()), nil)))

	standinCall(t, s, "publish", `{"users": [9], "command": "fromHTTP", "params": {"n": 1}}`)
	b := protocol.DecodeText(c.nextData(t).data)
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "application", b.Messages[0].ModuleID)
	assert.Equal(t, "fromHTTP", b.Messages[0].Command)

	standinCall(t, s, "fault/close?code=4011&reason=Couldn%27t%20get%20last%20messages.", "")
	err := c.ended(t)
	assert.Equal(t, websocket.StatusCode(4011), websocket.CloseStatus(err))

	standinCall(t, s, "fault/reject4010?on=true", "")
	cfg := appConfig(t, s, tok)
	q := subQuery(cfg, nil)
	q.Set("CHANNEL_ID", flipLast(q.Get("CHANNEL_ID")))
	bad, _, err := tryDial(wsURL(s, q))
	require.NoError(t, err)
	assert.Equal(t, websocket.StatusCode(4010), websocket.CloseStatus(bad.ended(t)))

	standinCall(t, s, "fault/restart?seconds=0.05", "")
	waitFor(t, "restart counted", func() bool { return s.Stats().Restarts == 1 })
	waitFor(t, "push server back", func() bool { return !s.Stats().PushDown })

	code, _, body := get(t, s.PortalURL()+"/standin/stats")
	require.Equal(t, http.StatusOK, code)
	stats := gjson.ParseBytes(body)
	assert.Equal(t, int64(1), stats.Get("restarts").Int())
	assert.True(t, stats.Get("restCalls").Int() >= 3)
	assert.True(t, stats.Get("handshakesRefused").Int() >= 1)

	code, _, body = get(t, s.PushURL()+"/server-stat/")
	require.Equal(t, http.StatusOK, code)
	assert.True(t, gjson.GetBytes(body, "published").Exists())

	code, _, _ = get(t, s.PortalURL()+"/standin/fault/drop")
	assert.Equal(t, http.StatusMethodNotAllowed, code, "faults need POST")
	code, _ = standinCall(t, s, "elsewhere", "")
	assert.Equal(t, http.StatusNotFound, code)
	req, err := http.NewRequest(http.MethodOptions, s.PortalURL()+"/standin/fault/drop", nil)
	require.NoError(t, err)
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestHandlerServesOtherPaths(t *testing.T) {
	t.Parallel()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "demo page") })
	s := startServer(t, Options{Handler: page}, tuning{})
	status, _, body := get(t, s.PortalURL()+"/demo/")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "demo page", string(body))
	status, _, _ = get(t, s.PortalURL()+"/rest/pull.application.config.get.json")
	assert.Equal(t, http.StatusUnauthorized, status, "REST stays the stand-in's")
}

// TestCloseLeavesNoGoroutines runs alone (not parallel): a stand-in with open websockets and a held
// long poll closes without leaving a goroutine behind.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	testClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	s, err := start(Options{Version: 5, Coalesce: 20 * time.Millisecond}, tuning{rpcPingEvery: 10 * time.Millisecond})
	require.NoError(t, err)
	cfg := appConfig(t, s, s.NewToken(1, false))
	c, _, err := tryDial(wsURL(s, subQuery(cfg, nil)))
	require.NoError(t, err)
	lp := pollAsync(lpURL(s, subQuery(cfg, nil)))
	waitFor(t, "connections up", func() bool {
		st := s.Stats()
		return st.ConnectionsOpen == 1 && st.LongPollsPending == 1
	})
	s.Restart(time.Hour) // a restart pending on Close must end too
	require.NoError(t, s.Close())
	<-c.done
	awaitPoll(t, lp)
	testClient.CloseIdleConnections()
	n, ok := settleGoroutines(before, 5*time.Second)
	assert.True(t, ok, "%d goroutines before, %d after Close", before, n)
}

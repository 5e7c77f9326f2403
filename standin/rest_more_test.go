//go:build !js

package standin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestPublicChannels(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	tok := s.NewToken(7, false)
	cfg := appConfig(t, s, tok)
	_, appPub, _ := rawIDs(cfg)

	status, answer := rest(t, s, "pull.channel.public.list", url.Values{"auth": {tok}, "USERS[]": {"7", "9"}})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	portal7 := answer.Get("result.7")
	assert.Equal(t, cfg.Get("publicChannels.7.public_id").String(), portal7.Get("public_id").String(),
		"without APPLICATION the portal channel, as publicChannels")
	assert.NotEqual(t, appPub, portal7.Get("public_id").String())
	assert.Equal(t, int64(9), answer.Get("result.9.user_id").Int())
	assert.Equal(t, publicSignature(DefaultSignatureKey, answer.Get("result.9.public_id").String()), answer.Get("result.9.signature").String())

	status, answer = rest(t, s, "pull.channel.public.list", url.Values{"auth": {tok}, "USERS": {"[7]"}, "APPLICATION": {"Y"}})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, appPub, answer.Get("result.7.public_id").String(), "APPLICATION=Y names the app channel")

	status, answer = rest(t, s, "pull.channel.public.get", url.Values{"auth": {tok}, "USER_ID": {"7"}, "APPLICATION": {"Y"}})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, appPub, answer.Get("result.public_id").String())

	status, answer = restJSON(t, s, "pull.channel.public.list", map[string]any{"auth": s.WebhookToken(), "users": []int{7}})
	assert.Equal(t, http.StatusOK, status, "a webhook may read portal public ids")
	assert.Equal(t, portal7.Get("public_id").String(), answer.Get("result.7.public_id").String())

	for _, form := range []url.Values{{}, {"USERS": {"abc"}}, {"USERS[]": {"0"}}} {
		form.Set("auth", tok)
		status, answer = rest(t, s, "pull.channel.public.list", form)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "INVALID_FORMAT", answer.Get("error").String())
		assert.Equal(t, "A wrong format for the USERS field is passed", answer.Get("error_description").String())
	}
	status, answer = rest(t, s, "pull.channel.public.get", url.Values{"auth": {tok}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "INVALID_FORMAT", answer.Get("error").String())
}

func TestWatchExtendAndPushAdd(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	tok := s.NewToken(7, false)
	status, answer := rest(t, s, "pull.watch.extend", url.Values{"auth": {tok}, "tags[]": {"TASK_1", "IM_2"}})
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"TASK_1":true,"IM_2":true}`, answer.Get("result").Raw)
	_, answer = rest(t, s, "pull.watch.extend", url.Values{"auth": {tok}})
	assert.Equal(t, "false", answer.Get("result").Raw, "empty list")
	_, answer = rest(t, s, "pull.watch.extend", url.Values{"auth": {s.NewToken(0, false)}, "TAGS": {`["A"]`}})
	assert.Equal(t, "false", answer.Get("result").Raw, "user 0")

	status, answer = rest(t, s, "pull.application.push.add", url.Values{"auth": {tok}, "USER_ID": {"7"}, "TEXT": {"hi"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "ACCESS_ERROR", answer.Get("error").String())
	admin := s.NewToken(1, true)
	status, answer = rest(t, s, "pull.application.push.add", url.Values{"auth": {admin}, "USER_ID": {"7"}, "TEXT": {" "}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "TEXT_ERROR", answer.Get("error").String())
	status, answer = rest(t, s, "pull.application.push.add", url.Values{"auth": {admin}, "USER_ID": {"7"}, "TEXT": {"hi"}})
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, answer.Get("result").Bool())
	assert.Equal(t, int64(1), s.Stats().PushNotifications)
}

func TestPortalConfigForWebhook(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	status, answer := rest(t, s, "pull.config.get", url.Values{"auth": {s.WebhookToken()}})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	cfg := answer.Get("result")
	_, pub, _ := rawIDs(cfg)
	assert.Equal(t, cfg.Get("publicChannels.1.public_id").String(), pub, "pull.config.get hands out the portal channel")
	app := appConfig(t, s, s.NewToken(1, false))
	assert.NotEqual(t, app.Get("channels.shared.id").String(), cfg.Get("channels.shared.id").String())
}

func TestRESTTransportForms(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	tok := s.NewToken(2, false)

	status, _, body := get(t, s.PortalURL()+"/rest/pull.application.config.get?auth="+tok+"&CACHE=N")
	assert.Equal(t, http.StatusOK, status, "GET with query")
	assert.Contains(t, string(body), `"result":{"server":`)

	status, _, _ = get(t, s.PortalURL()+"/rest/pull.application.config.get.json?auth="+tok)
	assert.Equal(t, http.StatusOK, status)

	status, _, body = get(t, s.PortalURL()+"/rest/1/"+s.WebhookToken()+"/pull.config.get.json")
	assert.Equal(t, http.StatusOK, status, "webhook URL form: %s", body)

	req, err := http.NewRequest(http.MethodOptions, s.PortalURL()+"/rest/pull.application.config.get.json", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://elsewhere.test")
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")

	resp, err = testClient.Post(s.PortalURL()+"/rest/pull.application.config.get.json", "application/json", strings.NewReader("{bad"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))

	status, _, _ = get(t, s.PortalURL()+"/elsewhere")
	assert.Equal(t, http.StatusNotFound, status, "no Handler: 404")
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{Version: 2}, {Version: 6}, {Mode: "cloud"}, {Version: 3, Mode: ModeShared}, {Coalesce: -1},
		{PortalAddr: "0.0.0.0:0"}, {PushAddr: ":0"}, {PushAddr: "10.1.2.3:0"}, {PortalAddr: "nonsense"},
	} {
		_, err := Start(o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := Start(Options{PortalAddr: "192.168.0.1:0"})
	assert.ErrorIs(t, err, ErrNotLoopback)
	s, err := Start(Options{PortalAddr: "localhost:0", PushAddr: "[::1]:0"})
	if err == nil {
		assert.True(t, strings.HasPrefix(s.PushURL(), "http://[::1]:"))
		assert.NoError(t, s.Close())
		assert.NoError(t, s.Close(), "second Close is a no-op")
	}
}

func TestLastSeenREST(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	connected(t, s, 4, nil)
	gone, _ := connected(t, s, 6, nil)
	require.NoError(t, gone.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "user 6 gone", func() bool { return s.Stats().ConnectionsOpen == 1 })
	auth := s.NewToken(4, false)

	// Form-encoded, and as the official client sends it: JSON, userIds plus sendToQueueSever.
	status, answer := rest(t, s, "pull.api.user.getLastSeen", url.Values{"auth": {auth}, "userIds[]": {"4", "5"}})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	assert.JSONEq(t, `{"4":0}`, answer.Get("result").Raw, "user 5 was never seen")
	status, answer = restJSON(t, s, "pull.api.user.getLastSeen", map[string]any{
		"auth": auth, "userIds": []int{4, 6}, "sendToQueueSever": true,
	})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	assert.Equal(t, int64(0), answer.Get("result.4").Int())
	assert.True(t, answer.Get("result.6").Exists(), "user 6 was seen: %s", answer.Raw)
	status, answer = restJSON(t, s, "pull.api.user.getLastSeen", map[string]any{"auth": auth, "userIds": "[4]"})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	assert.JSONEq(t, `{"4":0}`, answer.Get("result").Raw, "a JSON string holding the list")

	// The controller's errors: numeric codes, HTTP 400.
	for _, tc := range []struct {
		name   string
		params map[string]any
		code   int64
		text   string
	}{
		{"missing", map[string]any{}, 100, "Could not find value for parameter {userIds}"},
		{"another spelling", map[string]any{"USER_IDS": []int{4}}, 100, "Could not find value for parameter {userIds}"},
		{"null", map[string]any{"userIds": nil}, 100, "Could not find value for parameter {userIds}"},
		{"a number", map[string]any{"userIds": 4}, 100, "Invalid value {4} to match with parameter {userIds}. Should be value of type array."},
		{"a string", map[string]any{"userIds": "four"}, 100, "Invalid value {four} to match with parameter {userIds}. Should be value of type array."},
		{"empty", map[string]any{"userIds": []int{}}, 0, "userIds should not be empty"},
	} {
		tc.params["auth"] = auth
		status, answer := restJSON(t, s, "pull.api.user.getLastSeen", tc.params)
		assert.Equal(t, http.StatusBadRequest, status, tc.name)
		assert.Equal(t, gjson.Number, answer.Get("error").Type, "%s: %s", tc.name, answer.Raw)
		assert.Equal(t, tc.code, answer.Get("error").Int(), tc.name)
		assert.Equal(t, tc.text, answer.Get("error_description").String(), tc.name)
	}
}

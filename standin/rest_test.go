//go:build !js

package standin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestConfigByVersionAndMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version int
		mode    string
	}{{3, ModePersonal}, {4, ModePersonal}, {4, ModeShared}, {5, ModePersonal}, {5, ModeShared}} {
		t.Run(itoa(tc.version)+tc.mode, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: tc.version, Mode: tc.mode}, tuning{})
			cfg := appConfig(t, s, s.NewToken(7, false))
			key := DefaultSignatureKey
			push := strings.TrimPrefix(s.PushURL(), "http://")

			assert.Equal(t, int64(tc.version), cfg.Get("server.version").Int())
			assert.Equal(t, tc.mode, cfg.Get("server.mode").String())
			assert.True(t, cfg.Get("server.server_enabled").Bool())
			assert.True(t, cfg.Get("server.websocket_enabled").Bool())
			assert.Equal(t, tc.version > 3, cfg.Get("server.publish_enabled").Bool())
			wsPath, lpPath := "/bitrix/subws/", "/bitrix/sub/"
			if tc.mode == ModeShared {
				wsPath, lpPath = "/subws/", "/subws/"
			}
			assert.Equal(t, "ws://"+push+wsPath, cfg.Get("server.websocket").String())
			assert.Equal(t, "ws://"+push+wsPath, cfg.Get("server.websocket_secure").String())
			assert.Equal(t, "http://"+push+lpPath, cfg.Get("server.long_polling").String())
			assert.Equal(t, "http://"+push+lpPath, cfg.Get("server.long_pooling_secure").String())
			assert.True(t, cfg.Get("server.config_timestamp").Exists())
			assert.Equal(t, int64(19), cfg.Get("api.revision_web").Int())
			assert.Equal(t, int64(3), cfg.Get("api.revision_mobile").Int())
			_, err := time.Parse(time.RFC3339, cfg.Get("serverTime").String())
			assert.NoError(t, err)

			shared := cfg.Get("channels.shared")
			id, sig, _ := strings.Cut(shared.Get("id").String(), ".")
			assert.Len(t, id, 32)
			assert.Equal(t, sign(key, id), sig)
			assert.Equal(t, "shared", shared.Get("type").String())
			start, err := time.Parse(time.RFC3339, shared.Get("start").String())
			require.NoError(t, err)
			end, err := time.Parse(time.RFC3339, shared.Get("end").String())
			require.NoError(t, err)
			assert.Equal(t, DefaultChannelLifetime, end.Sub(start))

			private := cfg.Get("channels.private")
			switch tc.version {
			case 3:
				pid, psig, _ := strings.Cut(private.Get("id").String(), ".")
				assert.Len(t, pid, 32, "v3 private id has no public part")
				assert.Equal(t, sign(key, pid), psig)
				assert.Equal(t, "false", cfg.Get("publicChannels").Raw)
			case 4:
				pid, psig, _ := strings.Cut(private.Get("id").String(), ".")
				assert.Regexp(t, `^[a-f0-9]{32}:[a-f0-9]{32}$`, pid)
				assert.Equal(t, sign(key, pid), psig)
				pub, pubSig, _ := strings.Cut(private.Get("public_id").String(), ".")
				assert.Equal(t, strings.Split(pid, ":")[1], pub)
				assert.Equal(t, publicSignature(key, pub), pubSig)
				assert.Equal(t, "private", private.Get("type").String())
			case 5:
				assert.False(t, private.Exists(), "no private channel from version 5 on")
				claims, err := decodeJWT(cfg.Get("jwt").String(), key, time.Now())
				require.NoError(t, err)
				assert.Equal(t, "7", claims.Sub)
				assert.Equal(t, id, claims.Chan)
				assert.Equal(t, claims.Iat+43200, claims.Exp)
				assert.Equal(t, claims.Exp, cfg.Get("exp").Int())
			}
			if tc.version >= 4 {
				pc := cfg.Get("publicChannels.7")
				assert.Equal(t, int64(7), pc.Get("user_id").Int())
				assert.Equal(t, publicSignature(key, pc.Get("public_id").String()), pc.Get("signature").String())
			}
			assert.Equal(t, tc.mode == ModeShared, cfg.Get("clientId").Exists())
			assert.Equal(t, tc.version >= 5, cfg.Get("jwt").Exists())
		})
	}
}

func TestConfigChannelsRotateOnlyAfterLifetime(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(time.Unix(1795489200, 0))
	s := startServer(t, Options{ChannelLifetime: time.Minute}, tuning{now: clock.Now})
	tok := s.NewToken(3, false)
	first := appConfig(t, s, tok)
	clock.Add(time.Minute)
	again := appConfig(t, s, tok)
	assert.Equal(t, first.Get("channels").Raw, again.Get("channels").Raw, "start + lifetime == now: same row")
	clock.Add(time.Second)
	rotated := appConfig(t, s, tok)
	assert.NotEqual(t, first.Get("channels.private.id").String(), rotated.Get("channels.private.id").String())
	assert.NotEqual(t, first.Get("channels.shared.id").String(), rotated.Get("channels.shared.id").String())
	assert.Equal(t, int64(3), s.Stats().Rotations, "app private, app shared and the portal channel of publicChannels")
}

func TestRESTAuthErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	expired := s.NewToken(1, true)
	s.ExpireToken(expired)
	s.ExpireToken("unknown token is ignored")
	hook := s.WebhookToken()
	for _, tc := range []struct {
		name, method, token string
		form                url.Values
		status              int
		code, description   string
	}{
		{"unknown token", "pull.application.config.get", "nope", nil, 401, "NO_AUTH_FOUND", "Wrong authorization data"},
		{"no token", "pull.application.config.get", "", nil, 401, "NO_AUTH_FOUND", "Wrong authorization data"},
		{"expired token", "pull.application.config.get", expired, nil, 401, "expired_token", "The access token provided has expired."},
		{"webhook config", "pull.application.config.get", hook, nil, 403, "WRONG_AUTH_TYPE", textAppConfigOnly},
		{"webhook event", "pull.application.event.add", hook, url.Values{"COMMAND": {"x"}}, 403, "WRONG_AUTH_TYPE", textAppConfigOnly},
		{"webhook push", "pull.application.push.add", hook, url.Values{"TEXT": {"x"}}, 403, "WRONG_AUTH_TYPE", textPushAppOnly},
		{"webhook app public list", "pull.channel.public.list", hook, url.Values{"USERS[]": {"1"}, "APPLICATION": {"Y"}}, 400, "WRONG_AUTH_TYPE", textPublicAppOnly},
		{"webhook app public get", "pull.channel.public.get", hook, url.Values{"USER_ID": {"1"}, "APPLICATION": {"Y"}}, 400, "WRONG_AUTH_TYPE", textPublicAppOnly},
		{"oauth portal config", "pull.config.get", s.NewToken(1, false), nil, 403, "WRONG_AUTH_TYPE", textOAuthNotAllowed},
		{"unknown method", "pull.nothing", "nope", nil, 404, "ERROR_METHOD_NOT_FOUND", "Method not found!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if tc.token != "" {
				form.Set("auth", tc.token)
			}
			status, answer := rest(t, s, tc.method, form)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, answer.Get("error").String())
			assert.Equal(t, tc.description, answer.Get("error_description").String())
			assert.False(t, answer.Get("result").Exists())
		})
	}
}

func TestEventAddValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	user := s.NewToken(577, false)
	admin := s.NewToken(1, true)
	for _, tc := range []struct {
		name   string
		token  string
		form   url.Values
		json   map[string]any
		status int
		code   string
	}{
		{"user to shared", user, url.Values{"COMMAND": {"demo"}}, nil, 200, ""},
		{"user to self as string", user, url.Values{"COMMAND": {"demo"}, "USER_ID": {"577"}}, nil, 200, ""},
		{"user to self as number", user, nil, map[string]any{"COMMAND": "demo", "USER_ID": 577}, 400, "USER_ID_ACCESS_ERROR"},
		{"user to self as array", user, url.Values{"COMMAND": {"demo"}, "USER_ID[]": {"577"}}, nil, 400, "USER_ID_ACCESS_ERROR"},
		{"user to other", user, url.Values{"COMMAND": {"demo"}, "USER_ID": {"578"}}, nil, 400, "USER_ID_ACCESS_ERROR"},
		{"admin to others", admin, url.Values{"COMMAND": {"demo"}, "USER_ID[]": {"5", "6", "0", "-1"}}, nil, 200, ""},
		{"admin as JSON string", admin, url.Values{"COMMAND": {"demo"}, "USER_ID": {"[5,6]"}}, nil, 200, ""},
		{"module with capitals", user, url.Values{"COMMAND": {"demo"}, "MODULE_ID": {"App"}}, nil, 400, "MODULE_ID_ERROR"},
		{"module with dash", user, url.Values{"COMMAND": {"demo"}, "MODULE_ID": {"my-app"}}, nil, 400, "MODULE_ID_ERROR"},
		{"module fine", user, url.Values{"COMMAND": {"demo"}, "MODULE_ID": {"my_app.v2"}}, nil, 200, ""},
		{"no command", user, url.Values{}, nil, 400, "COMMAND_ERROR"},
		{"empty command", user, url.Values{"COMMAND": {""}}, nil, 400, "COMMAND_ERROR"},
		{"command with space", user, url.Values{"COMMAND": {"a b"}}, nil, 400, "COMMAND_ERROR"},
		{"command punctuation", user, url.Values{"COMMAND": {"a:b|c.d-e_f9"}}, nil, 200, ""},
		{"params scalar", user, url.Values{"COMMAND": {"x"}, "PARAMS": {"7"}}, nil, 400, "PARAMS_ERROR"},
		{"params bad JSON", user, url.Values{"COMMAND": {"x"}, "PARAMS": {"{bad"}}, nil, 400, "PARAMS_ERROR"},
		{"params JSON string", user, url.Values{"COMMAND": {"x"}, "PARAMS": {`{"n":7}`}}, nil, 200, ""},
		{"params brackets", user, url.Values{"COMMAND": {"x"}, "PARAMS[n]": {"7"}}, nil, 200, ""},
		{"params JSON body", user, nil, map[string]any{"COMMAND": "x", "PARAMS": map[string]any{"n": 7}}, 200, ""},
		{"params JSON body scalar", user, nil, map[string]any{"COMMAND": "x", "PARAMS": "str"}, 400, "PARAMS_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var answer gjson.Result
			if tc.json != nil {
				tc.json["auth"] = tc.token
				status, answer = restJSON(t, s, "pull.application.event.add", tc.json)
			} else {
				tc.form.Set("auth", tc.token)
				status, answer = rest(t, s, "pull.application.event.add", tc.form)
			}
			assert.Equal(t, tc.status, status, answer.Raw)
			if tc.code == "" {
				assert.True(t, answer.Get("result").Bool())
				assert.True(t, answer.Get("time.date_start").Exists())
			} else {
				assert.Equal(t, tc.code, answer.Get("error").String())
				assert.NotEmpty(t, answer.Get("error_description").String())
			}
		})
	}
}

func TestFailRESTAndPushConfigured(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	tok := s.NewToken(1, false)
	form := url.Values{"auth": {tok}}

	s.FailREST("QUERY_LIMIT_EXCEEDED", 2)
	for i := 0; i < 2; i++ {
		status, answer := rest(t, s, "pull.application.config.get", form)
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, "QUERY_LIMIT_EXCEEDED", answer.Get("error").String())
		assert.Equal(t, "Too many requests", answer.Get("error_description").String())
	}
	status, _ := rest(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusOK, status)

	s.FailREST("expired_token", 1)
	status, answer := rest(t, s, "pull.application.event.add", form)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "expired_token", answer.Get("error").String())

	s.FailREST("SOMETHING_ODD", 1)
	status, answer = rest(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "SOMETHING_ODD", answer.Get("error").String())

	s.SetPushConfigured(false)
	for _, method := range []string{"pull.application.config.get", "pull.application.event.add", "pull.channel.public.list", "pull.watch.extend"} {
		status, answer := rest(t, s, method, url.Values{"auth": {tok}, "COMMAND": {"x"}, "USERS[]": {"1"}})
		assert.Equal(t, http.StatusInternalServerError, status, method)
		assert.Equal(t, "SERVER_ERROR", answer.Get("error").String(), method)
		assert.Equal(t, "Push & Pull server is not configured", answer.Get("error_description").String(), method)
	}
	s.SetPushConfigured(true)
	status, _ = rest(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(8), s.Stats().RESTErrors, "2 limits, 1 expired, 1 odd, 4 not configured")
}

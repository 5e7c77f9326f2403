//go:build !js

package standin

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// systemMessage reads the next frame of a text connection and returns its only message.
func systemMessage(t *testing.T, c *wsClient) protocol.Message {
	t.Helper()
	b := protocol.DecodeText(c.nextData(t).data)
	require.Len(t, b.Messages, 1)
	return b.Messages[0]
}

func TestExpireChannels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scope, variant string
		check          func(t *testing.T, old, fresh gjson.Result, params gjson.Result)
	}{
		{ScopePrivate, VariantApp, func(t *testing.T, old, fresh, p gjson.Result) {
			assert.Equal(t, "reconnect", p.Get("action").String())
			assert.Equal(t, old.Get("channels.private.id").String(), p.Get("channel.id").String())
			assert.Equal(t, DefaultAppClientID, p.Get("channel.type").String())
			assert.False(t, p.Get("new_channel").Exists(), "app private channels get no new_channel")
		}},
		{ScopeShared, VariantApp, func(t *testing.T, old, fresh, p gjson.Result) {
			assert.Equal(t, "reconnect", p.Get("action").String())
			assert.Equal(t, old.Get("channels.shared.id").String(), p.Get("channel.id").String())
			assert.Equal(t, DefaultAppClientID, p.Get("channel.type").String())
			assert.Equal(t, fresh.Get("channels.shared.id").String(), p.Get("new_channel.id").String())
			assert.Equal(t, DefaultAppClientID, p.Get("new_channel.type").String())
			assert.Equal(t, fresh.Get("channels.shared.end").String(), p.Get("new_channel.end").String())
		}},
		{ScopePrivate, VariantPortal, func(t *testing.T, old, fresh, p gjson.Result) {
			assert.Equal(t, "get_config", p.Get("action").String())
			assert.Equal(t, "private", p.Get("channel.type").String())
			assert.False(t, p.Get("new_channel").Exists())
		}},
		{ScopeShared, VariantPortal, func(t *testing.T, old, fresh, p gjson.Result) {
			assert.Equal(t, "reconnect", p.Get("action").String())
			assert.Equal(t, "shared", p.Get("channel.type").String())
			assert.Equal(t, "shared", p.Get("new_channel.type").String())
			assert.Equal(t, fresh.Get("channels.shared.id").String(), p.Get("new_channel.id").String())
		}},
	} {
		t.Run(tc.scope+"/"+tc.variant, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{}, tuning{})
			tok := s.NewToken(1, false)
			c, old := connected(t, s, 1, nil)
			require.NoError(t, s.ExpireChannelsVariant(tc.scope, tc.variant))
			m := systemMessage(t, c)
			assert.Equal(t, "pull", m.ModuleID)
			assert.Equal(t, "channel_expire", m.Command)
			assert.Equal(t, int64(19), gjson.GetBytes(m.Extra, "revision_web").Int())
			fresh := appConfig(t, s, tok)
			tc.check(t, old, fresh, gjson.ParseBytes(m.Params))

			// The old ids are refused at the handshake and by long polling; the new ones work.
			_, resp, err := tryDial(wsURL(s, subQuery(old, nil)))
			require.Error(t, err)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			status, _, body := get(t, lpURL(s, subQuery(old, nil)))
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "4010: Wrong Channel Id.", string(body))
			dial(t, wsURL(s, subQuery(fresh, url.Values{"mid": {m.MID}})))
		})
	}
	s := startServer(t, Options{}, tuning{})
	assert.Error(t, s.ExpireChannelsVariant("everything", VariantApp))
	assert.Error(t, s.ExpireChannelsVariant(ScopeAll, "odd"))
	s.ExpireChannels(ScopeAll) // nothing issued yet: creates the shared channel, no panic
}

func TestLifetimeRotationOnPublish(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(time.Now())
	s := startServer(t, Options{ChannelLifetime: 10 * time.Second}, tuning{now: clock.Now})
	c, old := connected(t, s, 1, nil)
	clock.Add(11 * time.Second)

	require.NoError(t, s.Publish([]int{1}, "", "afterExpiry", nil))
	m := systemMessage(t, c)
	assert.Equal(t, "channel_expire", m.Command, "the old channel hears channel_expire, not the event")
	assert.Equal(t, old.Get("channels.private.id").String(), gjson.GetBytes(m.Params, "channel.id").String())
	c.quiet(t, 30*time.Millisecond)

	fresh := appConfig(t, s, s.NewToken(1, false))
	assert.NotEqual(t, old.Get("channels.private.id").String(), fresh.Get("channels.private.id").String())
	again := dial(t, wsURL(s, subQuery(fresh, url.Values{"mid": {m.MID}})))
	b := protocol.DecodeText(again.nextData(t).data)
	var cmds []string
	for _, m := range b.Messages {
		cmds = append(cmds, m.Command)
	}
	assert.Contains(t, cmds, "afterExpiry", "the event went to the new channel")
}

func TestSystemCommands(t *testing.T) {
	t.Parallel()
	for _, version := range []int{4, 5} {
		t.Run(itoa(version), func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Options{Version: version}, tuning{})
			mode := modeOf(version, nil)
			c, cfg := connected(t, s, 1, nil)
			stamp := cfg.Get("server.config_timestamp").Int()

			s.ConfigExpire()
			b := decode(t, mode, c.nextData(t))
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "pull", b.Messages[0].ModuleID)
			assert.Equal(t, "config_expire", b.Messages[0].Command)
			assert.JSONEq(t, `{}`, string(b.Messages[0].Params))
			assert.Greater(t, appConfig(t, s, s.NewToken(1, false)).Get("server.config_timestamp").Int(), stamp)

			s.ServerRestartMessage()
			b = decode(t, mode, c.nextData(t))
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "server_restart", b.Messages[0].Command)

			if version == 5 {
				// Rotating the shared channel retires the JWT's chan: the old token is refused.
				s.ExpireChannels(ScopeShared)
				b = decode(t, mode, c.nextData(t))
				require.Len(t, b.Messages, 1)
				assert.Equal(t, "channel_expire", b.Messages[0].Command)
				_, resp, err := tryDial(wsURL(s, subQuery(cfg, nil)))
				require.Error(t, err)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
				s.ExpireChannels(ScopePrivate)
				b = decode(t, mode, c.nextData(t))
				require.Len(t, b.Messages, 1, "v5: the user target hears the private rotation")
			}
		})
	}
}

func TestJWTExpiryRefused(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(time.Now())
	s := startServer(t, Options{Version: 5, ChannelLifetime: time.Minute}, tuning{now: clock.Now})
	cfg := appConfig(t, s, s.NewToken(1, false))
	assert.Equal(t, clock.Now().Add(55*time.Second).Unix(), cfg.Get("exp").Int())
	clock.Add(56 * time.Second)
	_, resp, err := tryDial(wsURL(s, subQuery(cfg, nil)))
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "expired token refused at the handshake")
}

func TestTokenLifetimeOption(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(time.Now())
	s := startServer(t, Options{Version: 5, ChannelLifetime: 2 * time.Second, TokenLifetime: 10 * time.Second}, tuning{now: clock.Now})
	cfg := appConfig(t, s, s.NewToken(1, false))
	assert.Equal(t, clock.Now().Add(10*time.Second).Unix(), cfg.Get("exp").Int(), "the token outlives the channel")
	clock.Add(5 * time.Second)
	dial(t, wsURL(s, subQuery(cfg, nil))) // a token within its lifetime is accepted
	clock.Add(6 * time.Second)
	_, resp, err := tryDial(wsURL(s, subQuery(cfg, nil)))
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "expired token refused at the handshake")
}

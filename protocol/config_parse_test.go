package protocol

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// Ids and signatures of the fixtures (docs/protocol.md §2.3, §3.2 test vectors, key demo-signature-key).
const (
	testPrivateID   = "a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562"
	testPrivateV3ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90.9803993d09261023ded417a4f054ab294318606a"
	testPublicID    = "0f1e2d3c4b5a69788796a5b4c3d2e1f0.38cdc8da33eb1639e59ace48b468e17fe48b8746"
	testSharedID    = "5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
	testJWT         = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJrMnY5eDBxN200bjFiOGM1ejNsNncwZTJyNHQ3eTl1MSIsImlhdCI6MTc0NzIwNzgwMCwiZXhwIjoxNzQ3MjUxMDAwLCJzdWIiOiI3IiwiY2hhbiI6IjVkNDE0MDJhYmM0YjJhNzZiOTcxOWQ5MTEwMTdjNTkyIn0.4-Ia7oAJTYG_RN2VGoTHhSyQW5FXwaecvOE7RqnIsAY"
	testClientID    = "b24licence0c0de1234"
)

// testNow is 42.5 s after the fixtures' serverTime (2025-05-14T09:30:00+02:00).
var testNow = time.Date(2025, 5, 14, 7, 30, 42, 500_000_000, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "config", name))
	require.NoError(t, err)
	return b
}

func mustParse(t testing.TB, name string) *Config {
	t.Helper()
	c, err := ParseConfig(readFixture(t, name), testNow)
	require.NoError(t, err)
	return c
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return tm
}

func TestParseConfigSpecExample(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	start := mustTime(t, "2025-05-14T09:30:00+02:00")
	end := mustTime(t, "2025-05-14T21:30:05+02:00")
	want := Server{
		Version: 4, ServerEnabled: true, Mode: "personal",
		LongPolling:       "http://portal.example.test/bitrix/sub/",
		LongPollingSecure: "https://portal.example.test/bitrix/sub/",
		WebSocketEnabled:  true,
		WebSocket:         "ws://portal.example.test/bitrix/subws/",
		WebSocketSecure:   "wss://portal.example.test/bitrix/subws/",
		PublishEnabled:    true,
		Publish:           "http://portal.example.test/bitrix/pubweb/",
		PublishSecure:     "https://portal.example.test/bitrix/pubweb/",
		ConfigTimestamp:   1747000000,
	}
	assert.Equal(t, want, c.Server)
	assert.Equal(t, API{RevisionWeb: 19, RevisionMobile: 3}, c.API)
	require.NotNil(t, c.Channels.Private)
	require.NotNil(t, c.Channels.Shared)
	assert.Equal(t, testPrivateID, c.Channels.Private.ID)
	assert.Equal(t, testPublicID, c.Channels.Private.PublicID)
	assert.Equal(t, "private", c.Channels.Private.Type)
	assert.True(t, start.Equal(c.Channels.Private.Start))
	assert.True(t, end.Equal(c.Channels.Private.End))
	assert.Equal(t, testSharedID, c.Channels.Shared.ID)
	assert.Empty(t, c.Channels.Shared.PublicID)
	assert.Equal(t, "shared", c.Channels.Shared.Type)
	assert.True(t, end.Equal(c.Channels.Shared.End))
	require.Len(t, c.PublicChannels, 1)
	pc := c.PublicChannels["7"]
	assert.Equal(t, 7, pc.UserID)
	assert.Equal(t, "9e107d9d372bb6826bd81d3542a419d6", pc.PublicID)
	assert.Equal(t, "5556aaa079ea8105050d4d68b5f921968c8e53a2", pc.Signature)
	assert.True(t, start.Equal(pc.Start))
	assert.True(t, end.Equal(pc.End))
	assert.Empty(t, c.ClientID)
	assert.Empty(t, c.JWT)
	assert.Zero(t, c.Exp)
	assert.True(t, start.Equal(c.ServerTime))
	assert.Equal(t, 42*time.Second, c.TimeShift)
}

func TestParseConfigSeedDocExample(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_cloud_docs.json")
	assert.Equal(t, 4, c.Server.Version)
	assert.Equal(t, "your-account.bitrix24.com", c.Server.Hostname)
	assert.Equal(t, "https://rtc-**.bitrix24.com/sub2/", c.Server.LongPolling)
	assert.Equal(t, "https://rtc-**.bitrix24.com/sub2/", c.Server.LongPollingSecure)
	assert.Equal(t, "wss://rtc-**.bitrix24.com/subws2/", c.Server.WebSocketSecure)
	assert.Equal(t, "https://rtc-**.bitrix24.com/rest/", c.Server.PublishSecure)
	assert.Equal(t, int64(1774886062), c.Server.ConfigTimestamp)
	assert.Equal(t, int64(1775052318), c.Exp)
	assert.Equal(t, "c4ca4238a0b923820dcc509a6f75849b.e70a3bd16db0b0205474d4388307106320732932", c.Channels.Shared.ID)
	assert.Equal(t, "c81e728d9d4c2f636f067f89cc14862c:eccbc87e4b5ce2fe28308fd9f2a7baf3.2b603543503540b67cbd41ca2bfc47823393e4a4", c.Channels.Private.ID)
	assert.Equal(t, "eccbc87e4b5ce2fe28308fd9f2a7baf3.38f49bf8da5376f3ad29d39842d3f4452559ed9c", c.Channels.Private.PublicID)
	assert.True(t, mustTime(t, "2026-04-01T05:05:23+02:00").Equal(c.Channels.Private.End))
	assert.Equal(t, 577, c.PublicChannels["577"].UserID)
	assert.Equal(t, "02e50479f0d2c4b0d322bfe906cb9b2fc0815548", c.PublicChannels["577"].Signature)
	// No serverTime in the answer: no shift, whatever the envelope's "time" says.
	assert.True(t, c.ServerTime.IsZero())
	assert.Zero(t, c.TimeShift)
}

func TestParseConfigVersions(t *testing.T) {
	t.Parallel()
	v3 := mustParse(t, "v3_personal.json")
	assert.Equal(t, 3, v3.Server.Version)
	assert.Equal(t, testPrivateV3ID, v3.Channels.Private.ID)
	assert.Empty(t, v3.Channels.Private.PublicID)
	assert.Empty(t, v3.PublicChannels, "publicChannels false")
	assert.False(t, v3.Server.PublishEnabled)
	assert.Empty(t, v3.Server.Publish)

	v5 := mustParse(t, "v5_jwt.json")
	assert.Equal(t, 5, v5.Server.Version)
	assert.Nil(t, v5.Channels.Private)
	assert.Equal(t, testSharedID, v5.Channels.Shared.ID)
	assert.Equal(t, testJWT, v5.JWT)
	assert.Equal(t, int64(1747251000), v5.Exp)
	assert.Empty(t, v5.PublicChannels, "publicChannels []")
	assert.Empty(t, v5.Server.LongPolling)
	assert.Equal(t, 42*time.Second, v5.TimeShift)

	sh := mustParse(t, "v4_shared.json")
	assert.Equal(t, "shared", sh.Server.Mode)
	assert.Equal(t, testClientID, sh.ClientID)
	assert.Empty(t, sh.PublicChannels, "publicChannels {}")
}

func TestParseConfigEnvelopeAndBareAgree(t *testing.T) {
	t.Parallel()
	bare := readFixture(t, "v4_personal_bare.json")
	wrapped := []byte(`{"result": ` + string(bare) + `, "time": {"start": 1747207800}}`)
	a, err := ParseConfig(bare, testNow)
	require.NoError(t, err)
	b, err := ParseConfig(wrapped, testNow)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestParseConfigServerTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		value     any // nil: key removed
		now       time.Time
		wantShift time.Duration
		wantZero  bool
	}{
		{"absent", nil, testNow, 0, true},
		{"garbage string", "yesterday", testNow, 0, true},
		{"wrong type", true, testNow, 0, true},
		{"no offset", "2025-05-14T07:30:00", testNow, 0, true},
		{"iso ahead", "2025-05-14T09:30:00+02:00", testNow, 42 * time.Second, false},
		{"utc z", "2025-05-14T07:30:00Z", testNow, 42 * time.Second, false},
		{"unix number", 1747207800, testNow, 42 * time.Second, false},
		{"client behind floors down", "2025-05-14T07:30:00Z", time.Date(2025, 5, 14, 7, 29, 59, 500_000_000, time.UTC), -time.Second, false},
		{"client behind whole", "2025-05-14T07:30:00Z", time.Date(2025, 5, 14, 7, 29, 50, 0, time.UTC), -10 * time.Second, false},
		{"zero local clock", "2025-05-14T07:30:00Z", time.Time{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := fixtureMap(t, "v4_personal_bare.json")
			if tt.value == nil {
				setPath(t, doc, "serverTime", deleteKey)
			} else {
				setPath(t, doc, "serverTime", tt.value)
			}
			c, err := ParseConfig(marshal(t, doc), tt.now)
			require.NoError(t, err)
			assert.Equal(t, tt.wantShift, c.TimeShift)
			assert.Equal(t, tt.wantZero, c.ServerTime.IsZero())
		})
	}
}

func TestParseConfigAccepts(t *testing.T) {
	t.Parallel()
	type edit struct {
		path  string
		value any
	}
	tests := []struct {
		name  string
		edits []edit
		check func(t *testing.T, c *Config)
	}{
		{"mode missing is personal", []edit{{"server.mode", deleteKey}}, func(t *testing.T, c *Config) { assert.Equal(t, "personal", c.Server.Mode) }},
		{"mode null is personal", []edit{{"server.mode", nil}}, func(t *testing.T, c *Config) { assert.Equal(t, "personal", c.Server.Mode) }},
		{"old long_polling_secure spelling", []edit{{"server.long_pooling_secure", deleteKey}, {"server.long_polling_secure", "https://portal.example.test/old/"}}, func(t *testing.T, c *Config) {
			assert.Equal(t, "https://portal.example.test/old/", c.Server.LongPollingSecure)
		}},
		{"real spelling wins", []edit{{"server.long_polling_secure", "https://portal.example.test/old/"}}, func(t *testing.T, c *Config) {
			assert.Equal(t, "https://portal.example.test/bitrix/sub/", c.Server.LongPollingSecure)
		}},
		{"websocket only", []edit{{"server.long_polling", ""}, {"server.long_pooling_secure", nil}, {"server.websocket", ""}}, func(t *testing.T, c *Config) {
			assert.Equal(t, "wss://portal.example.test/bitrix/subws/", c.Server.WebSocketSecure)
			assert.Empty(t, c.Server.LongPollingSecure)
		}},
		{"bool as 1", []edit{{"server.websocket_enabled", 1}}, func(t *testing.T, c *Config) { assert.True(t, c.Server.WebSocketEnabled) }},
		{"bool as 0", []edit{{"server.publish_enabled", 0}}, func(t *testing.T, c *Config) { assert.False(t, c.Server.PublishEnabled) }},
		{"bool null", []edit{{"server.server_enabled", nil}}, func(t *testing.T, c *Config) { assert.False(t, c.Server.ServerEnabled) }},
		{"version as 5.0", []edit{{"server.version", 5.0}}, func(t *testing.T, c *Config) { assert.Equal(t, 5, c.Server.Version) }},
		{"version as 4e0", []edit{{"server.version", json.RawMessage("4e0")}}, func(t *testing.T, c *Config) { assert.Equal(t, 4, c.Server.Version) }},
		{"large version", []edit{{"server.version", 99}}, func(t *testing.T, c *Config) { assert.Equal(t, WireJSONRPC, c.Wire()) }},
		{"api missing", []edit{{"api", deleteKey}}, func(t *testing.T, c *Config) { assert.Zero(t, c.API) }},
		{"private null", []edit{{"channels.private", nil}}, func(t *testing.T, c *Config) { assert.Nil(t, c.Channels.Private) }},
		{"private false", []edit{{"channels.private", false}}, func(t *testing.T, c *Config) { assert.Nil(t, c.Channels.Private) }},
		{"channel without type", []edit{{"channels.shared.type", deleteKey}}, func(t *testing.T, c *Config) { assert.Empty(t, c.Channels.Shared.Type) }},
		{"app channel type", []edit{{"channels.shared.type", "local.0123abcd.456"}}, func(t *testing.T, c *Config) {
			assert.Equal(t, "local.0123abcd.456", c.Channels.Shared.Type)
		}},
		{"unix start", []edit{{"channels.shared.start", 1747207800}}, func(t *testing.T, c *Config) {
			assert.Equal(t, int64(1747207800), c.Channels.Shared.Start.Unix())
		}},
		{"unix string end", []edit{{"channels.shared.end", "1747251005.5"}}, func(t *testing.T, c *Config) {
			assert.Equal(t, time.Unix(1747251005, 500_000_000).UTC(), c.Channels.Shared.End)
		}},
		{"public channel without times", []edit{{"publicChannels.7", map[string]any{"public_id": "9e107d9d372bb6826bd81d3542a419d6", "signature": "5556aaa079ea8105050d4d68b5f921968c8e53a2"}}}, func(t *testing.T, c *Config) {
			assert.Equal(t, 7, c.PublicChannels["7"].UserID, "user id from the key")
			assert.True(t, c.PublicChannels["7"].End.IsZero())
		}},
		{"public channel user id as string", []edit{{"publicChannels.7.user_id", "7"}}, func(t *testing.T, c *Config) { assert.Equal(t, 7, c.PublicChannels["7"].UserID) }},
		{"exp present", []edit{{"exp", 1747251000}}, func(t *testing.T, c *Config) { assert.Equal(t, int64(1747251000), c.Exp) }},
		{"jwt without channels", []edit{{"channels", deleteKey}, {"jwt", testJWT}}, func(t *testing.T, c *Config) {
			assert.Nil(t, c.Channels.Private)
			assert.Nil(t, c.Channels.Shared)
			assert.Equal(t, testJWT, c.JWT)
		}},
		{"unknown keys ignored", []edit{{"server.future", map[string]any{"x": 1}}, {"extra", []any{1, 2}}}, func(t *testing.T, c *Config) { assert.Equal(t, 4, c.Server.Version) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := fixtureMap(t, "v4_personal_bare.json")
			for _, e := range tt.edits {
				setPath(t, doc, e.path, e.value)
			}
			c, err := ParseConfig(marshal(t, doc), testNow)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		value any
		want  string
	}{
		{"server missing", "server", deleteKey, "config: server: missing"},
		{"server not object", "server", "v4", "config: server: not an object"},
		{"version missing", "server.version", deleteKey, "config: server.version: missing"},
		{"version zero", "server.version", 0, "config: server.version: out of range"},
		{"version negative", "server.version", -4, "config: server.version: out of range"},
		{"version huge", "server.version", 1e12, "config: server.version: out of range"},
		{"version string", "server.version", "4", "config: server.version: not a number"},
		{"version fraction", "server.version", 4.5, "config: server.version: not an integer"},
		{"no connection URL", "server", map[string]any{"version": 4, "publish": "https://h/pub/"}, "config: server: no websocket or long-polling URL"},
		{"mode unknown", "server.mode", "cloud", `config: server.mode: neither "personal" nor "shared"`},
		{"mode empty", "server.mode", "", `config: server.mode: neither`},
		{"mode number", "server.mode", 1, "config: server.mode: not a string"},
		{"websocket number", "server.websocket", 7, "config: server.websocket: not a string"},
		{"websocket http scheme", "server.websocket_secure", "https://portal.example.test/bitrix/subws/", "config: server.websocket_secure: not a ws or wss URL"},
		{"websocket without host", "server.websocket", "ws://", "config: server.websocket: not a ws or wss URL"},
		{"websocket placeholder", "server.websocket", "ws://#DOMAIN#/bitrix/subws/", "config: server.websocket: not a ws or wss URL"},
		{"long polling ws scheme", "server.long_polling", "ws://portal.example.test/bitrix/sub/", "config: server.long_polling: not a http or https URL"},
		{"long polling bad url", "server.long_pooling_secure", "https://[::1", "config: server.long_pooling_secure: not a http or https URL"},
		{"publish bad", "server.publish_secure", "/bitrix/pubweb/", "config: server.publish_secure: not a http or https URL"},
		{"hostname number", "server.hostname", 1, "config: server.hostname: not a string"},
		{"bool string", "server.websocket_enabled", "Y", "config: server.websocket_enabled: not a boolean"},
		{"bool two", "server.server_enabled", 2, "config: server.server_enabled: not a boolean"},
		{"config_timestamp string", "server.config_timestamp", "1747000000", "config: server.config_timestamp: not a number"},
		{"api not object", "api", 19, "config: api: not an object"},
		{"revision_web string", "api.revision_web", "19", "config: api.revision_web: not a number"},
		{"revision_web negative", "api.revision_web", -1, "config: api.revision_web: out of range"},
		{"revision_mobile string", "api.revision_mobile", "3", "config: api.revision_mobile: not a number"},
		{"revision_mobile huge", "api.revision_mobile", 1e10, "config: api.revision_mobile: out of range"},
		{"channels not object", "channels", "x", "config: channels: not an object"},
		{"channels non-empty array", "channels", []any{1}, "config: channels: not an object"},
		{"channel not object", "channels.shared", "5d41402abc4b2a76b9719d911017c592", "config: channels.shared: not an object"},
		{"channel id missing", "channels.shared.id", deleteKey, "config: channels.shared.id: missing"},
		{"channel id empty", "channels.private.id", "", "config: channels.private.id: missing"},
		{"channel id number", "channels.private.id", 5, "config: channels.private.id: not a string"},
		{"channel id masked", "channels.private.id", "***masked***", "config: channels.private.id: not a well-formed channel id"},
		{"channel id with slash", "channels.shared.id", "5d41402abc4b2a76/b9719d911017c592.0aa6e01c", "config: channels.shared.id: not a well-formed channel id"},
		{"channel id too long", "channels.shared.id", strings.Repeat("a", 600), "config: channels.shared.id: not a well-formed channel id"},
		{"public_id malformed", "channels.private.public_id", "0f1e2d3c 4b5a6978", "config: channels.private.public_id: not a well-formed channel id"},
		{"start missing", "channels.shared.start", deleteKey, "config: channels.shared.start: missing"},
		{"end not a date", "channels.shared.end", "tomorrow", "config: channels.shared.end: not an ISO-8601 date"},
		{"end no offset", "channels.private.end", "2025-05-14 21:30:05", "config: channels.private.end: not an ISO-8601 date"},
		{"end negative unix", "channels.private.end", -5, "config: channels.private.end: not a unix time"},
		{"end far future", "channels.private.end", 1e15, "config: channels.private.end: not a unix time"},
		{"end bool", "channels.private.end", true, "config: channels.private.end: not a date"},
		{"end before start", "channels.shared.end", "2025-05-14T09:00:00+02:00", "config: channels.shared.end: not after start"},
		{"end equals start", "channels.shared.end", "2025-05-14T09:30:00+02:00", "config: channels.shared.end: not after start"},
		{"type number", "channels.shared.type", 1, "config: channels.shared.type: not a string"},
		{"no channels no jwt", "channels", deleteKey, "config: channels: no channel id and no jwt"},
		{"publicChannels true", "publicChannels", true, "config: publicChannels: neither an object nor false"},
		{"publicChannels entry not object", "publicChannels.7", "x", "config: publicChannels.7: not an object"},
		{"publicChannels odd key", "publicChannels", map[string]any{"a5556aaa079ea8105050d4d68b5f9219": "x"}, "config: publicChannels.*: not an object"},
		{"publicChannels user id bad string", "publicChannels.7.user_id", "seven", "config: publicChannels.7.user_id: not a user id"},
		{"publicChannels user id negative", "publicChannels.7.user_id", -7, "config: publicChannels.7.user_id: not a user id"},
		{"publicChannels user id bool", "publicChannels.7.user_id", true, "config: publicChannels.7.user_id: not a number"},
		{"publicChannels user id missing, key not numeric", "publicChannels", map[string]any{"me": map[string]any{"public_id": "9e107d9d", "signature": "5556aaa0"}}, "config: publicChannels.*.user_id: missing"},
		{"publicChannels public id missing", "publicChannels.7.public_id", deleteKey, "config: publicChannels.7.public_id: missing"},
		{"publicChannels signature malformed", "publicChannels.7.signature", "5556aaa0/79ea", "config: publicChannels.7.signature: not a well-formed channel id"},
		{"publicChannels end bad", "publicChannels.7.end", "soon", "config: publicChannels.7.end: not an ISO-8601 date"},
		{"clientId number", "clientId", 17, "config: clientId: not a string"},
		{"shared without clientId", "server.mode", "shared", "config: clientId: missing (the server is in shared mode)"},
		{"jwt number", "jwt", 5, "config: jwt: not a string"},
		{"exp string", "exp", "1747251000", "config: exp: not a number"},
		{"exp negative", "exp", -1, "config: exp: not a unix time"},
		{"exp fraction", "exp", 1747251000.5, "config: exp: not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := fixtureMap(t, "v4_personal_bare.json")
			setPath(t, doc, tt.path, tt.value)
			_, err := ParseConfig(marshal(t, doc), testNow)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			assert.ErrorAs(t, err, &ce)
			assertNoSecrets(t, err.Error())
			if s, ok := tt.value.(string); ok && len(s) >= 8 {
				assert.NotContains(t, err.Error(), s, "the bad value is not quoted")
			}
		})
	}
}

func TestParseConfigRejectsAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer string
		want   string
	}{
		{"empty", ``, "config: answer is not valid JSON (0 bytes)"},
		{"truncated", `{"result": {"jwt": "` + testJWT, "config: answer is not valid JSON"},
		{"not object", `[1, 2]`, "config: answer is not a JSON object"},
		{"string", `"` + testSharedID + `"`, "config: answer is not a JSON object"},
		{"result string", `{"result": "ok"}`, "config: result: not an object"},
		{"result false", `{"result": false}`, "config: result: not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tt.answer), testNow)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestParseConfigSentinels(t *testing.T) {
	t.Parallel()
	doc := fixtureMap(t, "v4_shared.json")
	setPath(t, doc, "result.clientId", deleteKey)
	_, err := ParseConfig(marshal(t, doc), testNow)
	assert.ErrorIs(t, err, ErrSharedWithoutClientID)

	doc = fixtureMap(t, "v5_jwt.json")
	setPath(t, doc, "result.jwt", "")
	setPath(t, doc, "result.channels", []any{})
	_, err = ParseConfig(marshal(t, doc), testNow)
	assert.ErrorIs(t, err, ErrNoChannels)
}

func TestParseConfigErrorEnvelope(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig(readFixture(t, "error_wrong_auth_type.json"), testNow)
	require.Error(t, err)
	re, ok := AsRESTError(err)
	require.True(t, ok)
	assert.Equal(t, "WRONG_AUTH_TYPE", re.Code)
	assert.Equal(t, 403, re.Status, "status from the code table")
	assert.Equal(t, ClassPermission, re.Class())
	assert.False(t, errors.Is(err, ErrInvalidConfig))
}

func TestParseChannelNewChannel(t *testing.T) {
	t.Parallel()
	// channel_expire from the cleanup path: start as raw unix seconds, end as ISO.
	v := gjson.Parse(`{"id":"` + testSharedID + `","start":1747207800,"end":"2025-05-14T21:30:05+02:00","type":"shared"}`)
	ch, err := ParseChannel(v, "new_channel")
	require.NoError(t, err)
	assert.Equal(t, testSharedID, ch.ID)
	assert.Equal(t, int64(1747207800), ch.Start.Unix())
	assert.Equal(t, int64(1747251005), ch.End.Unix())

	_, err = ParseChannel(gjson.Parse(`{"id":"`+testSharedID+`","start":1747207800}`), "new_channel")
	require.Error(t, err)
	assert.Equal(t, "config: new_channel.end: missing", err.Error())
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		want int64 // unix ms; -1 for an error
	}{
		{`"2025-05-14T09:30:00+02:00"`, 1747207800000},
		{`"2025-05-14T07:30:00.250Z"`, 1747207800250},
		{`1747207800`, 1747207800000},
		{`1747208400.317`, 1747208400317},
		{`"1747207800"`, 1747207800000},
		{`"1747208400.5"`, 1747208400500},
		{`0`, 0},
		{`1.7472078e9`, 1747207800000},
		{`"1747208400.1234567891"`, 1747208400123},
		{`"253402300800"`, -1},
		{`"1747208400."`, -1},
		{`".5"`, -1},
		{`"17472084001747208400174720840017472084"`, -1},
		{`"1.2.3"`, -1},
		{`""`, -1},
		{`"2025-05-14"`, -1},
		{`-1`, -1},
		{`1e300`, -1},
		{`null`, -1},
		{`{}`, -1},
		{`false`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(gjson.Parse(tt.json))
			if tt.want < 0 {
				require.Error(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), "protocol: "))
				assert.True(t, got.IsZero())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.UnixMilli())
		})
	}
}

func TestParsePublicChannels(t *testing.T) {
	t.Parallel()
	m, err := ParsePublicChannels(readFixture(t, "public_list.json"))
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, PublicChannel{
		UserID: 9, PublicID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Signature: "38cdc8da33eb1639e59ace48b468e17fe48b8746",
		Start: time.Unix(1747207800, 0).UTC(), End: time.Unix(1747251005, 0).UTC(),
	}, m["9"])
	assert.Equal(t, 7, m["7"].UserID)

	for _, empty := range []string{`{"result": []}`, `{"result": false}`, `{"result": {}}`, `[]`, `false`, `{}`} {
		m, err := ParsePublicChannels([]byte(empty))
		require.NoError(t, err, empty)
		assert.NotNil(t, m, empty)
		assert.Empty(t, m, empty)
	}

	_, err = ParsePublicChannels([]byte(`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the webhook token"}`))
	re, ok := AsRESTError(err)
	require.True(t, ok)
	assert.Equal(t, ClassPermission, re.Class())

	_, err = ParsePublicChannels([]byte(`{"result": {"7": {"user_id": 7}}}`))
	assert.EqualError(t, err, "config: publicChannels.7.public_id: missing")
	_, err = ParsePublicChannels([]byte(`{"result": "x"}`))
	assert.EqualError(t, err, "config: publicChannels: neither an object nor false")
	_, err = ParsePublicChannels([]byte(`{"result": `))
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestFloorSeconds(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 2*time.Second, floorSeconds(2999*time.Millisecond))
	assert.Equal(t, -3*time.Second, floorSeconds(-2001*time.Millisecond))
	assert.Equal(t, -2*time.Second, floorSeconds(-2*time.Second))
	assert.Equal(t, time.Duration(-9223372036000000000), floorSeconds(time.Duration(-1<<63)), "no overflow at the minimum")
}

// deleteKey passed to setPath removes the key.
var deleteKey = &struct{ delete bool }{true}

func fixtureMap(t testing.TB, name string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(readFixture(t, name), &m))
	return m
}

// setPath sets (or with deleteKey removes) a dot-separated path, creating objects on the way.
func setPath(t testing.TB, doc map[string]any, path string, value any) {
	t.Helper()
	keys := strings.Split(path, ".")
	cur := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	last := keys[len(keys)-1]
	if value == deleteKey {
		delete(cur, last)
		return
	}
	cur[last] = value
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// assertNoSecrets checks that text carries none of the fixtures' secrets or their parts.
func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	c := &Config{
		Channels: Channels{
			Private: &Channel{ID: testPrivateID, PublicID: testPublicID},
			Shared:  &Channel{ID: testSharedID},
		},
		JWT:      testJWT,
		ClientID: testClientID,
		PublicChannels: map[string]PublicChannel{"7": {
			PublicID: "9e107d9d372bb6826bd81d3542a419d6", Signature: "5556aaa079ea8105050d4d68b5f921968c8e53a2",
		}},
	}
	for _, s := range c.Secrets() {
		assert.NotContains(t, text, s)
	}
}

package protocol

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testKey = "demo-signature-key"

// TestFixtureSignatures checks that the ids in the fixtures and the golden URLs are really signed as
// docs/protocol.md §3.2 says, so the goldens hold the real signatures.
func TestFixtureSignatures(t *testing.T) {
	t.Parallel()
	sign := func(in string) string {
		m := hmac.New(sha1.New, []byte(testKey))
		m.Write([]byte(in))
		return hex.EncodeToString(m.Sum(nil))
	}
	assert.Equal(t, "a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0."+sign("a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0"), testPrivateID)
	assert.Equal(t, "a1b2c3d4e5f60718293a4b5c6d7e8f90."+sign("a1b2c3d4e5f60718293a4b5c6d7e8f90"), testPrivateV3ID)
	assert.Equal(t, "5d41402abc4b2a76b9719d911017c592."+sign("5d41402abc4b2a76b9719d911017c592"), testSharedID)
	assert.Equal(t, "0f1e2d3c4b5a69788796a5b4c3d2e1f0."+sign("public:0f1e2d3c4b5a69788796a5b4c3d2e1f0"), testPublicID)
	assert.Equal(t, "5556aaa079ea8105050d4d68b5f921968c8e53a2", sign("public:9e107d9d372bb6826bd81d3542a419d6"))

	parts := strings.Split(testJWT, ".")
	require.Len(t, parts, 3)
	m := hmac.New(sha256.New, []byte(testKey))
	m.Write([]byte(parts[0] + "." + parts[1]))
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(m.Sum(nil)), parts[2])
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	assert.JSONEq(t, `{"iss":"k2v9x0q7m4n1b8c5z3l6w0e2r4t7y9u1","iat":1747207800,"exp":1747251000,"sub":"7","chan":"5d41402abc4b2a76b9719d911017c592"}`, string(claims))
}

// TestConnectionURLSpecExamples reproduces the four examples of docs/protocol.md §4.
func TestConnectionURLSpecExamples(t *testing.T) {
	t.Parallel()
	const channels = "CHANNEL_ID=a1b2c3d4e5f60718293a4b5c6d7e8f90%3A0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562" +
		"%2F5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
	const channelsV3 = "CHANNEL_ID=a1b2c3d4e5f60718293a4b5c6d7e8f90.9803993d09261023ded417a4f054ab294318606a" +
		"%2F5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
	v2 := mustParse(t, "v3_personal.json")
	v2.Server.Version = 2
	tests := []struct {
		name      string
		c         *Config
		transport Transport
		resume    Resume
		want      string
	}{
		{"v4 personal websocket", mustParse(t, "v4_personal_bare.json"), TransportWebSocket, Resume{},
			"wss://portal.example.test/bitrix/subws/?" + channels + "&binaryMode=true&revision=19"},
		{"v4 shared with mid", mustParse(t, "v4_shared.json"), TransportWebSocket, Resume{MID: "17472078000000000000004711"},
			"wss://rtc-cloud-ms1.bitrix.info/subws/?" + channels + "&binaryMode=true&clientId=" + testClientID + "&mid=17472078000000000000004711&revision=19"},
		{"v5 token", mustParse(t, "v5_jwt.json"), TransportWebSocket, Resume{},
			"wss://portal.example.test/bitrix/subws/?token=" + testJWT + "&jsonRpc=true&revision=19"},
		{"v2 long polling with tag and time", v2, TransportLongPolling, Resume{Tag: "317", Time: "Wed, 14 May 2025 07:40:00 GMT"},
			"https://portal.example.test/bitrix/sub/?" + channelsV3 + "&tag=317&time=Wed%2C%2014%20May%202025%2007%3A40%3A00%20GMT&revision=19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.c.ConnectionURL(tt.transport, true, tt.resume)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			u, err := url.Parse(got)
			require.NoError(t, err, "a server decodes it normally")
			assert.Equal(t, "19", u.Query().Get("revision"))
		})
	}
}

// TestConnectionURLFor checks the channel list a caller names: in its order, each id once, the
// config's own channels not added, a token (version 5) sending none, and a bad or empty list refused.
func TestConnectionURLFor(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	assert.Equal(t, []string{testPrivateID, testSharedID}, c.ChannelIDs())
	const rotated = "ffffffffffffffffffffffffffffffff.f231f9b4a84e3ee57ab206acf67cd39ac734a404"
	got, err := c.ConnectionURLFor(TransportWebSocket, true, Resume{MID: "17472078000000000000004711"},
		[]string{testPrivateID, rotated, testPrivateID, ""})
	require.NoError(t, err)
	u, err := url.Parse(got)
	require.NoError(t, err)
	assert.Equal(t, testPrivateID+"/"+rotated, u.Query().Get("CHANNEL_ID"))
	assert.Equal(t, "17472078000000000000004711", u.Query().Get("mid"))

	_, err = c.ConnectionURLFor(TransportWebSocket, true, Resume{}, nil)
	require.ErrorIs(t, err, ErrNoChannels)
	_, err = c.ConnectionURLFor(TransportWebSocket, true, Resume{}, []string{"a/b"})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)

	v5 := mustParse(t, "v5_jwt.json")
	got, err = v5.ConnectionURLFor(TransportWebSocket, true, Resume{}, []string{rotated})
	require.NoError(t, err)
	assert.NotContains(t, got, "CHANNEL_ID", "the token names the channels")
	assert.Contains(t, got, "token="+testJWT)
}

func TestConnectionURLBranches(t *testing.T) {
	t.Parallel()
	v4 := func(edit func(c *Config)) *Config {
		c := &Config{
			Server: Server{
				Version: 4, Mode: "personal",
				WebSocket: "ws://h/ws/", WebSocketSecure: "wss://h/ws/",
				LongPolling: "http://h/lp/", LongPollingSecure: "https://h/lp/",
			},
			Channels: Channels{Private: &Channel{ID: "p:q.s"}, Shared: &Channel{ID: "s.t"}},
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name      string
		c         *Config
		transport Transport
		secure    bool
		resume    Resume
		want      string
		wantErr   error
	}{
		{"ws plain", v4(nil), TransportWebSocket, false, Resume{}, "ws://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"lp plain", v4(nil), TransportLongPolling, false, Resume{}, "http://h/lp/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"lp secure", v4(nil), TransportLongPolling, true, Resume{}, "https://h/lp/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"v3 text no flag", v4(func(c *Config) { c.Server.Version = 3 }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&revision=19", nil},
		{"v5 without jwt uses channels", v4(func(c *Config) { c.Server.Version = 5 }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&jsonRpc=true&revision=19", nil},
		{"jwt wins over channels", v4(func(c *Config) { c.JWT = "a.b.c" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?token=a.b.c&binaryMode=true&revision=19", nil},
		{"shared only", v4(func(c *Config) { c.Channels.Private = nil }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=s.t&binaryMode=true&revision=19", nil},
		{"private only", v4(func(c *Config) { c.Channels.Shared = nil }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s&binaryMode=true&revision=19", nil},
		{"empty id skipped", v4(func(c *Config) { c.Channels.Private.ID = "" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=s.t&binaryMode=true&revision=19", nil},
		{"same id once", v4(func(c *Config) { c.Channels.Shared.ID = "p:q.s" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s&binaryMode=true&revision=19", nil},
		{"all resume fields", v4(nil), TransportWebSocket, true, Resume{MID: "1", Tag: "2", Time: "3"}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&mid=1&tag=2&time=3&revision=19", nil},
		{"base with query", v4(func(c *Config) { c.Server.WebSocketSecure = "wss://h/ws/?x=1" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?x=1&CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"base ending in ?", v4(func(c *Config) { c.Server.WebSocketSecure = "wss://h/ws/?" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"base ending in &", v4(func(c *Config) { c.Server.WebSocketSecure = "wss://h/ws/?x=1&" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?x=1&CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", nil},
		{"shared mode", v4(func(c *Config) { c.Server.Mode = "shared"; c.ClientID = "a b/c" }), TransportWebSocket, true, Resume{}, "wss://h/ws/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&clientId=a%20b%2Fc&revision=19", nil},
		{"shared mode without clientId", v4(func(c *Config) { c.Server.Mode = "shared" }), TransportWebSocket, true, Resume{}, "", ErrSharedWithoutClientID},
		{"no channels", v4(func(c *Config) { c.Channels = Channels{} }), TransportWebSocket, true, Resume{}, "", ErrNoChannels},
		{"only empty ids", v4(func(c *Config) { c.Channels.Private.ID = ""; c.Channels.Shared.ID = "" }), TransportWebSocket, true, Resume{}, "", ErrNoChannels},
		{"id with slash", v4(func(c *Config) { c.Channels.Shared.ID = "s/t" }), TransportWebSocket, true, Resume{}, "", ErrInvalidConfig},
		{"empty ws secure", v4(func(c *Config) { c.Server.WebSocketSecure = "" }), TransportWebSocket, true, Resume{}, "", ErrEmptyPath},
		{"empty ws", v4(func(c *Config) { c.Server.WebSocket = "" }), TransportWebSocket, false, Resume{}, "", ErrEmptyPath},
		{"empty lp secure", v4(func(c *Config) { c.Server.LongPollingSecure = "" }), TransportLongPolling, true, Resume{}, "", ErrEmptyPath},
		{"empty lp", v4(func(c *Config) { c.Server.LongPolling = "" }), TransportLongPolling, false, Resume{}, "", ErrEmptyPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.c.ConnectionURL(tt.transport, tt.secure, tt.resume)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, got)
				assert.True(t, strings.HasPrefix(err.Error(), "failed to build the "), err.Error())
				assert.NotContains(t, err.Error(), "p:q.s")
				assert.NotContains(t, err.Error(), "s.t")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPublicationURL(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	got, err := c.PublicationURL(true)
	require.NoError(t, err)
	assert.Equal(t, "https://portal.example.test/bitrix/pubweb/?CHANNEL_ID=a1b2c3d4e5f60718293a4b5c6d7e8f90%3A0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562%2F5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e", got)
	got, err = c.PublicationURL(false)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got, "http://portal.example.test/bitrix/pubweb/?CHANNEL_ID=a1b2"))
	assert.NotContains(t, got, "revision", "only CHANNEL_ID")

	v3 := mustParse(t, "v3_personal.json")
	got, err = v3.PublicationURL(true)
	assert.ErrorIs(t, err, ErrEmptyPath)
	assert.Empty(t, got)

	v5 := mustParse(t, "v5_jwt.json")
	v5.Server.PublishSecure = "https://h/pub/"
	v5.Channels.Shared = nil
	_, err = v5.PublicationURL(true)
	assert.ErrorIs(t, err, ErrNoChannels)
}

func TestTransportString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "websocket", TransportWebSocket.String())
	assert.Equal(t, "long-polling", TransportLongPolling.String())
}

func TestEncodeURIComponent(t *testing.T) {
	t.Parallel()
	// Expected values are what JavaScript's encodeURIComponent returns.
	tests := map[string]string{
		"":                       "",
		"abcXYZ019":              "abcXYZ019",
		"-_.!~*'()":              "-_.!~*'()",
		"a b":                    "a%20b",
		"/?:@&=+$,#":             "%2F%3F%3A%40%26%3D%2B%24%2C%23",
		"[]{}|\\^`\"<>%;":        "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E%25%3B",
		"héllo ✓":                "h%C3%A9llo%20%E2%9C%93",
		"\x00\n\x7f":             "%00%0A%7F",
		"Wed, 14 May 2025 07:40": "Wed%2C%2014%20May%202025%2007%3A40",
	}
	for in, want := range tests {
		assert.Equal(t, want, encodeURIComponent(in), "%q", in)
	}
}

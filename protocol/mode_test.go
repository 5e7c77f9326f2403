package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version int
		wire    Wire
		name    string
	}{
		{0, WireText, "text"}, {1, WireText, "text"}, {2, WireText, "text"}, {3, WireText, "text"},
		{4, WireProtobuf, "protobuf"}, {5, WireJSONRPC, "json-rpc"}, {6, WireJSONRPC, "json-rpc"},
	}
	for _, tt := range tests {
		c := &Config{Server: Server{Version: tt.version}}
		assert.Equal(t, tt.wire, c.Wire(), "version %d", tt.version)
		assert.Equal(t, tt.name, c.Wire().String())
	}
}

func TestFeaturePredicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                            string
		server                          Server
		websocket, longPolling, publish bool
	}{
		{"v3 ws off", Server{Version: 3, PublishEnabled: true}, false, true, false},
		{"v3 ws on", Server{Version: 3, WebSocketEnabled: true}, true, true, false},
		{"v4 publish on", Server{Version: 4, WebSocketEnabled: true, PublishEnabled: true}, true, true, true},
		{"v4 publish off", Server{Version: 4, WebSocketEnabled: true}, true, true, false},
		{"v5 flags off", Server{Version: 5}, true, false, true},
		{"v7", Server{Version: 7, WebSocketEnabled: true}, true, false, true},
	}
	for _, tt := range tests {
		c := &Config{Server: tt.server}
		assert.Equal(t, tt.websocket, c.WebSocketEnabled(), tt.name)
		assert.Equal(t, tt.longPolling, c.LongPollingAllowed(), tt.name)
		assert.Equal(t, tt.publish, c.PublishingEnabled(), tt.name)
	}
	assert.True(t, (&Config{Server: Server{Mode: "shared"}}).IsShared())
	assert.False(t, (&Config{Server: Server{Mode: "personal"}}).IsShared())
	assert.False(t, (&Config{}).IsShared())
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2025, 5, 14, 19, 0, 0, 0, time.UTC)
	t2 := time.Date(2025, 5, 14, 20, 0, 0, 0, time.UTC)
	t3 := time.Date(2025, 5, 14, 21, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    Config
		want time.Time
	}{
		{"nothing", Config{}, time.Time{}},
		{"private earliest", Config{Channels: Channels{Private: &Channel{End: t1}, Shared: &Channel{End: t2}}, Exp: t3.Unix()}, t1},
		{"shared earliest", Config{Channels: Channels{Private: &Channel{End: t3}, Shared: &Channel{End: t2}}}, t2},
		{"exp earliest", Config{Channels: Channels{Shared: &Channel{End: t2}}, Exp: t1.Unix()}, t1},
		{"exp only", Config{Exp: t2.Unix()}, t2},
		{"zero end ignored", Config{Channels: Channels{Private: &Channel{}, Shared: &Channel{End: t3}}}, t3},
	}
	for _, tt := range tests {
		got := tt.c.Expiry()
		assert.True(t, tt.want.Equal(got), "%s: got %v", tt.name, got)
		assert.Equal(t, tt.want.IsZero(), got.IsZero(), tt.name)
	}
	v5 := mustParse(t, "v5_jwt.json")
	assert.Equal(t, int64(1747251000), v5.Expiry().Unix(), "exp before the shared channel end")
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	c.JWT = testJWT
	c.ClientID = testClientID
	got := c.Secrets()
	want := []string{
		testPrivateID, testPublicID, testSharedID, testJWT, testClientID,
		"a1b2c3d4e5f60718293a4b5c6d7e8f90", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "58ed701edf98cdbba959bbf4d595a03e19fd8562",
		"38cdc8da33eb1639e59ace48b468e17fe48b8746", "5d41402abc4b2a76b9719d911017c592", "0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e",
		"9e107d9d372bb6826bd81d3542a419d6", "5556aaa079ea8105050d4d68b5f921968c8e53a2",
		"4-Ia7oAJTYG_RN2VGoTHhSyQW5FXwaecvOE7RqnIsAY",
	}
	assert.Subset(t, got, want)
	for i := 1; i < len(got); i++ {
		assert.GreaterOrEqual(t, len(got[i-1]), len(got[i]), "longest first")
		assert.NotEqual(t, got[i-1], got[i], "no duplicates")
	}
	for _, s := range got {
		assert.NotEmpty(t, s)
	}

	short := &Config{ClientID: "ab", Channels: Channels{Shared: &Channel{ID: "abc.def"}}}
	assert.Equal(t, []string{"abc.def", "ab"}, short.Secrets(), "short parts stay joined; clientId kept whole")
	assert.Empty(t, (&Config{}).Secrets())
}

func TestFacts(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	c.Channels.Shared.Type = "local.0123abcd.456"
	f := c.Facts()
	assert.Equal(t, 4, f.Version)
	assert.Equal(t, "personal", f.Mode)
	assert.Equal(t, "protobuf", f.Wire)
	assert.True(t, f.WebSocketEnabled)
	assert.True(t, f.LongPollingAllowed)
	assert.True(t, f.PublishingEnabled)
	assert.False(t, f.HasJWT)
	assert.False(t, f.HasClientID)
	assert.Equal(t, 1, f.PublicChannels)
	assert.Equal(t, int64(42), f.TimeShift)
	assert.Equal(t, int64(1747000000), f.ConfigTimestamp)
	assert.Equal(t, 19, f.RevisionWeb)
	assert.Equal(t, 3, f.RevisionMobile)
	require.Len(t, f.Channels, 2)
	assert.Equal(t, ChannelFacts{Name: "private", Type: "private", Start: c.Channels.Private.Start, End: c.Channels.Private.End}, f.Channels[0])
	assert.Equal(t, "app", f.Channels[1].Type, "an app client id is not shown")
	assert.True(t, c.Expiry().Equal(f.Expiry))

	b, err := json.Marshal(f)
	require.NoError(t, err)
	text := string(b)
	assertNoSecrets(t, text)
	assert.NotContains(t, text, "local.0123abcd")
	assert.Contains(t, text, `"wire":"protobuf"`)
	assert.Contains(t, text, `"timeShift":42`)
	assert.NotContains(t, text, `"exp"`, "exp left out when absent")

	v5 := mustParse(t, "v5_jwt.json")
	f = v5.Facts()
	assert.True(t, f.HasJWT)
	assert.Equal(t, int64(1747251000), f.Exp)
	assert.Equal(t, "json-rpc", f.Wire)
	require.Len(t, f.Channels, 1)
	assert.Equal(t, "shared", f.Channels[0].Name)
	b, err = json.Marshal(f)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(b), testJWT[:20]))
	assert.Contains(t, string(b), `"exp":1747251000`)

	empty := (&Config{}).Facts()
	assert.NotNil(t, empty.Channels)
	b, err = json.Marshal(empty)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"channels":[]`)
	assert.NotContains(t, string(b), `"expiry"`)
}

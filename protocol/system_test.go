package protocol

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testNewSharedID  = "9e107d9d372bb6826bd81d3542a419d6.5556aaa079ea8105050d4d68b5f921968c8e53a2"
	testNewPrivateID = "e4d909c290d0fb1ca068ffaddf22cbd0:d41d8cd98f00b204e9800998ecf8427e.0123456789abcdef0123456789abcdef01234567"
	// testOtherID is a shared channel the configs below do not hold (one already replaced).
	testOtherID = "8277e0910d750195b448797616e091ad.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
)

var (
	isoStart = time.Date(2025, 5, 14, 7, 30, 0, 0, time.UTC)
	isoEnd   = isoStart.Add(43205 * time.Second)
)

// newChannelJSON is a new_channel object with the given id, type and start (JSON text), ending at
// isoEnd.
func newChannelJSON(id, typ, start string) string {
	return `{"id":"` + id + `","start":` + start + `,"end":"2025-05-14T21:30:05+02:00","type":"` + typ + `"}`
}

const isoStartJSON = `"2025-05-14T09:30:00+02:00"`

// systemCases are the commands of docs/protocol.md §11 as the portal words them, and the ways they
// can go wrong. They seed FuzzParseSystem too.
var systemCases = []struct {
	name, command, params string
	want                  System
	err                   string // the error text; "" for none
}{
	{
		name:    "shared channel found expired (CPullChannel::Get): reconnect with an ISO new_channel",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"shared"},"new_channel":` + newChannelJSON(testNewSharedID, "shared", isoStartJSON) + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID, Type: "shared"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "shared"}, Trust: TrustTyped,
		},
	},
	{
		name:    "private channel: get_config, no new_channel",
		command: "channel_expire",
		params:  `{"action":"get_config","channel":{"id":"` + testPrivateID + `","type":"private"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testPrivateID, Type: "private"}, Action: ActionGetConfig},
	},
	{
		name:    "commands compare in upper case",
		command: "CHANNEL_EXPIRE",
		params:  `{"action":"get_config","channel":{"id":"` + testPrivateID + `","type":"private"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testPrivateID, Type: "private"}, Action: ActionGetConfig},
	},
	{
		name:    "private channel with a new_channel (not what the portal sends, but typed)",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testPrivateID + `","type":"private"},"new_channel":` + newChannelJSON(testNewPrivateID, "private", isoStartJSON) + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testPrivateID, Type: "private"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewPrivateID, Start: isoStart, End: isoEnd, Type: "private"}, Trust: TrustTyped,
		},
	},
	{
		name:    "app's per-user channel: typed by the client id, reconnect without new_channel",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testPrivateID + `","type":"local.app"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testPrivateID, Type: "local.app"}, Action: ActionReconnect},
	},
	{
		name:    "app's shared channel found expired: new_channel typed by the client id, ISO start",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"local.app"},"new_channel":` + newChannelJSON(testNewSharedID, "local.app", isoStartJSON) + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID, Type: "local.app"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "local.app"}, Trust: TrustIfShared,
		},
	},
	{
		name:    "app's shared channel from the cleanup path: raw unix start, not trusted",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"local.app"},"new_channel":` + newChannelJSON(testNewSharedID, "local.app", "1747207800") + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID, Type: "local.app"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "local.app"}, Trust: TrustNone,
		},
	},
	{
		name:    "portal's shared channel from the cleanup path: raw unix start, typed shared",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"shared"},"new_channel":` + newChannelJSON(testNewSharedID, "shared", "1747207800") + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID, Type: "shared"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "shared"}, Trust: TrustTyped,
		},
	},
	{
		name:    "a start written as a numeric string counts as written by date(): trusted for the shared channel",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"local.app"},"new_channel":` + newChannelJSON(testNewSharedID, "local.app", `"1747207800"`) + `}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID, Type: "local.app"}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "local.app"}, Trust: TrustIfShared,
		},
	},
	{
		name:    "new_channel without a type",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `"},"new_channel":{"id":"` + testNewSharedID + `","start":` + isoStartJSON + `,"end":"2025-05-14T21:30:05+02:00"}}`,
		want: ChannelExpire{
			Channel: ChannelRef{ID: testSharedID}, Action: ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd}, Trust: TrustIfShared,
		},
	},
	{
		name:    "new_channel without the channel it replaces",
		command: "channel_expire",
		params:  `{"action":"reconnect","new_channel":` + newChannelJSON(testNewSharedID, "shared", isoStartJSON) + `}`,
		want: ChannelExpire{
			Action:     ActionReconnect,
			NewChannel: &Channel{ID: testNewSharedID, Start: isoStart, End: isoEnd, Type: "shared"}, Trust: TrustTyped,
		},
	},
	{
		name:    "new_channel null is none",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"shared"},"new_channel":null}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testSharedID, Type: "shared"}, Action: ActionReconnect},
	},
	{
		name:    "another action",
		command: "channel_expire",
		params:  `{"action":"Reconnect","channel":{"id":"` + testSharedID + `","type":"shared"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testSharedID, Type: "shared"}, Action: ActionOther},
	},
	{
		name:    "no action, no channel",
		command: "channel_expire",
		params:  `{}`,
		want:    ChannelExpire{},
	},
	{
		name:    "empty params (PHP's empty array)",
		command: "channel_expire",
		params:  `[]`,
		want:    ChannelExpire{},
	},
	{
		name:    "empty params (nothing)",
		command: "channel_expire",
		params:  ``,
		want:    ChannelExpire{},
	},
	{
		name:    "malformed new_channel: an unreadable start",
		command: "channel_expire",
		params:  `{"action":"reconnect","new_channel":{"id":"` + testNewSharedID + `","start":"yesterday","end":"","type":"shared"}}`,
		want:    ChannelExpire{Action: ActionReconnect},
		err:     "system command channel_expire: new_channel.start: not an ISO-8601 date",
	},
	{
		name:    "malformed new_channel: no id",
		command: "channel_expire",
		params:  `{"action":"reconnect","new_channel":{"start":` + isoStartJSON + `,"end":"2025-05-14T21:30:05+02:00","type":"shared"}}`,
		want:    ChannelExpire{Action: ActionReconnect},
		err:     "system command channel_expire: new_channel.id: missing",
	},
	{
		name:    "malformed new_channel: ends before it starts",
		command: "channel_expire",
		params:  `{"action":"reconnect","new_channel":{"id":"` + testNewSharedID + `","start":"2025-05-14T21:30:05+02:00","end":` + isoStartJSON + `}}`,
		want:    ChannelExpire{Action: ActionReconnect},
		err:     "system command channel_expire: new_channel.end: not after start",
	},
	{
		name:    "malformed new_channel: a type that is not a string",
		command: "channel_expire",
		params:  `{"action":"reconnect","new_channel":{"id":"` + testNewSharedID + `","start":` + isoStartJSON + `,"end":"2025-05-14T21:30:05+02:00","type":5}}`,
		want:    ChannelExpire{Action: ActionReconnect},
		err:     "system command channel_expire: new_channel.type: not a string",
	},
	{
		name:    "malformed new_channel: not an object",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `","type":"shared"},"new_channel":"` + testNewSharedID + `"}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testSharedID, Type: "shared"}, Action: ActionReconnect},
		err:     "system command channel_expire: new_channel: not an object",
	},
	{
		name:    "garbage action",
		command: "channel_expire",
		params:  `{"action":1,"channel":{"id":"` + testSharedID + `","type":"shared"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testSharedID, Type: "shared"}},
		err:     "system command channel_expire: action: not a string",
	},
	{
		name:    "garbage channel",
		command: "channel_expire",
		params:  `{"action":"get_config","channel":"` + testSharedID + `"}`,
		want:    ChannelExpire{Action: ActionGetConfig},
		err:     "system command channel_expire: channel: not an object",
	},
	{
		name:    "a channel id that is not a string is kept as its JSON text",
		command: "channel_expire",
		params:  `{"action":"get_config","channel":{"id":12345,"type":"private"}}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: "12345", Type: "private"}, Action: ActionGetConfig},
		err:     "system command channel_expire: channel.id: not a string",
	},
	{
		name:    "garbage channel type; the first problem is the one reported",
		command: "channel_expire",
		params:  `{"action":"get_config","channel":{"id":"` + testSharedID + `","type":[]},"new_channel":7}`,
		want:    ChannelExpire{Channel: ChannelRef{ID: testSharedID}, Action: ActionGetConfig},
		err:     "system command channel_expire: channel.type: not a string",
	},
	{
		name:    "params that are not an object",
		command: "channel_expire",
		params:  `"` + testSharedID + `"`,
		want:    ChannelExpire{},
		err:     "system command channel_expire: params are not a JSON object",
	},
	{
		name:    "params that are not JSON",
		command: "channel_expire",
		params:  `{"action":"reconnect","channel":{"id":"` + testSharedID + `"`,
		want:    ChannelExpire{},
		err:     "system command channel_expire: params are not a JSON object",
	},
	{name: "config_expire", command: "config_expire", params: `{}`, want: ConfigExpire{}},
	{name: "config_expire with PHP's empty array", command: "CONFIG_EXPIRE", params: `[]`, want: ConfigExpire{}},
	{
		name: "config_expire with params that are not an object", command: "config_expire", params: `[1]`,
		want: ConfigExpire{}, err: "system command config_expire: params are not a JSON object",
	},
	{name: "server_restart", command: "server_restart", params: `{}`, want: ServerRestart{}},
	{name: "server_restart in mixed case", command: "Server_Restart", params: `{"ignored":true}`, want: ServerRestart{}},
	{
		name: "server_restart with params that are not JSON", command: "server_restart", params: `{`,
		want: ServerRestart{}, err: "system command server_restart: params are not a JSON object",
	},
	{name: "open (versions below 3)", command: "open", params: `{}`, want: Ignored{Command: "open"}},
	{name: "open_exists", command: "open_exists", params: `{}`, want: Ignored{Command: "open_exists"}},
	{name: "reopen", command: "reopen", params: `{}`, want: Ignored{Command: "reopen"}},
	{name: "an unknown command, params unread", command: "Something_Else", params: `not json`, want: Ignored{Command: "Something_Else"}},
	{name: "no command", command: "", params: `{}`, want: Ignored{}},
}

func TestParseSystem(t *testing.T) {
	t.Parallel()
	for _, tc := range systemCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSystem(tc.command, []byte(tc.params))
			assert.Equal(t, tc.want, inUTC(got))
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			var se *SystemError
			assert.True(t, errors.As(err, &se))
			for _, id := range []string{testSharedID, testNewSharedID, testPrivateID} {
				assert.NotContains(t, err.Error(), id, "errors never quote a channel id")
			}
		})
	}
}

// inUTC returns sys with the times of a ChannelExpire's new_channel in UTC (an ISO date keeps its
// offset), so that the table can compare whole values.
func inUTC(sys System) System {
	if e, ok := sys.(ChannelExpire); ok && e.NewChannel != nil {
		nc := *e.NewChannel
		nc.Start, nc.End = nc.Start.UTC(), nc.End.UTC()
		e.NewChannel = &nc
		return e
	}
	return sys
}

// parseExpire decodes a channel_expire that the test expects to read cleanly.
func parseExpire(t *testing.T, params string) ChannelExpire {
	t.Helper()
	sys, err := ParseSystem("channel_expire", []byte(params))
	require.NoError(t, err)
	return sys.(ChannelExpire)
}

func TestChannelExpireReplacement(t *testing.T) {
	t.Parallel()
	v4 := &Config{Channels: Channels{
		Private: &Channel{ID: testPrivateID, Type: "private"},
		Shared:  &Channel{ID: testSharedID, Type: "shared"},
	}}
	v5 := &Config{JWT: testJWT, Channels: Channels{Shared: &Channel{ID: testSharedID, Type: "shared"}}}
	onlyPrivate := &Config{Channels: Channels{Private: &Channel{ID: testPrivateID, Type: "private"}}}
	notice := func(action, channel, newChannel string) string {
		p := `{"action":"` + action + `"`
		if channel != "" {
			p += `,"channel":` + channel
		}
		if newChannel != "" {
			p += `,"new_channel":` + newChannel
		}
		return p + `}`
	}
	shared := `{"id":"` + testSharedID + `","type":"shared"}`
	sharedApp := `{"id":"` + testSharedID + `","type":"local.app"}`
	private := `{"id":"` + testPrivateID + `","type":"private"}`
	privateApp := `{"id":"` + testPrivateID + `","type":"local.app"}`
	other := `{"id":"` + testOtherID + `","type":"shared"}`
	newShared := newChannelJSON(testNewSharedID, "shared", isoStartJSON)
	newPrivate := newChannelJSON(testNewPrivateID, "private", isoStartJSON)
	newApp := newChannelJSON(testNewSharedID, "local.app", isoStartJSON)

	for _, tc := range []struct {
		name    string
		cfg     *Config
		params  string
		want    string // the id of the replacement, "" for none
		typ     string
		success bool // Successor agrees (reconnect, no token)
	}{
		{"shared replaces shared", v4, notice("reconnect", shared, newShared), testNewSharedID, "shared", true},
		{"private replaces private", v4, notice("reconnect", private, newPrivate), testNewPrivateID, "private", true},
		{"a new_channel without the channel it replaces", v4, notice("reconnect", "", newShared), testNewSharedID, "shared", true},
		{"app-typed for the config's shared channel becomes shared", v4, notice("reconnect", sharedApp, newApp), testNewSharedID, "shared", true},
		{"get_config: replaceable, but no successor", v4, notice("get_config", shared, newShared), testNewSharedID, "shared", false},
		{"with a token only a reload moves channels", v5, notice("reconnect", shared, newShared), testNewSharedID, "shared", false},
		{"no new_channel", v4, notice("reconnect", shared, ""), "", "", false},
		{"a channel already replaced", v4, notice("reconnect", other, newShared), "", "", false},
		{"the notice names the other channel", v4, notice("reconnect", private, newShared), "", "", false},
		{"new_channel is the channel in use", v4, notice("reconnect", shared, newChannelJSON(testSharedID, "shared", isoStartJSON)), "", "", false},
		{"private, but the config has none (version 5)", v5, notice("reconnect", "", newPrivate), "", "", false},
		{"shared, but the config has none", onlyPrivate, notice("reconnect", "", newShared), "", "", false},
		{"app-typed for the app's per-user channel", v4, notice("reconnect", privateApp, newApp), "", "", false},
		{"app-typed without the channel it replaces", v4, notice("reconnect", "", newApp), "", "", false},
		{"app-typed, but the config has no shared channel", onlyPrivate, notice("reconnect", sharedApp, newApp), "", "", false},
		{"app-typed from the cleanup path (unix start)", v4, notice("reconnect", sharedApp, newChannelJSON(testNewSharedID, "local.app", "1747207800")), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parseExpire(t, tc.params)
			ch, ok := e.Replacement(tc.cfg.Channels)
			if tc.want == "" {
				assert.False(t, ok)
				assert.Nil(t, ch)
			} else {
				require.True(t, ok)
				assert.Equal(t, tc.want, ch.ID)
				assert.Equal(t, tc.typ, ch.Type)
				assert.True(t, isoStart.Equal(ch.Start), "start %v", ch.Start)
				assert.True(t, isoEnd.Equal(ch.End), "end %v", ch.End)
				assert.NotSame(t, e.NewChannel, ch, "the caller gets its own copy")
			}
			succ, ok := e.Successor(tc.cfg)
			assert.Equal(t, tc.success, ok)
			if tc.success {
				assert.Equal(t, ch, succ)
			} else {
				assert.Nil(t, succ)
			}
		})
	}

	// The copy handed out is typed as the config's channel; the decoded notice keeps the type as sent.
	e := parseExpire(t, notice("reconnect", sharedApp, newApp))
	ch, ok := e.Replacement(v4.Channels)
	require.True(t, ok)
	ch.ID = "changed"
	assert.Equal(t, "local.app", e.NewChannel.Type)
	assert.Equal(t, testNewSharedID, e.NewChannel.ID)
}

func TestSystemErrorWithoutField(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "system command server_restart: params are not a JSON object",
		(&SystemError{Command: "server_restart", Reason: "params are not a JSON object"}).Error())
	assert.Equal(t, "system command channel_expire: new_channel: not an object",
		(&SystemError{Command: "channel_expire", Field: "new_channel", Reason: "not an object"}).Error())
}

// FuzzParseSystem feeds arbitrary commands and params to ParseSystem and asks the result about both
// kinds of config: nothing may panic, a value always comes back, errors are *SystemError, and what
// is trusted is consistent with what was read.
func FuzzParseSystem(f *testing.F) {
	for _, tc := range systemCases {
		f.Add(tc.command, []byte(tc.params))
	}
	cfgs := []*Config{
		{Channels: Channels{Private: &Channel{ID: testPrivateID}, Shared: &Channel{ID: testSharedID}}},
		{JWT: testJWT, Channels: Channels{Shared: &Channel{ID: testSharedID}}},
		{},
	}
	f.Fuzz(func(t *testing.T, command string, params []byte) {
		sys, err := ParseSystem(command, params)
		if sys == nil {
			t.Fatal("no value")
		}
		if err != nil {
			var se *SystemError
			if !errors.As(err, &se) {
				t.Fatalf("untyped error: %v", err)
			}
		}
		switch s := sys.(type) {
		case Ignored:
			if s.Command != command {
				t.Fatalf("ignored %q as %q", command, s.Command)
			}
			if err != nil {
				t.Fatalf("error for an ignored command: %v", err)
			}
		case ChannelExpire:
			if s.NewChannel == nil && s.Trust != TrustNone {
				t.Fatalf("trust %d without a new_channel", s.Trust)
			}
			if nc := s.NewChannel; nc != nil && (nc.ID == "" || !nc.End.After(nc.Start)) {
				t.Fatalf("unusable new_channel kept: %+v", nc)
			}
			for _, cfg := range cfgs {
				ch, ok := s.Replacement(cfg.Channels)
				if !ok {
					if ch != nil {
						t.Fatal("a channel without ok")
					}
					continue
				}
				if ch.Type != "private" && ch.Type != "shared" {
					t.Fatalf("replacement typed %q", ch.Type)
				}
				cur := cfg.Channels.Shared
				if ch.Type == "private" {
					cur = cfg.Channels.Private
				}
				if cur == nil || cur.ID == ch.ID {
					t.Fatal("a replacement for no channel, or the same one")
				}
				_, _ = s.Successor(cfg)
			}
		case ConfigExpire, ServerRestart:
		default:
			t.Fatalf("unexpected %T", sys)
		}
	})
}

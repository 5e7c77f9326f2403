package protocol

import (
	"sort"
	"strings"
	"time"
)

// Wire is the format of the frames a connection carries (docs/protocol.md §1.4, §6.1).
type Wire int

// Wire formats.
const (
	// WireText is the legacy text framing (#!NGINXNMS!#…#!NGINXNME!#) of versions 1–3.
	WireText Wire = iota
	// WireProtobuf is the binary framing of version 4, asked for with binaryMode=true.
	WireProtobuf
	// WireJSONRPC is JSON-RPC 2.0 over text frames, version 5 and later, asked for with jsonRpc=true.
	WireJSONRPC
)

// String returns "text", "protobuf" or "json-rpc".
func (w Wire) String() string {
	switch w {
	case WireProtobuf:
		return "protobuf"
	case WireJSONRPC:
		return "json-rpc"
	default:
		return "text"
	}
}

// Wire returns the wire format to use with this server: JSON-RPC for version 5 and later, protobuf
// for version 4 (a browser always has what the binary mode needs), legacy text otherwise.
func (c *Config) Wire() Wire {
	switch {
	case c.Server.Version >= 5:
		return WireJSONRPC
	case c.Server.Version == 4:
		return WireProtobuf
	default:
		return WireText
	}
}

// IsShared reports whether the server runs in shared (cloud) mode, where every URL needs clientId.
func (c *Config) IsShared() bool { return c.Server.Mode == ModeShared }

// WebSocketEnabled reports whether the server accepts WebSocket connections: server.websocket_enabled,
// and always for version 5 and later, where the WebSocket is the only transport.
func (c *Config) WebSocketEnabled() bool {
	return c.Server.Version >= 5 || c.Server.WebSocketEnabled
}

// LongPollingAllowed reports whether long polling may be used: not for version 5 and later, where the
// JSON-RPC control frames cannot travel over it (docs/protocol.md §5.2).
func (c *Config) LongPollingAllowed() bool { return c.Server.Version < 5 }

// PublishingEnabled reports whether the client may publish messages itself (docs/protocol.md §1.4):
// always for version 5 and later (the publish RPC), otherwise for version 4 and later with
// server.publish_enabled.
func (c *Config) PublishingEnabled() bool {
	if c.Server.Version >= 5 {
		return true
	}
	return c.Server.Version > 3 && c.Server.PublishEnabled
}

// Expiry returns the earliest of the channels' end times and exp, all on the server's clock; zero when
// the config carries none of them. Renewal is due at Expiry plus TimeShift on the local clock
// (docs/protocol.md §15).
func (c *Config) Expiry() time.Time {
	var first time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	for _, ch := range []*Channel{c.Channels.Private, c.Channels.Shared} {
		if ch != nil {
			consider(ch.End)
		}
	}
	if c.Exp > 0 {
		consider(time.Unix(c.Exp, 0).UTC())
	}
	return first
}

// minSecretPart is the shortest piece of a composite secret that Secrets lists on its own; shorter
// pieces would make redaction mask ordinary text.
const minSecretPart = 8

// Secrets returns every secret string of the config, longest first and without duplicates, for
// Redact: the signed channel ids and public ids whole and split into their raw ids and signatures
// (so they are caught percent-encoded too), the JWT whole and by segment, the clientId, and the
// publicChannels ids and signatures.
func (c *Config) Secrets() []string {
	set := map[string]struct{}{}
	add := func(s string, split bool) {
		if s == "" {
			return
		}
		set[s] = struct{}{}
		if !split {
			return
		}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '.' }) {
			if len(part) >= minSecretPart {
				set[part] = struct{}{}
			}
		}
	}
	for _, ch := range []*Channel{c.Channels.Private, c.Channels.Shared} {
		if ch != nil {
			add(ch.ID, true)
			add(ch.PublicID, true)
		}
	}
	add(c.JWT, true)
	add(c.ClientID, false)
	for _, pc := range c.PublicChannels {
		add(pc.PublicID, true)
		add(pc.Signature, true)
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sortLongestFirst(out)
	return out
}

func sortLongestFirst(s []string) {
	sort.Slice(s, func(i, j int) bool {
		if len(s[i]) != len(s[j]) {
			return len(s[i]) > len(s[j])
		}
		return s[i] < s[j]
	})
}

// ConfigFacts is what debug output may show of a config: no id, signature, token or clientId.
type ConfigFacts struct {
	Version            int            `json:"version"`
	Mode               string         `json:"mode"`
	Wire               string         `json:"wire"`
	WebSocketEnabled   bool           `json:"websocketEnabled"`
	LongPollingAllowed bool           `json:"longPollingAllowed"`
	PublishingEnabled  bool           `json:"publishingEnabled"`
	Channels           []ChannelFacts `json:"channels"`
	HasJWT             bool           `json:"hasJwt"`
	HasClientID        bool           `json:"hasClientId"`
	PublicChannels     int            `json:"publicChannels"`
	// Exp is the config expiry in unix seconds (server clock), 0 when absent.
	Exp int64 `json:"exp,omitempty"`
	// Expiry is Config.Expiry(): the earliest end or exp on the server clock.
	Expiry time.Time `json:"expiry,omitzero"`
	// TimeShift is local minus server clock in whole seconds.
	TimeShift       int64 `json:"timeShift"`
	ConfigTimestamp int64 `json:"configTimestamp"`
	RevisionWeb     int   `json:"revisionWeb"`
	RevisionMobile  int   `json:"revisionMobile"`
}

// ChannelFacts describes one channel without its id. Type is "private" or "shared" as sent; any other
// type (an app's client id, docs/protocol.md §2.4) is shown as "app".
type ChannelFacts struct {
	Name  string    `json:"name"`
	Type  string    `json:"type"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Facts returns the non-secret facts of the config, for getDebugInfo() and logs.
func (c *Config) Facts() ConfigFacts {
	f := ConfigFacts{
		Version:            c.Server.Version,
		Mode:               c.Server.Mode,
		Wire:               c.Wire().String(),
		WebSocketEnabled:   c.WebSocketEnabled(),
		LongPollingAllowed: c.LongPollingAllowed(),
		PublishingEnabled:  c.PublishingEnabled(),
		Channels:           []ChannelFacts{},
		HasJWT:             c.JWT != "",
		HasClientID:        c.ClientID != "",
		PublicChannels:     len(c.PublicChannels),
		Exp:                c.Exp,
		Expiry:             c.Expiry(),
		TimeShift:          int64(c.TimeShift / time.Second),
		ConfigTimestamp:    c.Server.ConfigTimestamp,
		RevisionWeb:        c.API.RevisionWeb,
		RevisionMobile:     c.API.RevisionMobile,
	}
	for _, ch := range []struct {
		name string
		ch   *Channel
	}{{"private", c.Channels.Private}, {"shared", c.Channels.Shared}} {
		if ch.ch == nil {
			continue
		}
		typ := ch.ch.Type
		if typ != "private" && typ != "shared" && typ != "" {
			typ = "app"
		}
		f.Channels = append(f.Channels, ChannelFacts{Name: ch.name, Type: typ, Start: ch.ch.Start, End: ch.ch.End})
	}
	return f
}

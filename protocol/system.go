package protocol

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"
)

// System is one decoded system command, a message of module "pull" (docs/protocol.md §11): a
// ChannelExpire, a ConfigExpire, a ServerRestart, or Ignored for every other command.
type System interface{ isSystem() }

// ExpireAction is what a channel_expire asks the client to do (docs/protocol.md §11).
type ExpireAction int

// Actions of channel_expire. The portal sends get_config for private channels and reconnect for every
// other type; any other value, or none, is ActionOther, which a client treats like get_config.
const (
	ActionOther ExpireAction = iota
	ActionReconnect
	ActionGetConfig
)

// NewChannelTrust says how far a channel_expire's new_channel can be believed from the notice alone;
// Replacement adds what the config in use decides (docs/protocol.md §11).
type NewChannelTrust int

const (
	// TrustNone: no usable new_channel, or one typed by an app's client id that comes from the portal's
	// cleanup path (a unix start), which describes the portal's default shared channel rather than the
	// successor of the app's.
	TrustNone NewChannelTrust = iota
	// TrustTyped: new_channel is typed "private" or "shared" and replaces the config's channel of
	// that type.
	TrustTyped
	// TrustIfShared: new_channel has another type (an app's channels are typed by its client id,
	// docs/protocol.md §2.4) and an ISO start, as the portal writes it on finding the channel expired
	// (CPullChannel::Get): it replaces the config's shared channel when the notice is about that very
	// channel.
	TrustIfShared
)

// ChannelExpire is channel_expire: the channel it is about has expired on the portal, which either
// names its successor in new_channel or expects the client to reload the config.
type ChannelExpire struct {
	// Channel is the expired channel as the notice names it; both fields are empty when it names none.
	Channel ChannelRef
	Action  ExpireAction
	// NewChannel is new_channel with its start and end parsed (see ParseChannel), its Type as sent;
	// nil when the notice carries none or one that cannot be read.
	NewChannel *Channel
	// Trust says whether NewChannel may replace a channel of the config; TrustNone when it is nil.
	Trust NewChannelTrust
}

// ChannelRef names the channel a channel_expire is about: ID is its signed id, Type its stored type
// ("private", "shared", or an app's client id). A channel.id that is not a JSON string is kept as
// its JSON text: it matches no channel of a config, as no channel id is written that way.
type ChannelRef struct {
	ID   string
	Type string
}

// ConfigExpire is config_expire: the portal's config changed, and the client reloads it.
type ConfigExpire struct{}

// ServerRestart is server_restart: the push server is restarting.
type ServerRestart struct{}

// Ignored is any other command of module "pull" (open, open_exists and reopen from versions below
// 3 among them), which a client does nothing with. Command is as sent.
type Ignored struct{ Command string }

func (ChannelExpire) isSystem() {}
func (ConfigExpire) isSystem()  {}
func (ServerRestart) isSystem() {}
func (Ignored) isSystem()       {}

// SystemError reports what could not be read in a system command's params. Field is the JSON path
// ("new_channel.start", empty for params as a whole); Reason says what is wrong without quoting the
// value, which may be a channel id.
type SystemError struct {
	Command string
	Field   string
	Reason  string
}

// Error implements error: "system command <command>: <field>: <reason>".
func (e *SystemError) Error() string {
	if e.Field == "" {
		return "system command " + e.Command + ": " + e.Reason
	}
	return "system command " + e.Command + ": " + e.Field + ": " + e.Reason
}

// ParseSystem decodes a system command from its command and params (docs/protocol.md §11). Commands
// are compared in upper case. It always returns the command's value, never nil: on an error, which
// says what could not be read, the value holds what could be, the rest left empty, because the
// command still means what it says (a channel_expire that cannot be read still tells that a channel
// has expired, and a reload of the config is the answer to it). params that are empty, null or []
// (PHP's empty object) read as {}; those of an Ignored command are not read at all.
func ParseSystem(command string, params []byte) (System, error) {
	var sys System
	switch strings.ToUpper(command) {
	case "CHANNEL_EXPIRE":
		sys = ChannelExpire{}
	case "CONFIG_EXPIRE":
		sys = ConfigExpire{}
	case "SERVER_RESTART":
		sys = ServerRestart{}
	default:
		return Ignored{Command: command}, nil
	}
	obj, ok := NormalizeObject(params)
	if !ok {
		return sys, &SystemError{Command: strings.ToLower(command), Reason: "params are not a JSON object"}
	}
	if _, ok := sys.(ChannelExpire); ok {
		return parseChannelExpire(gjson.ParseBytes(obj))
	}
	// config_expire and server_restart carry nothing the client reads.
	return sys, nil
}

// parseChannelExpire reads channel_expire's params, {action, channel: {id, type}, new_channel?: {id,
// start, end, type}}, keeping the first problem met as the error.
func parseChannelExpire(p gjson.Result) (System, error) {
	var e ChannelExpire
	var err *SystemError
	fail := func(field, reason string) {
		if err == nil {
			err = &SystemError{Command: "channel_expire", Field: field, Reason: reason}
		}
	}
	switch a := p.Get("action"); {
	case a.Type == gjson.String && a.Str == "reconnect":
		e.Action = ActionReconnect
	case a.Type == gjson.String && a.Str == "get_config":
		e.Action = ActionGetConfig
	case a.Type != gjson.String && a.Type != gjson.Null:
		fail("action", "not a string")
	}
	if ch := p.Get("channel"); ch.IsObject() {
		id := ch.Get("id")
		e.Channel.ID = id.String()
		if id.Type != gjson.String && id.Type != gjson.Null {
			fail("channel.id", "not a string")
		}
		if typ := ch.Get("type"); typ.Type == gjson.String {
			e.Channel.Type = typ.Str
		} else if typ.Type != gjson.Null {
			fail("channel.type", "not a string")
		}
	} else if ch.Type != gjson.Null {
		fail("channel", "not an object")
	}
	if nc := p.Get("new_channel"); nc.Type != gjson.Null {
		ch, perr := ParseChannel(nc, "new_channel")
		if perr != nil {
			var ce *ConfigError
			if errors.As(perr, &ce) {
				fail(ce.Field, ce.Reason)
			} else {
				fail("new_channel", "unreadable")
			}
		} else {
			e.NewChannel = ch
			switch {
			case ch.Type == "private" || ch.Type == "shared":
				e.Trust = TrustTyped
			case nc.Get("start").Type == gjson.String:
				e.Trust = TrustIfShared
			}
		}
	}
	if err != nil {
		return e, err
	}
	return e, nil
}

// Replacement returns new_channel when it can replace, in place, a channel that chans holds: typed
// "private" or "shared", the config's channel of that type; typed otherwise (an app's client id) with
// an ISO start, the config's shared channel when the notice is about it (docs/protocol.md §11). The
// channel it replaces must be the one the notice names, when it names one, and new_channel must be
// another channel. The result is a copy of new_channel typed "private" or "shared", which the
// caller may keep.
func (e ChannelExpire) Replacement(chans Channels) (*Channel, bool) {
	if e.NewChannel == nil {
		return nil, false
	}
	typ := e.NewChannel.Type
	var cur *Channel
	switch e.Trust {
	case TrustTyped:
		if typ == "private" {
			cur = chans.Private
		} else {
			cur = chans.Shared
		}
	case TrustIfShared:
		if sh := chans.Shared; sh != nil && e.Channel.ID == sh.ID {
			typ, cur = "shared", sh
		}
	}
	if cur == nil {
		return nil, false
	}
	if e.Channel.ID != "" && e.Channel.ID != cur.ID {
		return nil, false
	}
	if e.NewChannel.ID == cur.ID {
		return nil, false
	}
	ch := *e.NewChannel
	ch.Type = typ
	return &ch, true
}

// Successor returns the channel that replaces, in place, one of cfg's channels: the notice asks for a
// reconnect, cfg carries no token, and Replacement accepts new_channel. With a JWT (version 5) the
// token's chan claim, not the config's ids, names the channels a connection subscribes, so only a
// reload, which signs a new token, can move to a new channel (docs/protocol.md §11).
func (e ChannelExpire) Successor(cfg *Config) (*Channel, bool) {
	if e.Action != ActionReconnect || cfg.JWT != "" {
		return nil, false
	}
	return e.Replacement(cfg.Channels)
}

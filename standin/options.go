package standin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	// DefaultVersion is the server version reported when Options.Version is 0.
	DefaultVersion = 4
	// DefaultChannelLifetime is the portal's CHANNEL_TTL: a channel ends 43205 s after it starts.
	DefaultChannelLifetime = 43205 * time.Second
	// DefaultLongPollHold is how long the push server holds an idle long-polling request.
	DefaultLongPollHold = 40 * time.Second
	// DefaultSignatureKey is the HMAC key shared by the portal and the push server.
	DefaultSignatureKey = "b24pull-standin-key"
	// DefaultAppClientID is the client_id of the application whose channels the portal hands out.
	DefaultAppClientID = "local.b24pull.standin"
	// DefaultAddr is where each listener binds when no address is given: loopback, any free port.
	DefaultAddr = "127.0.0.1:0"
)

// Modes of Options.Mode.
const (
	ModePersonal = "personal"
	ModeShared   = "shared"
)

// Options configures a stand-in. The zero value is a version 4 personal server on two free loopback
// ports.
type Options struct {
	// Version is the push server generation: 3, 4 (default) or 5.
	Version int
	// Mode is "personal" (default) or "shared". In shared mode the config carries clientId and every
	// connection URL must name it. Version 3 has no shared mode.
	Mode string
	// ChannelLifetime is how long a channel lives from its start; default 43205 s. The JWT of
	// version 5 lives 5 s less when the lifetime is over 10 s, as the portal's 43200 s token does.
	ChannelLifetime time.Duration
	// TokenLifetime, when set, is how long the JWT of version 5 lives instead (a soak that compresses
	// channels to seconds can keep tokens from lapsing during an outage, as twelve-hour ones never do).
	TokenLifetime time.Duration
	// Coalesce is the websocket coalescing window: the first frame goes out at once, further messages
	// within the window are joined into one frame. Default 0: every message is its own frame (Push
	// server 2.0 uses 400 ms).
	Coalesce time.Duration
	// LongPollHold is how long an idle long-polling request is held before the 304; default 40 s.
	LongPollHold time.Duration
	// SignatureKey is the HMAC-SHA1 key for channel signatures and the JWT; default
	// "b24pull-standin-key".
	SignatureKey string
	// AppClientID is the app's client_id: the app's channels are typed with it; default
	// "local.b24pull.standin".
	AppClientID string
	// PortalAddr and PushAddr are the listen addresses, "127.0.0.1:0" by default. Only loopback
	// hosts are accepted.
	PortalAddr, PushAddr string
	// Handler, when set, is served by the portal listener for every path the stand-in does not own
	// (demo pages).
	Handler http.Handler
	// Logf, when set, receives one line per notable event. It never receives secrets.
	Logf func(format string, args ...any)
	// AcceptRetired makes the push server accept channel ids (and JWT channels) the portal rotated
	// away, as Push server 2.0 does: it checks only the signature, so a client that reconnects with
	// its old ids still gets what was stored for them, channel_expire included. By default they are
	// refused, the stricter case, in which what was sent to an old channel while the client was away
	// cannot be replayed.
	AcceptRetired bool
	// PublishDisabled switches client publishing off, as a portal whose web publishing option is off
	// does: version 4 configs say publish_enabled false, and the push server refuses every client
	// incomingMessages request of version 4 with close 4014 "Request command is not allowed." (HTTP 400
	// "4014: …" on the publish route), as Push server 2.0 answers an untrusted command outside its set of
	// public commands; channelStats stays allowed. Versions 3 and 5 ignore it: version 3 has no client
	// publishing, and the JSON-RPC client publishes through the publish RPC without reading the flag
	// (docs/protocol.md §17).
	PublishDisabled bool
	// Trace, when set, is called, with the server locked, for every message stored ("publish": its id,
	// the raw channel keys and the body), every subscription ("subscribe": the keys and the id it
	// resumes from), every config answer ("config": the keys its private and shared channels
	// publish to) and every channel made ("channel": its key). It lets a test explain a lost delivery; keys are secrets, keep them in the test.
	Trace func(what string, keys []string, mid string, body []byte)
}

// ErrNotLoopback is returned by Start for a listen address outside the loopback interface.
var ErrNotLoopback = errors.New("standin: listen address is not loopback")

// withDefaults fills the defaults and validates o.
func (o Options) withDefaults() (Options, error) {
	if o.Version == 0 {
		o.Version = DefaultVersion
	}
	if o.Version < 3 || o.Version > 5 {
		return o, fmt.Errorf("standin: unsupported version %d (want 3, 4 or 5)", o.Version)
	}
	switch o.Mode {
	case "":
		o.Mode = ModePersonal
	case ModePersonal, ModeShared:
	default:
		return o, fmt.Errorf("standin: unknown mode %q (want personal or shared)", o.Mode)
	}
	if o.Mode == ModeShared && o.Version == 3 {
		return o, errors.New("standin: version 3 has no shared mode")
	}
	if o.ChannelLifetime <= 0 {
		o.ChannelLifetime = DefaultChannelLifetime
	}
	if o.Coalesce < 0 {
		return o, errors.New("standin: negative coalescing window")
	}
	if o.LongPollHold <= 0 {
		o.LongPollHold = DefaultLongPollHold
	}
	if o.SignatureKey == "" {
		o.SignatureKey = DefaultSignatureKey
	}
	if o.AppClientID == "" {
		o.AppClientID = DefaultAppClientID
	}
	if o.PortalAddr == "" {
		o.PortalAddr = DefaultAddr
	}
	if o.PushAddr == "" {
		o.PushAddr = DefaultAddr
	}
	for _, addr := range []string{o.PortalAddr, o.PushAddr} {
		if err := checkLoopback(addr); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkLoopback refuses any listen address whose host is not a loopback name or address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("standin: bad listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	return nil
}

// jwtLifetime is the JWT lifetime for a channel lifetime: 43205 s channels get the portal's 43200 s
// token. token, when positive, is Options.TokenLifetime, which wins.
func jwtLifetime(channel, token time.Duration) time.Duration {
	if token > 0 {
		return token
	}
	if channel > 10*time.Second {
		return channel - 5*time.Second
	}
	return channel
}

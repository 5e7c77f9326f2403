package protocol

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Transport is how a connection reaches the push server.
type Transport int

// Transports.
const (
	TransportWebSocket Transport = iota
	TransportLongPolling
)

// String returns "websocket" or "long-polling".
func (t Transport) String() string {
	if t == TransportLongPolling {
		return "long-polling"
	}
	return "websocket"
}

// Resume is where a new connection picks up (docs/protocol.md §8): the last message id, or for versions
// 1–2 the nginx tag and time. Empty fields are left out of the URL.
type Resume struct {
	MID  string
	Tag  string
	Time string
}

// ConnectionURL builds the URL to open for transport t (docs/protocol.md §4): the base from the config
// (the _secure URL when the page is served over HTTPS), then token=<jwt> or
// CHANNEL_ID=<private>/<shared>, jsonRpc=true (version ≥ 5) or binaryMode=true (version 4), clientId in
// shared mode, mid/tag/time when set, and revision=19, each key and value encoded as encodeURIComponent
// does.
//
// It fails with ErrEmptyPath when the base URL is empty, ErrNoChannels when there is neither a JWT nor
// a channel id, and ErrSharedWithoutClientID in shared mode without clientId. A channel id that
// repeats is sent once. Whether long polling suits the server is for the caller to decide
// (LongPollingAllowed); the URL is built all the same.
func (c *Config) ConnectionURL(t Transport, secure bool, r Resume) (string, error) {
	return c.ConnectionURLFor(t, secure, r, c.ChannelIDs())
}

// ConnectionURLFor is ConnectionURL with the channels to subscribe named by the caller: ids are signed
// channel ids, joined in their order into CHANNEL_ID (a repeated one is sent once), which lets one
// connection read channels of several configs of the same server (docs/protocol.md §21.3: a push
// server subscribes every channel of the list). With a JWT the token names the channels and ids are
// not sent.
func (c *Config) ConnectionURLFor(t Transport, secure bool, r Resume, ids []string) (string, error) {
	base, key := c.Server.WebSocket, "server.websocket"
	switch {
	case t == TransportWebSocket && secure:
		base, key = c.Server.WebSocketSecure, "server.websocket_secure"
	case t == TransportLongPolling && secure:
		base, key = c.Server.LongPollingSecure, "server.long_pooling_secure"
	case t == TransportLongPolling:
		base, key = c.Server.LongPolling, "server.long_polling"
	}
	if base == "" {
		return "", fmt.Errorf("failed to build the %s URL: %s is empty: %w", t, key, ErrEmptyPath)
	}
	if secure && !secureScheme(base) {
		return "", fmt.Errorf("failed to build the %s URL: %s is not a wss:// or https:// URL: %w", t, key, ErrInsecureURL)
	}
	var q query
	if c.JWT != "" {
		q.add("token", c.JWT)
	} else {
		joined, err := joinChannelIDs(ids)
		if err != nil {
			return "", fmt.Errorf("failed to build the %s URL: %w", t, err)
		}
		q.add("CHANNEL_ID", joined)
	}
	switch c.Wire() {
	case WireJSONRPC:
		q.add("jsonRpc", "true")
	case WireProtobuf:
		q.add("binaryMode", "true")
	}
	if c.IsShared() {
		if c.ClientID == "" {
			return "", fmt.Errorf("failed to build the %s URL: %w", t, ErrSharedWithoutClientID)
		}
		q.add("clientId", c.ClientID)
	}
	q.add("mid", r.MID)
	q.add("tag", r.Tag)
	q.add("time", r.Time)
	q.add("revision", strconv.Itoa(Revision))
	return q.appendTo(base), nil
}

// PublicationURL builds the URL a long-polling client POSTs its messages to (docs/protocol.md §4,
// "Publication path"): server.publish_secure (secure) or server.publish plus
// CHANNEL_ID=<private>/<shared>. It returns "" with ErrEmptyPath when that publish URL is empty and
// ErrNoChannels when there is no channel id.
func (c *Config) PublicationURL(secure bool) (string, error) {
	base, key := c.Server.Publish, "server.publish"
	if secure {
		base, key = c.Server.PublishSecure, "server.publish_secure"
	}
	if base == "" {
		return "", fmt.Errorf("failed to build the publication URL: %s is empty: %w", key, ErrEmptyPath)
	}
	if secure && !secureScheme(base) {
		return "", fmt.Errorf("failed to build the publication URL: %s is not an https:// URL: %w", key, ErrInsecureURL)
	}
	ids, err := joinChannelIDs(c.ChannelIDs())
	if err != nil {
		return "", fmt.Errorf("failed to build the publication URL: %w", err)
	}
	var q query
	q.add("CHANNEL_ID", ids)
	return q.appendTo(base), nil
}

// secureScheme reports whether raw starts with wss:// or https:// (any case).
func secureScheme(raw string) bool {
	lower := strings.ToLower(raw)
	return strings.HasPrefix(lower, "wss://") || strings.HasPrefix(lower, "https://")
}

// ChannelIDs returns the config's signed channel ids, the private one first, then the shared one;
// empty ids are left out.
func (c *Config) ChannelIDs() []string {
	var ids []string
	for _, ch := range []*Channel{c.Channels.Private, c.Channels.Shared} {
		if ch != nil && ch.ID != "" {
			ids = append(ids, ch.ID)
		}
	}
	return ids
}

// joinChannelIDs joins signed channel ids with "/", skipping empty and repeated ids; an id holding
// "/" would split into two and is refused.
func joinChannelIDs(ids []string) (string, error) {
	var out []string
	for _, id := range ids {
		if id == "" || slices.Contains(out, id) {
			continue
		}
		if strings.Contains(id, "/") {
			return "", &ConfigError{Field: "channels", Reason: `a channel id contains "/"`}
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return "", ErrNoChannels
	}
	return strings.Join(out, "/"), nil
}

// query is an ordered list of encoded key=value pairs.
type query []string

// add appends key=value, both encoded; an empty value is left out.
func (q *query) add(key, value string) {
	if value == "" {
		return
	}
	*q = append(*q, encodeURIComponent(key)+"="+encodeURIComponent(value))
}

// appendTo joins the pairs onto base with "?", or with "&" when base already has a query.
func (q query) appendTo(base string) string {
	sep := "?"
	if i := strings.IndexByte(base, '?'); i >= 0 {
		sep = "&"
		if i == len(base)-1 || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	return base + sep + strings.Join(q, "&")
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does: every byte of the UTF-8 form
// except A–Z a–z 0–9 - _ . ! ~ * ' ( ) becomes %XX with upper-case hex. Unlike url.QueryEscape it
// writes a space as %20, never +.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !uriUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func uriUnreserved(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

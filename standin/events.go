package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Portal constants (docs/protocol.md §7, §3.3).
const (
	revisionWeb    = 19
	revisionMobile = 3
	// eventExpiry is the backend's default message expiry.
	eventExpiry = 86400
	// defaultModuleID is the module of pull.application.event.add without MODULE_ID.
	defaultModuleID = "application"
)

var (
	// commandGrammar is pull.application.event.add's COMMAND check (PCRE \w = [A-Za-z0-9_]).
	commandGrammar = regexp.MustCompile(`^[0-9A-Za-z_:|.\-]+$`)
	// moduleForbidden finds a MODULE_ID character the portal refuses.
	moduleForbidden = regexp.MustCompile(`[^a-z0-9._]`)
)

// Errors of Publish.
var (
	ErrBadModuleID = errors.New("standin: module id format error")
	ErrBadCommand  = errors.New("standin: command format error")
	ErrBadParams   = errors.New("standin: params format error")
)

// eventExtra is the extra object the portal adds to every event (docs/protocol.md §7).
type eventExtra struct {
	ServerTime     string  `json:"server_time"`
	ServerTimeUnix float64 `json:"server_time_unix"`
	ServerName     string  `json:"server_name"`
	RevisionWeb    int     `json:"revision_web"`
	RevisionMobile int     `json:"revision_mobile"`
}

type eventBody struct {
	ModuleID string          `json:"module_id"`
	Command  string          `json:"command"`
	Params   json.RawMessage `json:"params"`
	Extra    eventExtra      `json:"extra"`
}

// marshalJSON encodes v without HTML escaping and without the trailing newline.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("{}")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// serverName is the portal's host name as extra.server_name carries it.
func (s *Server) serverName() string {
	host, _, err := net.SplitHostPort(s.portalURL[len("http://"):])
	if err != nil {
		return "127.0.0.1"
	}
	return host
}

// eventBodyJSON builds a message body as lib/event.php does: module_id, command, params, extra.
func (s *Server) eventBodyJSON(module, command string, params json.RawMessage, now time.Time) []byte {
	return marshalJSON(eventBody{
		ModuleID: module,
		Command:  command,
		Params:   params,
		Extra: eventExtra{
			ServerTime:     isoTime(now),
			ServerTimeUnix: float64(now.UnixMicro()) / 1e6,
			ServerName:     s.serverName(),
			RevisionWeb:    revisionWeb,
			RevisionMobile: revisionMobile,
		},
	})
}

// publishBackendLocked publishes a portal event to keys: expiry 86400, sender BACKEND.
func (s *Server) publishBackendLocked(keys []string, body []byte, now time.Time) {
	m := &message{body: body, expiry: eventExpiry, sender: protocol.PBSender{Type: protocol.SenderBackend}}
	if len(keys) > 0 {
		m.channel = keys[0]
	}
	s.publishMessage(keys, m, now)
}

// publishMessage hands m to the hub and counts it.
func (s *Server) publishMessage(keys []string, m *message, now time.Time) {
	s.hub.publish(keys, m, now)
	s.stats.published.Add(1)
	if m.expiry > 0 {
		s.stats.stored.Add(1)
	}
}

// publishAppEventLocked is Event::add for the app: one message to the app private channel of each
// user, or to the app shared channel when users is empty. Expired channels rotate first.
func (s *Server) publishAppEventLocked(users []int, module, command string, params json.RawMessage, now time.Time) {
	var keys []string
	if len(users) == 0 {
		keys = append(keys, s.appSharedLocked(now).priv)
	}
	for _, u := range users {
		keys = append(keys, s.privateTarget(s.appPrivateLocked(u, now)))
	}
	s.publishBackendLocked(keys, s.eventBodyJSON(module, command, params, now), now)
}

// Publish publishes an app event the way pull.application.event.add does for an administrator: to the
// app's private channel of each user, or to the app's shared channel when userIDs holds no positive
// id. moduleID defaults to "application"; params must be a JSON object (or empty). The body gains
// extra, the expiry is 86400 s.
func (s *Server) Publish(userIDs []int, moduleID, command string, params json.RawMessage) error {
	if moduleID == "" {
		moduleID = defaultModuleID
	}
	if moduleForbidden.MatchString(moduleID) {
		return ErrBadModuleID
	}
	if !commandGrammar.MatchString(command) {
		return ErrBadCommand
	}
	p, ok := phpParams(params)
	if !ok {
		return ErrBadParams
	}
	var users []int
	for _, u := range userIDs {
		if u > 0 {
			users = append(users, u)
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishAppEventLocked(users, moduleID, command, p, now)
	return nil
}

// phpParams validates an event's params (a JSON object or array; empty means none) and writes it as
// PHP's json_encode would: an empty map becomes [].
func phpParams(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("[]"), true
	}
	if (raw[0] != '{' && raw[0] != '[') || !json.Valid(raw) {
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, false
	}
	if buf.String() == "{}" {
		return json.RawMessage("[]"), true
	}
	return buf.Bytes(), true
}

// channelRef is the channel object of channel_expire.
type expireChannel struct {
	ID    string `json:"id"`
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	Type  string `json:"type"`
}

type expireParams struct {
	Action     string         `json:"action"`
	Channel    expireChannel  `json:"channel"`
	NewChannel *expireChannel `json:"new_channel,omitempty"`
}

// publishChannelExpireLocked sends pull/channel_expire to the old channel as CPullChannel does:
// action get_config for type "private", reconnect otherwise; new_channel only for shared channels.
// variant "portal" types app channels as "private"/"shared", the way portal channels are typed.
func (s *Server) publishChannelExpireLocked(old, rec *channelRec, variant string, now time.Time) {
	typ := old.kind
	if variant == VariantPortal {
		typ = "private"
		if old.shared() {
			typ = "shared"
		}
	}
	p := expireParams{Action: "reconnect", Channel: expireChannel{ID: s.signedID(old), Type: typ}}
	if typ == "private" {
		p.Action = "get_config"
	}
	target := old.priv
	if old.shared() {
		p.NewChannel = &expireChannel{ID: s.signedID(rec), Start: isoTime(rec.start), End: isoTime(rec.end), Type: typ}
	} else {
		target = s.privateTarget(old)
	}
	body := s.eventBodyJSON("pull", "channel_expire", marshalJSON(p), now)
	s.publishBackendLocked([]string{target}, body, now)
}

// Variants of ExpireChannelsVariant.
const (
	// VariantApp words channel_expire as the portal does for app channels: type = the app's client_id,
	// action reconnect, new_channel only for the shared channel.
	VariantApp = "app"
	// VariantPortal words it as for the portal's own channels: private → action get_config, shared →
	// reconnect with a new_channel, types "private"/"shared".
	VariantPortal = "portal"
)

// Scopes of ExpireChannels.
const (
	ScopePrivate = "private"
	ScopeShared  = "shared"
	ScopeAll     = "all"
)

// ExpireChannels rotates the app's channels now and publishes channel_expire to each old channel the
// way the portal does for app channels (VariantApp). scope is "private" (every user's app channel),
// "shared" (the app's shared channel) or "all"; anything else does nothing.
func (s *Server) ExpireChannels(scope string) {
	_ = s.ExpireChannelsVariant(scope, VariantApp)
}

// ExpireChannelsVariant is ExpireChannels with the wording of channel_expire chosen: VariantApp or
// VariantPortal. The old ids are refused by the push server from then on.
func (s *Server) ExpireChannelsVariant(scope, variant string) error {
	if variant == "" {
		variant = VariantApp
	}
	if variant != VariantApp && variant != VariantPortal {
		return fmt.Errorf("standin: unknown channel_expire variant %q (want app or portal)", variant)
	}
	if scope != ScopePrivate && scope != ScopeShared && scope != ScopeAll {
		return fmt.Errorf("standin: unknown scope %q (want private, shared or all)", scope)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if scope != ScopeShared {
		for user, rec := range s.portal.appPrivate {
			s.portal.appPrivate[user] = s.rotateLocked(rec, variant, now)
		}
	}
	if scope != ScopePrivate {
		if s.portal.appShared == nil {
			s.portal.appShared = s.newChannelLocked(0, s.opts.AppClientID, now)
		} else {
			s.portal.appShared = s.rotateLocked(s.portal.appShared, variant, now)
		}
	}
	s.logf("standin: channels rotated (%s, %s)", scope, variant)
	return nil
}

// ConfigExpire publishes pull/config_expire with params {} to the app's shared channel and bumps
// server.config_timestamp. A real portal sends config_expire to its default shared channel only
// (docs/protocol.md §11), so app connections never see it there: this is an injection for testing how a
// client handles the command, not a reproduction of portal traffic.
func (s *Server) ConfigExpire() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portal.configStamp++
	s.publishSystemLocked("config_expire", now)
}

// ServerRestartMessage publishes pull/server_restart with params {} to the app's shared channel.
func (s *Server) ServerRestartMessage() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishSystemLocked("server_restart", now)
}

func (s *Server) publishSystemLocked(command string, now time.Time) {
	rec := s.appSharedLocked(now)
	s.publishBackendLocked([]string{rec.priv}, s.eventBodyJSON("pull", command, json.RawMessage("{}"), now), now)
}

package standin

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// requireApp refuses a call without app authorization.
func requireApp(c *restCall, text string, status int) *restError {
	if c.tok.webhook {
		return &restError{status, codeWrongAuthType, text}
	}
	return nil
}

// notConfigured is SERVER_ERROR when the push server is switched off.
func (s *Server) notConfigured() *restError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.portal.pushConfigured {
		return &restError{statusServerError, codeServerError, textNotConfigured}
	}
	return nil
}

func (s *Server) restAppConfig(c *restCall) (any, *restError) {
	if e := requireApp(c, textAppConfigOnly, statusForbidden); e != nil {
		return nil, e
	}
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	if c.tok.user <= 0 {
		return nil, &restError{statusServerError, codeServerError, textNotConfigured}
	}
	return s.buildConfig(c.tok.user, true), nil
}

func (s *Server) restPortalConfig(c *restCall) (any, *restError) {
	if !c.tok.webhook {
		return nil, &restError{statusForbidden, codeWrongAuthType, textOAuthNotAllowed}
	}
	if c.tok.user <= 0 {
		return nil, &restError{statusForbidden, "AUTHORIZE_ERROR", textGuestNotAllowed}
	}
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	return s.buildConfig(c.tok.user, false), nil
}

func (s *Server) restEventAdd(c *restCall) (any, *restError) {
	if e := requireApp(c, textAppConfigOnly, statusForbidden); e != nil {
		return nil, e
	}
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	p := c.params
	var users []int
	if c.tok.admin {
		ids, _ := p.ints("USER_ID")
		for _, id := range ids {
			if id > 0 {
				users = append(users, id)
			}
		}
	} else if p.has("USER_ID") {
		// Strict comparison with the caller's id, which PHP holds as a string.
		raw := p["USER_ID"]
		v, isScalar := jsonScalar(raw)
		if !isScalar || len(raw) == 0 || raw[0] != '"' || v != strconv.Itoa(c.tok.user) {
			return nil, &restError{statusBadRequest, "USER_ID_ACCESS_ERROR", textUserAccess}
		}
		users = []int{c.tok.user}
	}
	module := defaultModuleID
	if p.has("MODULE_ID") {
		m, ok := p.str("MODULE_ID")
		if !ok || moduleForbidden.MatchString(m) {
			return nil, &restError{statusBadRequest, "MODULE_ID_ERROR", textModuleFormat}
		}
		if m != "" {
			module = m
		}
	}
	command, ok := p.str("COMMAND")
	if !ok || !commandGrammar.MatchString(command) {
		return nil, &restError{statusBadRequest, "COMMAND_ERROR", textCommandFormat}
	}
	params := json.RawMessage("[]")
	if p.has("PARAMS") {
		raw, _ := p.decoded("PARAMS")
		params, ok = phpParams(raw)
		if !ok {
			return nil, &restError{statusBadRequest, "PARAMS_ERROR", textParamsFormat}
		}
	}
	now := s.now()
	s.mu.Lock()
	s.publishAppEventLocked(users, module, command, params, now)
	s.mu.Unlock()
	return true, nil
}

func (s *Server) restPushAdd(c *restCall) (any, *restError) {
	if e := requireApp(c, textPushAppOnly, statusForbidden); e != nil {
		return nil, e
	}
	if !c.tok.admin {
		return nil, &restError{statusBadRequest, "ACCESS_ERROR", textPushAccess}
	}
	if text, _ := c.params.str("TEXT"); strings.TrimSpace(text) == "" {
		return nil, &restError{statusBadRequest, "TEXT_ERROR", textPushText}
	}
	s.stats.pushNotifications.Add(1)
	s.logf("standin: push notification accepted")
	return true, nil
}

func (s *Server) restWatchExtend(c *restCall) (any, *restError) {
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	raw, ok := c.params.decoded("TAGS")
	var tags []string
	if ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			for _, v := range list {
				if t, ok := jsonScalar(v); ok && t != "" {
					tags = append(tags, t)
				}
			}
		} else if t, ok := jsonScalar(raw); ok && t != "" {
			tags = append(tags, t)
		}
	}
	if c.tok.user <= 0 || len(tags) == 0 {
		return false, nil
	}
	out := make(map[string]bool, len(tags))
	for _, t := range tags {
		out[t] = true
	}
	return out, nil
}

// publicEntry is one pull.channel.public.list value (and a publicChannels entry).
type publicEntry struct {
	UserID    int    `json:"user_id"`
	PublicID  string `json:"public_id"`
	Signature string `json:"signature"`
	Start     string `json:"start"`
	End       string `json:"end"`
}

// publicEntryLocked describes the user's portal private channel, or with app the app's channel.
func (s *Server) publicEntryLocked(user int, app bool, now time.Time) publicEntry {
	var rec *channelRec
	if app {
		rec = s.appPrivateLocked(user, now)
	} else {
		rec = s.portalPrivateLocked(user, now)
	}
	return publicEntry{
		UserID:    user,
		PublicID:  rec.pub,
		Signature: publicSignature(s.opts.SignatureKey, rec.pub),
		Start:     isoTime(rec.start),
		End:       isoTime(rec.end),
	}
}

func (s *Server) restPublicGet(c *restCall) (any, *restError) {
	app := c.params.flag("APPLICATION")
	if app && c.tok.webhook {
		return nil, &restError{statusBadRequest, codeWrongAuthType, textPublicAppOnly}
	}
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	ids, ok := c.params.ints("USER_ID")
	if !ok || len(ids) != 1 || ids[0] <= 0 {
		return nil, &restError{statusBadRequest, "INVALID_FORMAT", textUserIDFormat}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicEntryLocked(ids[0], app, now), nil
}

func (s *Server) restPublicList(c *restCall) (any, *restError) {
	app := c.params.flag("APPLICATION")
	if app && c.tok.webhook {
		return nil, &restError{statusBadRequest, codeWrongAuthType, textPublicAppOnly}
	}
	if e := s.notConfigured(); e != nil {
		return nil, e
	}
	ids, ok := c.params.ints("USERS")
	var users []int
	for _, id := range ids {
		if id > 0 {
			users = append(users, id)
		}
	}
	if !ok || len(users) == 0 {
		return nil, &restError{statusBadRequest, "INVALID_FORMAT", textUsersFormat}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]publicEntry, len(users))
	for _, u := range users {
		out[strconv.Itoa(u)] = s.publicEntryLocked(u, app, now)
	}
	return out, nil
}

// restLastSeen answers pull.api.user.getLastSeen {userIds, sendToQueueSever?}, a controller action
// of the portal (Pull\Controller\User::getLastSeenAction): seconds since each user was last connected
// to the push server, 0 when connected now; users never seen are left out. (The portal counts from the
// user's last activity on the portal instead; the stand-in knows only its connections.)
// sendToQueueSever, which makes the portal pass the times on to the push server, changes nothing here:
// the push server is where they come from. Entries are cast to int as PHP does.
//
// Errors are the controller's, numeric codes included: userIds missing → 100 "Could not find value
// for parameter {userIds}"; not an array → 100 "Invalid value … Should be value of type array."; an
// empty list → 0 "userIds should not be empty"; all with HTTP 400.
func (s *Server) restLastSeen(c *restCall) (any, *restError) {
	raw, ok := c.params.decoded("USERIDS")
	if raw = bytes.TrimSpace(raw); !ok || string(raw) == "null" {
		return nil, &restError{status: statusBadRequest, code: "100",
			description: "Could not find value for parameter {userIds}"}
	}
	if len(raw) == 0 || (raw[0] != '[' && raw[0] != '{') {
		value, _ := jsonScalar(raw)
		return nil, &restError{status: statusBadRequest, code: "100",
			description: "Invalid value {" + value + "} to match with parameter {userIds}. Should be value of type array."}
	}
	ids, ok := c.params.ints("USERIDS")
	if !ok {
		return nil, &restError{status: statusBadRequest, code: "100",
			description: "Invalid value to match with parameter {userIds}. Should be value of type array."}
	}
	if len(ids) == 0 {
		return nil, &restError{status: statusBadRequest, code: "0", description: "userIds should not be empty"}
	}
	return s.lastSeenMap(ids), nil
}

package standin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// restError is a Bitrix REST error answer.
type restError struct {
	status      int
	code        string
	description string
}

// errorFor returns the portal's answer for a code: the documented status and text when known.
func errorFor(code string) *restError {
	switch code {
	case codeMethodNotFound:
		return &restError{http.StatusNotFound, code, "Method not found!"}
	}
	if status, desc, _, ok := protocol.KnownRESTError(code); ok {
		return &restError{status, code, desc}
	}
	return &restError{http.StatusBadRequest, code, code}
}

// REST error codes and texts of the pull module (docs/protocol.md §2.5, §21.1).
const (
	codeMethodNotFound   = "ERROR_METHOD_NOT_FOUND"
	codeWrongAuthType    = "WRONG_AUTH_TYPE"
	codeServerError      = "SERVER_ERROR"
	textNotConfigured    = "Push & Pull server is not configured"
	textAppConfigOnly    = "Get access to application config available only for application authorization."
	textPushAppOnly      = "Send push notifications available only for application authorization."
	textPublicAppOnly    = "Get application public channel available only for application authorization."
	textOAuthNotAllowed  = "Method not available for OAuth authorization."
	textGuestNotAllowed  = "Method not available for guest session at the moment."
	textUserAccess       = "Only admin can send notifications to other channels"
	textModuleFormat     = "Module ID format error"
	textCommandFormat    = "Command format error"
	textParamsFormat     = "Params format error"
	textPushAccess       = "You do not have access to send push notifications"
	textPushText         = "Text can't be empty"
	textUsersFormat      = "A wrong format for the USERS field is passed"
	textUserIDFormat     = "A wrong format for the USER_ID field is passed"
	textTokenExpired     = "The access token provided has expired."
	textWrongAuthData    = "Wrong authorization data"
	statusBadRequest     = http.StatusBadRequest
	statusForbidden      = http.StatusForbidden
	statusServerError    = http.StatusInternalServerError
	statusUnauthorized   = http.StatusUnauthorized
	maxRESTMethodNameLen = 128
)

// restCall is one REST call being answered.
type restCall struct {
	method string
	params restParams
	tok    *token
	start  time.Time
}

// restMethod answers one call: a result, or an error.
type restMethod func(s *Server, c *restCall) (any, *restError)

var restMethods = map[string]restMethod{
	"pull.application.config.get": (*Server).restAppConfig,
	"pull.config.get":             (*Server).restPortalConfig,
	"pull.application.event.add":  (*Server).restEventAdd,
	"pull.application.push.add":   (*Server).restPushAdd,
	"pull.watch.extend":           (*Server).restWatchExtend,
	"pull.channel.public.get":     (*Server).restPublicGet,
	"pull.channel.public.list":    (*Server).restPublicList,
	"pull.api.user.getlastseen":   (*Server).restLastSeen,
}

// serveREST answers /rest/<method>.json, /rest/<method> and the webhook form
// /rest/<user>/<code>/<method>.json.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		w.WriteHeader(http.StatusOK)
		return
	}
	started := s.now()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeRESTError(w, &restError{http.StatusMethodNotAllowed, "ERROR_METHOD_NOT_ALLOWED", "Method not allowed"})
		return
	}
	s.stats.restCalls.Add(1)
	path := strings.TrimPrefix(r.URL.Path, "/rest/")
	path = strings.TrimSuffix(path, ".json")
	segs := strings.Split(path, "/")
	var hookCode string
	if len(segs) == 3 {
		hookCode = segs[1]
	}
	name := strings.ToLower(segs[len(segs)-1])
	if len(name) > maxRESTMethodNameLen {
		name = name[:maxRESTMethodNameLen]
	}
	params, err := readRESTParams(r)
	if err != nil {
		s.writeRESTError(w, &restError{statusBadRequest, "INVALID_REQUEST", "Wrong request body"})
		return
	}
	switch e, page := s.takeRESTFailure(); {
	case e != nil:
		s.writeRESTError(w, e)
		return
	case page != 0:
		s.writeErrorPage(w, page)
		return
	}
	method := restMethods[name]
	if method == nil {
		s.writeRESTError(w, errorFor(codeMethodNotFound))
		return
	}
	tok, e := s.authenticate(params, r, hookCode)
	if e != nil {
		s.writeRESTError(w, e)
		return
	}
	result, e := method(s, &restCall{method: name, params: params, tok: tok, start: started})
	if e != nil {
		s.writeRESTError(w, e)
		return
	}
	s.writeRESTResult(w, result, started)
}

// takeRESTFailure consumes one injected failure: a Bitrix error (FailREST) first, else the status of
// an HTML error page (FailRESTWithPage), else nothing (nil, 0).
func (s *Server) takeRESTFailure() (*restError, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.portal.failTimes > 0 {
		s.portal.failTimes--
		return errorFor(s.portal.failCode), 0
	}
	if s.portal.pageTimes > 0 {
		s.portal.pageTimes--
		return nil, s.portal.pageStatus
	}
	return nil, 0
}

// errorPageTemplate is the body of FailRESTWithPage's answers, the page nginx serves when the
// upstream fails: %[1]d is the status, %[2]s its text.
const errorPageTemplate = `<html>
<head><title>%[1]d %[2]s</title></head>
<body>
<center><h1>%[1]d %[2]s</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// writeErrorPage answers status with an HTML error page, as a reverse proxy in front of the portal
// does; it counts as a REST error.
func (s *Server) writeErrorPage(w http.ResponseWriter, status int) {
	s.stats.restErrors.Add(1)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, errorPageTemplate, status, http.StatusText(status))
}

// authenticate finds the caller's token: auth (form, JSON or query), a bearer header, or the webhook
// code of the URL.
func (s *Server) authenticate(p restParams, r *http.Request, hookCode string) (*token, *restError) {
	code, _ := p.str("AUTH")
	if code == "" {
		code = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if code == "" {
		code = hookCode
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.portal.tokens[code]
	if code == "" || t == nil {
		return nil, &restError{statusUnauthorized, "NO_AUTH_FOUND", textWrongAuthData}
	}
	if t.expired {
		return nil, &restError{statusUnauthorized, "expired_token", textTokenExpired}
	}
	cp := *t
	return &cp, nil
}

// restTime is the "time" member of every answer.
type restTime struct {
	Start      float64 `json:"start"`
	Finish     float64 `json:"finish"`
	Duration   float64 `json:"duration"`
	Processing float64 `json:"processing"`
	DateStart  string  `json:"date_start"`
	DateFinish string  `json:"date_finish"`
}

func (s *Server) writeRESTResult(w http.ResponseWriter, result any, started time.Time) {
	finished := s.now()
	if finished.Before(started) {
		finished = started
	}
	d := finished.Sub(started).Seconds()
	answer := struct {
		Result any      `json:"result"`
		Time   restTime `json:"time"`
	}{result, restTime{
		Start:      float64(started.UnixMicro()) / 1e6,
		Finish:     float64(finished.UnixMicro()) / 1e6,
		Duration:   d,
		Processing: d,
		DateStart:  isoTime(started),
		DateFinish: isoTime(finished),
	}}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(marshalJSON(answer))
}

func (s *Server) writeRESTError(w http.ResponseWriter, e *restError) {
	s.stats.restErrors.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	// A code of digits only is written as a JSON number, as the portal's controller actions answer
	// ({"error": 100, "error_description": "Could not find value for parameter {userIds}"}).
	var code any = e.code
	if n, err := strconv.Atoi(e.code); err == nil && strings.Trim(e.code, "0123456789") == "" {
		code = n
	}
	_, _ = w.Write(marshalJSON(struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
	}{code, e.description}))
}

// setCORS lets pages of any origin call the stand-in.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
}

package protocol

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Sentinel errors for failures detected on our side. Errors returned by this package wrap them, so
// callers test with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every *ConfigError: the config answer could not be used.
	ErrInvalidConfig = errors.New("protocol: invalid config")
	// ErrNoChannels means the config names neither a channel id nor a JWT, so no connection URL can
	// carry an identity (the reference clients' "Empty channels").
	ErrNoChannels = errors.New("protocol: no channel id and no jwt")
	// ErrEmptyPath means the URL the connection needs is empty in the config (the reference clients'
	// "Empty path").
	ErrEmptyPath = errors.New("protocol: empty connection path")
	// ErrSharedWithoutClientID means the server is in shared mode but the config carries no clientId.
	ErrSharedWithoutClientID = errors.New("protocol: push server is in shared mode, but clientId is not set")
	// ErrInsecureURL means a page served over https would have to open a plain ws:// or http:// URL:
	// the browser blocks it as mixed content, and channel ids would travel in clear.
	ErrInsecureURL = errors.New("protocol: insecure URL on a secure page")
)

// ConfigError reports one unusable field of a config answer. Field is the JSON path
// ("channels.shared.end"); Reason says what is wrong without quoting the value, which may be a secret.
// It matches ErrInvalidConfig and, through Unwrap, the sentinel in Err when there is one.
type ConfigError struct {
	Field  string
	Reason string
	Err    error
}

// Error implements error: "config: <field>: <reason>".
func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "config: " + e.Reason
	}
	return "config: " + e.Field + ": " + e.Reason
}

// Unwrap returns the sentinel behind the error, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is reports that every ConfigError is an ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ErrorClass groups REST error codes by how a client should react: the "Recommended classification"
// of docs/protocol.md §2.5.
type ErrorClass int

// Error classes.
const (
	// ClassUnknown is a code the table does not know, answered with a status that tells nothing.
	ClassUnknown ErrorClass = iota
	// ClassToken means the access token is bad or expired: refresh it and retry once.
	ClassToken
	// ClassPermission means the call is refused in this context (auth type, scope, plan, user rights).
	ClassPermission
	// ClassNotConfigured means the portal has no working push server (SERVER_ERROR).
	ClassNotConfigured
	// ClassTransient means a rate limit or a passing server failure.
	ClassTransient
	// ClassTerminal means the portal is gone or blocked, or the request can never succeed.
	ClassTerminal
)

// String returns the class name used in logs and in errors handed to JavaScript.
func (c ErrorClass) String() string {
	switch c {
	case ClassToken:
		return "token"
	case ClassPermission:
		return "permission"
	case ClassNotConfigured:
		return "not-configured"
	case ClassTransient:
		return "transient"
	case ClassTerminal:
		return "terminal"
	default:
		return "unknown"
	}
}

// RESTError is a Bitrix24 REST error answer: an HTTP status plus {"error", "error_description"}.
type RESTError struct {
	// Code is the "error" value, e.g. "WRONG_AUTH_TYPE" or "expired_token" (case as sent).
	Code string
	// Description is the "error_description" value; empty when the answer had none.
	Description string
	// Status is the HTTP status of the answer; 0 when neither the transport nor the code table knew it.
	Status int
}

// Error implements error: "rest error CODE: description".
func (e *RESTError) Error() string {
	if e.Description == "" {
		return "rest error " + e.Code
	}
	return "rest error " + e.Code + ": " + e.Description
}

// Class returns the recommended class of the error (docs/protocol.md §2.5). Codes are looked up without
// regard to case; an unknown code falls back on the status: 429, 502, 503 and 504 are transient,
// anything else unknown.
func (e *RESTError) Class() ErrorClass {
	if k, ok := lookupREST(e.Code); ok {
		return k.class
	}
	switch e.Status {
	case 429, 502, 503, 504:
		return ClassTransient
	}
	return ClassUnknown
}

// Retryable reports whether trying the same call again can succeed:
//   - token: yes, once, after the access token was refreshed;
//   - not-configured: yes, on the long backoff (minutes), since an administrator may fix the portal;
//   - transient: yes, with the usual backoff;
//   - permission: no, the same call in the same context is refused again;
//   - terminal: no, the portal is deleted or blocked, or the request is malformed;
//   - unknown: no, so that an error nobody understands is reported rather than hammered.
func (e *RESTError) Retryable() bool {
	switch e.Class() {
	case ClassToken, ClassNotConfigured, ClassTransient:
		return true
	}
	return false
}

// Limits on what a REST error keeps of the answer, so a hostile or broken answer cannot flood logs.
const (
	maxRESTCodeLen        = 128
	maxRESTDescriptionLen = 1024
)

// ParseRESTError reads the {"error": CODE, "error_description": TEXT} envelope. It returns false when
// body is not a JSON object with a non-empty string or numeric "error". A status of 0 (unknown, e.g. through
// BX24.callMethod) is filled from the code table when the code is known. Overlong codes and
// descriptions are cut.
func ParseRESTError(body []byte, status int) (*RESTError, bool) {
	if !gjson.ValidBytes(body) {
		return nil, false
	}
	return restErrorFrom(gjson.ParseBytes(body), status)
}

func restErrorFrom(root gjson.Result, status int) (*RESTError, bool) {
	if !root.IsObject() {
		return nil, false
	}
	code := root.Get("error")
	var text string
	switch code.Type {
	case gjson.String:
		text = code.Str
	case gjson.Number:
		text = code.Raw // the portal's controller errors carry numeric codes (100: a missing parameter)
	}
	if text == "" {
		return nil, false
	}
	e := &RESTError{Code: truncateUTF8(text, maxRESTCodeLen), Status: status}
	if d := root.Get("error_description"); d.Type == gjson.String {
		e.Description = truncateUTF8(d.Str, maxRESTDescriptionLen)
	}
	if e.Status == 0 {
		if k, ok := lookupREST(e.Code); ok {
			e.Status = k.status
		}
	}
	return e, true
}

// AsRESTError finds a *RESTError in err's chain.
func AsRESTError(err error) (*RESTError, bool) {
	var e *RESTError
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KnownRESTError returns the documented HTTP status, standard description and class of a REST error
// code (looked up without regard to case); ok is false for a code the table does not hold.
// WRONG_AUTH_TYPE has two documented texts; the one for pull.application.config.get is returned.
func KnownRESTError(code string) (status int, description string, class ErrorClass, ok bool) {
	k, ok := lookupREST(code)
	if !ok {
		return 0, "", ClassUnknown, false
	}
	return k.status, k.description, k.class, true
}

type knownREST struct {
	status      int
	description string
	class       ErrorClass
}

// knownRESTErrors is the docs/protocol.md §2.5 table (method errors, system errors, the SDK's HTTP-layer
// codes), keyed by upper-cased code.
var knownRESTErrors = map[string]knownREST{
	"WRONG_AUTH_TYPE":                 {403, "Get access to application config available only for application authorization.", ClassPermission},
	"AUTHORIZE_ERROR":                 {403, "Method not available for guest session at the moment.", ClassPermission},
	"SERVER_ERROR":                    {500, "Push & Pull server is not configured", ClassNotConfigured},
	"INTERNAL_SERVER_ERROR":           {500, "Internal server error", ClassTransient},
	"ERROR_UNEXPECTED_ANSWER":         {500, "Server returned an unexpected response", ClassTransient},
	"QUERY_LIMIT_EXCEEDED":            {503, "Too many requests", ClassTransient},
	"OPERATION_TIME_LIMIT":            {429, "Method is blocked due to operation time limit.", ClassTransient},
	"NO_AUTH_FOUND":                   {401, "Wrong authorization data", ClassToken},
	"EXPIRED_TOKEN":                   {401, "The access token provided has expired", ClassToken},
	"INVALID_TOKEN":                   {401, "The access token provided is invalid", ClassToken},
	"INVALID_REQUEST":                 {400, "Https required", ClassPermission},
	"ACCESS_DENIED":                   {403, "REST API is available only on commercial plans", ClassPermission},
	"INVALID_CREDENTIALS":             {403, "Invalid request credentials", ClassPermission},
	"INSUFFICIENT_SCOPE":              {403, "The request requires higher privileges than provided by the webhook token", ClassPermission},
	"USER_ACCESS_ERROR":               {403, "The user does not have access to the application", ClassPermission},
	"OVERLOAD_LIMIT":                  {503, "REST API is blocked due to overload", ClassTerminal},
	"PORTAL_DELETED":                  {500, "Portal was deleted", ClassTerminal},
	"ERROR_BATCH_METHOD_NOT_ALLOWED":  {405, "Method is not allowed for batch usage", ClassTerminal},
	"ERROR_BATCH_LENGTH_EXCEEDED":     {400, "Max batch length exceeded", ClassTerminal},
	"ERROR_MANIFEST_IS_NOT_AVAILABLE": {404, "Manifest is not available", ClassTerminal},
}

func lookupREST(code string) (knownREST, bool) {
	k, ok := knownRESTErrors[strings.ToUpper(code)]
	return k, ok
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// configErr builds a *ConfigError.
func configErr(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

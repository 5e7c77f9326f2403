package client

import "errors"

// Codes of the errors the publishing and presence calls return, as JavaScript sees them.
const (
	// CodeNotConnected: the client is not started, or no connection opened within the send timeout.
	CodeNotConnected = "NOT_CONNECTED"
	// CodePublishingUnavailable: the server or the transport in use cannot carry client publishing
	// (version 3, long polling, publish_enabled false in version 4).
	CodePublishingUnavailable = "PUBLISHING_UNAVAILABLE"
	// CodeJSONRPCRequired: the call exists only on a JSON-RPC server (version 5 and later).
	CodeJSONRPCRequired = "JSON_RPC_REQUIRED"
	// CodeTimeout: the server did not answer a call in time.
	CodeTimeout = "TIMEOUT"
	// CodeConnectionLost: the connection closed after a call was sent and before its answer: the
	// server may or may not have carried it out, so it is not sent again.
	CodeConnectionLost = "CONNECTION_LOST"
	// CodeNoPublicID: the portal gave no public channel for a user.
	CodeNoPublicID = "NO_PUBLIC_ID"
	// CodeInvalidArgument: the caller passed something the call cannot use.
	CodeInvalidArgument = "INVALID_ARGUMENT"
	// CodeRPCError: the server answered the call with a JSON-RPC error (Err is the *protocol.RPCError).
	CodeRPCError = "RPC_ERROR"
)

// Error is a failure of a publishing or presence call, with a stable code. Err, when set, is the cause.
type Error struct {
	Code        string
	Description string
	Err         error
}

// Error implements error.
func (e *Error) Error() string { return "b24pull: " + e.Code + ": " + e.Description }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code, which the session's retry events carry.
func (e *Error) ErrorCode() string { return e.Code }

func codeError(code, description string) *Error { return &Error{Code: code, Description: description} }

// CodeOf returns the code of err when it is (or wraps) an *Error, else "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

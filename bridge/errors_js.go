//go:build js && wasm

package bridge

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
)

// Codes of the errors the bridge gives JavaScript, besides the Bitrix REST codes (WRONG_AUTH_TYPE,
// QUERY_LIMIT_EXCEEDED, …) and the codes of the publishing and presence calls (client.Code*), which
// pass through unchanged. b24pull.d.ts mirrors them.
const (
	// CodeDestroyed: the client was destroyed; every later call rejects with it.
	CodeDestroyed = "DESTROYED"
	// CodeStopped: stop() or destroy() ended a start() before the client went online.
	CodeStopped = "STOPPED"
	// CodeTimeout: a REST call or another wait ran out of time.
	CodeTimeout = "TIMEOUT"
	// CodeCanceled: the wait was abandoned because its owner stopped.
	CodeCanceled = "CANCELED"
	// CodeInvalidArgument: the caller passed something unusable (a rest option of the wrong kind).
	CodeInvalidArgument = "INVALID_ARGUMENT"
	// CodeRESTFailed: the REST library failed without a Bitrix error: it threw, rejected with a
	// non-Bitrix value, or answered something that is not a REST answer.
	CodeRESTFailed = "REST_FAILED"
	// CodeFailed: any other failure of the client (the message says which).
	CodeFailed = "FAILED"
	// CodeInternal: a bug: a recovered panic.
	CodeInternal = "INTERNAL"
)

// Error is a failure with a stable code, as JavaScript sees it. Err, when set, is the cause.
type Error struct {
	Code        string
	Description string
	Err         error
}

// Error implements error: "b24pull: CODE: description".
func (e *Error) Error() string { return "b24pull: " + e.Code + ": " + e.Description }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code, which the session's retry events carry.
func (e *Error) ErrorCode() string { return e.Code }

// errDestroyed is returned by everything of a destroyed client, including registries closed by it.
var errDestroyed = &Error{Code: CodeDestroyed, Description: "the client was destroyed", Err: client.ErrDestroyed}

// errorFields returns the code, description and HTTP status (0 when none) that JavaScript sees for err.
func errorFields(err error) (code, description string, status int) {
	if re, ok := protocol.AsRESTError(err); ok {
		desc := re.Description
		if desc == "" {
			desc = re.Code
		}
		return re.Code, desc, re.Status
	}
	var be *Error
	if errors.As(err, &be) {
		return be.Code, be.Description, 0
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Code, ce.Description, 0
	}
	switch {
	case errors.Is(err, client.ErrDestroyed):
		return CodeDestroyed, "the client was destroyed", 0
	case errors.Is(err, client.ErrStopped):
		return CodeStopped, "the client was stopped", 0
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout, err.Error(), 0
	case errors.Is(err, context.Canceled):
		return CodeCanceled, err.Error(), 0
	}
	return CodeFailed, err.Error(), 0
}

// jsError builds the JavaScript Error for err: message is the description, and the object carries
// code, description and, for REST errors, status; for JSON-RPC errors, rpcCode.
func jsError(err error) js.Value {
	code, desc, status := errorFields(err)
	e := newJSError(code, desc, status)
	var rpc *protocol.RPCError
	if errors.As(err, &rpc) {
		e.Set("rpcCode", rpc.Code) // the JSON-RPC error code the server answered (code is RPC_ERROR)
	}
	return e
}

// newJSError builds a JavaScript Error with code, description and (when positive) status fields.
func newJSError(code, description string, status int) js.Value {
	e := js.Global().Get("Error").New(description)
	e.Set("code", code)
	e.Set("description", description)
	if status > 0 {
		e.Set("status", status)
	}
	return e
}

// catchJS turns a panic raised by syscall/js (a JavaScript exception, or a call on undefined) into an
// error stored in *err, prefixed with what. It must be deferred directly.
func catchJS(err *error, what string) {
	p := recover()
	if p == nil {
		return
	}
	*err = &Error{Code: CodeRESTFailed, Description: what + ": " + panicText(p)}
}

// panicText describes a recovered panic value without the "JavaScript error:" noise.
func panicText(p any) string {
	switch v := p.(type) {
	case js.Error:
		return jsValueText(v.Value)
	case error:
		return v.Error()
	default:
		return fmt.Sprint(v)
	}
}

// jsValueText describes a thrown or rejected JavaScript value: an Error's message, a string as is,
// anything else by its type.
func jsValueText(v js.Value) (text string) {
	defer func() {
		if recover() != nil {
			text = "an unreadable value"
		}
	}()
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeObject, js.TypeFunction:
		if msg := prop(v, "message"); msg.Type() == js.TypeString && msg.String() != "" {
			return msg.String()
		}
		return "a non-Error object"
	default:
		return v.Type().String()
	}
}

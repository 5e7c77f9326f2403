//go:build js && wasm

package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
)

// Defaults of restOptions.
const (
	// defaultRESTTimeout bounds one REST attempt (and one token refresh): the BX24 library has no
	// timeout of its own, and a callback that never comes must end as an error, not a hang.
	defaultRESTTimeout = 30 * time.Second
)

// defaultRESTBackoff are the waits before retrying a rate-limited call (QUERY_LIMIT_EXCEEDED,
// OPERATION_TIME_LIMIT): three retries after 1, 2 and 4 seconds.
var defaultRESTBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}

// restOptions tunes the REST adapter; zero values mean the defaults.
type restOptions struct {
	// Timeout bounds each attempt and each token refresh; 0 means defaultRESTTimeout.
	Timeout time.Duration
	// Backoff lists the waits before each retry of a rate-limited call; nil means defaultRESTBackoff,
	// an empty non-nil slice means no retry.
	Backoff []time.Duration
	// Logf, when set, receives a line for each refresh and retry.
	Logf func(format string, args ...any)
	// Prefetch is the loader's config prefetch (see prefetch), or undefined.
	Prefetch js.Value
}

// restCaller makes one attempt through one kind of REST library.
type restCaller interface {
	// call makes one attempt. It returns the whole answer as JSON text or an error (a
	// *protocol.RESTError for a Bitrix error), and ctx.Err() once ctx is done.
	call(ctx context.Context, method string, params js.Value) (json.RawMessage, error)
	// refresh asks the library for a new access token; errNoRefresh when it cannot.
	refresh(ctx context.Context) error
	// name is the library's name for error messages ("BX24.callMethod").
	name() string
	// kind is the library's kind as the loader's config prefetch names it: "function", "frame" or
	// "bx24".
	kind() string
	// answer reads what one call settled with (the value a promise fulfilled or rejected with, or
	// what a callback received) as call would: it lets a call started elsewhere (the loader's config
	// prefetch) be finished exactly like one started by call.
	answer(v js.Value, rejected bool) (json.RawMessage, error)
}

// errNoRefresh is returned by refresh when the library offers no way to renew the token.
var errNoRefresh = errors.New("the rest library cannot refresh the access token")

// restAdapter implements client.REST over a restCaller: it converts params once per attempt, bounds
// every attempt in time, refreshes the token once on a token error, and backs off on rate limits.
type restAdapter struct {
	caller   restCaller
	opts     restOptions
	reg      *funcRegistry
	prefetch *prefetch // the loader's config prefetch, nil when none was offered; used once
}

var _ client.REST = (*restAdapter)(nil)

// newREST returns the client.REST for the app's rest option:
//   - undefined or null: globalThis.BX24;
//   - a function: called as fn(method, params), it must return (a Promise of) the whole answer
//     {result: …}; a value without result or error is taken as the result itself;
//   - an object with an auth property: a b24jssdk B24Frame (actions.v2.call.make, else callMethod);
//   - an object with callMethod: the classic BX24 library (callback form, BX24.init awaited first).
//
// Anything else fails with INVALID_ARGUMENT. Every js.Func the adapter creates belongs to reg.
func newREST(reg *funcRegistry, rest js.Value, opts restOptions) (_ client.REST, err error) {
	defer catchJS(&err, "failed to inspect the rest option")
	if opts.Timeout <= 0 {
		opts.Timeout = defaultRESTTimeout
	}
	if opts.Backoff == nil {
		opts.Backoff = defaultRESTBackoff
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if rest.IsUndefined() || rest.IsNull() {
		rest = js.Global().Get("BX24")
		if rest.IsUndefined() || rest.IsNull() {
			return nil, &Error{Code: CodeInvalidArgument, Description: "no rest option was given and globalThis.BX24 is not loaded"}
		}
	}
	var c restCaller
	switch {
	case rest.Type() == js.TypeFunction:
		c = &funcCaller{fn: rest, reg: reg}
	case rest.Type() != js.TypeObject:
		return nil, &Error{Code: CodeInvalidArgument, Description: "rest must be BX24, a B24Frame or a function, got a " + rest.Type().String()}
	case isB24Frame(rest):
		c = &frameCaller{frame: rest, reg: reg}
	case prop(rest, "callMethod").Type() == js.TypeFunction:
		c = newBX24Caller(rest, reg)
	default:
		return nil, &Error{Code: CodeInvalidArgument, Description: "rest object has no callMethod: expected BX24, a B24Frame or a function"}
	}
	return &restAdapter{caller: c, opts: opts, reg: reg, prefetch: newPrefetch(opts.Prefetch, c.kind())}, nil
}

// Call implements client.REST.
func (a *restAdapter) Call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the params of %s: %w", method, err)
	}
	refreshed := false
	retries := 0
	for {
		answer, err := a.attemptPrefetched(ctx, method, string(paramsJSON))
		if err == nil {
			return answer, nil
		}
		re, ok := protocol.AsRESTError(err)
		if !ok || ctx.Err() != nil {
			return nil, err
		}
		switch {
		case re.Class() == protocol.ClassToken && !refreshed:
			refreshed = true
			a.opts.Logf("rest: %s answered %s, refreshing the access token", method, re.Code)
			if rerr := a.refresh(ctx); rerr != nil {
				a.opts.Logf("rest: %v", rerr)
				return nil, err
			}
		case isRateLimit(re) && retries < len(a.opts.Backoff):
			wait := a.opts.Backoff[retries]
			retries++
			a.opts.Logf("rest: %s answered %s, retry %d in %s", method, re.Code, retries, wait)
			if werr := sleepCtx(ctx, wait); werr != nil {
				return nil, werr
			}
		default:
			return nil, err
		}
	}
}

// attempt makes one call bounded by opts.Timeout. params is JSON text, parsed into a fresh JS object
// for every attempt because libraries may modify what they are given.
func (a *restAdapter) attempt(ctx context.Context, method, paramsJSON string) (json.RawMessage, error) {
	actx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	params, err := parseJSON(paramsJSON)
	if err != nil {
		return nil, err
	}
	answer, err := a.caller.call(actx, method, params)
	if err != nil {
		err = a.timedOut(ctx, method, err)
	}
	return answer, err
}

// timedOut turns err into a TIMEOUT error when it is the per-call timeout that ended a call of
// method (and not ctx, the caller's own context); any other err is returned as is.
func (a *restAdapter) timedOut(ctx context.Context, method string, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Description: fmt.Sprintf("%s gave no answer to %s within %s", a.caller.name(), method, a.opts.Timeout), Err: err}
	}
	return err
}

// refresh renews the access token, bounded by opts.Timeout.
func (a *restAdapter) refresh(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	if err := a.caller.refresh(rctx); err != nil {
		return fmt.Errorf("failed to refresh the access token: %w", err)
	}
	return nil
}

// isRateLimit reports whether re asks the caller to slow down.
func isRateLimit(re *protocol.RESTError) bool {
	switch re.Code {
	case "QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT":
		return true
	}
	return false
}

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseJSON returns JSON.parse(text).
func parseJSON(text string) (v js.Value, err error) {
	defer catchJS(&err, "failed to parse JSON")
	return js.Global().Get("JSON").Call("parse", text), nil
}

// answerJSON turns a value a REST library answered with into the whole answer as JSON text: it is
// stringified once; an answer carrying {"error": …} becomes a *protocol.RESTError with status; a
// value with neither result nor error is wrapped as {"result": value} when wrap is set.
func answerJSON(v js.Value, status int, wrap bool, who string) (_ json.RawMessage, err error) {
	defer catchJS(&err, "failed to read the answer of "+who)
	if wrap && !isAnswerObject(v) {
		obj := js.Global().Get("Object").New()
		obj.Set("result", v)
		v = obj
	}
	text := js.Global().Get("JSON").Call("stringify", v)
	if text.Type() != js.TypeString {
		return nil, &Error{Code: CodeRESTFailed, Description: who + " answered with no JSON value"}
	}
	body := []byte(text.String())
	if re, ok := protocol.ParseRESTError(body, status); ok {
		return nil, re
	}
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return nil, &Error{Code: CodeRESTFailed, Description: who + " answered with something that is not a REST answer"}
	}
	return json.RawMessage(body), nil
}

// isAnswerObject reports whether v looks like a whole REST answer (a non-array object with result or
// error).
func isAnswerObject(v js.Value) bool {
	if v.Type() != js.TypeObject || js.Global().Get("Array").Call("isArray", v).Bool() {
		return false
	}
	return !prop(v, "result").IsUndefined() || !prop(v, "error").IsUndefined()
}

// restErrorFrom reads a Bitrix error out of a JS value in any of the shapes the libraries use:
// BX24's ajaxError ({ex: {error, error_description}, status, getStatus()}), a raw answer ({error,
// error_description}), and Error objects with a string code (the b24jssdk AjaxError, or ours). It
// returns false when v carries no error code.
func restErrorFrom(v js.Value) (_ *protocol.RESTError, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if v.Type() != js.TypeObject && v.Type() != js.TypeFunction {
		return nil, false
	}
	var code, desc string
	if ex := prop(v, "ex"); ex.Type() == js.TypeObject {
		code, desc = stringField(ex, "error"), stringField(ex, "error_description")
	}
	if code == "" {
		code, desc = stringField(v, "error"), stringField(v, "error_description")
	}
	if code == "" {
		code, desc = stringField(v, "code"), stringField(v, "description")
		if desc == "" {
			desc = stringField(v, "message")
		}
	}
	if code == "" {
		return nil, false
	}
	status := 0
	if s := prop(v, "status"); s.Type() == js.TypeNumber {
		status = s.Int()
	} else if g := prop(v, "getStatus"); g.Type() == js.TypeFunction {
		if s := v.Call("getStatus"); s.Type() == js.TypeNumber {
			status = s.Int()
		}
	}
	body, err := json.Marshal(map[string]string{"error": code, "error_description": desc})
	if err != nil {
		return nil, false
	}
	return protocol.ParseRESTError(body, status)
}

// stringField returns v[name] when it is a string, else "".
func stringField(v js.Value, name string) string {
	if f := prop(v, name); f.Type() == js.TypeString {
		return f.String()
	}
	return ""
}

// rejectionError turns what awaitPromise returned for a failed promise into the error Call reports:
// a *protocol.RESTError when the rejection value carries a Bitrix code, else a REST_FAILED error.
func rejectionError(err error, who string) error {
	var rej *rejection
	if !errors.As(err, &rej) {
		return err
	}
	if re, ok := restErrorFrom(rej.Value); ok {
		return re
	}
	return &Error{Code: CodeRESTFailed, Description: who + " failed: " + jsValueText(rej.Value)}
}

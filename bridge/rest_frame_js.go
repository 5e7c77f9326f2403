//go:build js && wasm

package bridge

import (
	"context"
	"encoding/json"
	"syscall/js"
)

// frameCaller calls REST through a b24jssdk B24Frame: actions.v2.call.make({method, params}), or the
// deprecated callMethod(method, params) when actions is missing; both return a Promise of an
// AjaxResult. The SDK refreshes tokens and retries rate limits itself; the adapter's own refresh and
// backoff only add a last chance on top.
type frameCaller struct {
	frame js.Value
	reg   *funcRegistry
}

// isB24Frame reports whether v looks like a B24Frame: it has an auth property. The property is
// tested with Reflect.has, not read: on a frame that is not initialised its getter throws, and such a
// frame must still not be mistaken for BX24 (whose callMethod takes a callback).
func isB24Frame(v js.Value) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return js.Global().Get("Reflect").Call("has", v, "auth").Bool()
}

func (f *frameCaller) name() string { return "B24Frame" }

// call implements restCaller.
func (f *frameCaller) call(ctx context.Context, method string, params js.Value) (json.RawMessage, error) {
	p, err := f.start(method, params)
	if err != nil {
		return nil, err
	}
	res, err := awaitPromise(ctx, f.reg, p)
	if err != nil {
		return nil, rejectionError(err, "the B24Frame call")
	}
	return ajaxResultJSON(res)
}

func (f *frameCaller) kind() string { return "frame" }

// answer implements restCaller.
func (f *frameCaller) answer(v js.Value, rejected bool) (json.RawMessage, error) {
	if rejected {
		return nil, rejectionError(&rejection{Value: v}, "the B24Frame call")
	}
	return ajaxResultJSON(v)
}

// start begins the call and returns its Promise.
func (f *frameCaller) start(method string, params js.Value) (p js.Value, err error) {
	defer catchJS(&err, "failed to call the B24Frame")
	if call := frameV2Call(f.frame); call.Type() == js.TypeObject {
		opts := js.Global().Get("Object").New()
		opts.Set("method", method)
		opts.Set("params", params)
		return call.Call("make", opts), nil
	}
	return f.frame.Call("callMethod", method, params), nil
}

// frameV2Call returns frame.actions.v2.call when it has make, else undefined. The actions getter
// throws on a frame that is not initialised; that reads as "no actions".
func frameV2Call(frame js.Value) js.Value {
	call := prop(prop(prop(frame, "actions"), "v2"), "call")
	if call.Type() == js.TypeObject && prop(call, "make").Type() == js.TypeFunction {
		return call
	}
	return js.Undefined()
}

// ajaxResultJSON reads an AjaxResult: isSuccess, then getData() ({result, time}) or the first of
// getErrors() (AjaxError: code, message, status). A value without isSuccess is taken as an answer.
func ajaxResultJSON(res js.Value) (_ json.RawMessage, err error) {
	defer catchJS(&err, "failed to read the B24Frame result")
	if res.Type() != js.TypeObject || prop(res, "isSuccess").Type() != js.TypeBoolean {
		return answerJSON(res, 0, true, "the B24Frame call")
	}
	if prop(res, "isSuccess").Bool() {
		return answerJSON(res.Call("getData"), 0, true, "the B24Frame call")
	}
	if prop(res, "getErrors").Type() == js.TypeFunction {
		list := js.Global().Get("Array").Call("from", res.Call("getErrors"))
		if list.Length() > 0 {
			if re, ok := restErrorFrom(list.Index(0)); ok {
				return nil, re
			}
			return nil, &Error{Code: CodeRESTFailed, Description: "the B24Frame call failed: " + jsValueText(list.Index(0))}
		}
	}
	desc := "the B24Frame call failed without an error"
	if prop(res, "getErrorMessages").Type() == js.TypeFunction {
		if msgs := res.Call("getErrorMessages"); msgs.Length() > 0 {
			desc = "the B24Frame call failed: " + jsValueText(msgs.Index(0))
		}
	}
	return nil, &Error{Code: CodeRESTFailed, Description: desc}
}

// refresh implements restCaller with frame.auth.refreshAuth().
func (f *frameCaller) refresh(ctx context.Context) error {
	p, err := f.startRefresh()
	if err != nil {
		return err
	}
	if _, err := awaitPromise(ctx, f.reg, p); err != nil {
		return rejectionError(err, "B24Frame auth.refreshAuth")
	}
	return nil
}

func (f *frameCaller) startRefresh() (p js.Value, err error) {
	defer catchJS(&err, "failed to call B24Frame auth.refreshAuth")
	return prop(f.frame, "auth").Call("refreshAuth"), nil
}

// funcCaller calls REST through a function fn(method, params) returning (a Promise of) the answer.
type funcCaller struct {
	fn  js.Value
	reg *funcRegistry
}

func (f *funcCaller) name() string { return "the rest function" }

// call implements restCaller. A rejection carrying a code (an Error with code, or {error,
// error_description}) becomes a *protocol.RESTError.
func (f *funcCaller) call(ctx context.Context, method string, params js.Value) (json.RawMessage, error) {
	p, err := f.start(method, params)
	if err != nil {
		return nil, err
	}
	v, err := awaitPromise(ctx, f.reg, p)
	if err != nil {
		return nil, rejectionError(err, "the rest function")
	}
	return answerJSON(v, 0, true, "the rest function")
}

func (f *funcCaller) kind() string { return "function" }

// answer implements restCaller.
func (f *funcCaller) answer(v js.Value, rejected bool) (json.RawMessage, error) {
	if rejected {
		return nil, rejectionError(&rejection{Value: v}, "the rest function")
	}
	return answerJSON(v, 0, true, "the rest function")
}

func (f *funcCaller) start(method string, params js.Value) (p js.Value, err error) {
	defer catchJS(&err, "the rest function threw")
	return f.fn.Invoke(method, params), nil
}

// refresh implements restCaller: a plain function has no token to refresh.
func (f *funcCaller) refresh(context.Context) error { return errNoRefresh }

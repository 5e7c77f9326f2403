//go:build js && wasm

package bridge

import (
	"context"
	"encoding/json"
	"sync"
	"syscall/js"
)

// bx24Caller calls REST through the classic BX24 library: BX24.callMethod(method, params, callback)
// after BX24.init(callback) has fired once. The callback form is used because callMethod returns
// nothing useful (no Promise).
type bx24Caller struct {
	lib js.Value
	reg *funcRegistry

	initOnce  sync.Once
	ready     chan struct{} // closed once BX24.init called back, or at once without init
	initErr   error         // set before ready is closed when init could not be started
	readyOnce func()        // closes ready exactly once
}

// newBX24Caller returns a caller over the BX24 object lib.
func newBX24Caller(lib js.Value, reg *funcRegistry) *bx24Caller {
	b := &bx24Caller{lib: lib, reg: reg, ready: make(chan struct{})}
	b.readyOnce = sync.OnceFunc(func() { close(b.ready) })
	return b
}

func (b *bx24Caller) name() string { return "BX24.callMethod" }

func (b *bx24Caller) kind() string { return "bx24" }

// answer implements restCaller: v is the result object callMethod called back with. The callback
// form never rejects; a rejection is read like one of a promise-based library.
func (b *bx24Caller) answer(v js.Value, rejected bool) (json.RawMessage, error) {
	if rejected {
		return nil, rejectionError(&rejection{Value: v}, "BX24.callMethod")
	}
	return bx24Answer(v)
}

// waitInit calls BX24.init once per caller and waits for its callback or for ctx.
func (b *bx24Caller) waitInit(ctx context.Context) error {
	b.initOnce.Do(b.startInit)
	select {
	case <-b.ready:
		return b.initErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startInit calls BX24.init with a callback that marks the library ready; a library without init is
// ready at once.
func (b *bx24Caller) startInit() {
	if prop(b.lib, "init").Type() != js.TypeFunction {
		b.readyOnce()
		return
	}
	cb, err := b.reg.once(func([]js.Value) { b.readyOnce() })
	if err == nil {
		err = invokeMethod(b.lib, "init", "failed to call BX24.init", cb)
	}
	if err != nil {
		b.initErr = err
		b.readyOnce()
	}
}

// prefetched implements prefetchAware: the loader called BX24.init and waited for it before it called
// callMethod, so the library is ready and is not initialised again.
func (b *bx24Caller) prefetched() {
	b.initOnce.Do(func() {})
	b.readyOnce()
}

// call implements restCaller.
func (b *bx24Caller) call(ctx context.Context, method string, params js.Value) (json.RawMessage, error) {
	if err := b.waitInit(ctx); err != nil {
		return nil, err
	}
	cb, ch, release, err := callback(b.reg)
	if err != nil {
		return nil, err
	}
	if err := invokeMethod(b.lib, "callMethod", "failed to call BX24.callMethod", method, params, cb); err != nil {
		release()
		return nil, err
	}
	select {
	case args := <-ch:
		return bx24Answer(arg(args, 0))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bx24Answer reads BX24's result object: error() (undefined, a string, or an ajaxError with ex and
// status), else answer (the raw answer), else data() wrapped as {result}.
func bx24Answer(res js.Value) (_ json.RawMessage, err error) {
	defer catchJS(&err, "failed to read the BX24.callMethod result")
	if res.Type() != js.TypeObject {
		return nil, &Error{Code: CodeRESTFailed, Description: "BX24.callMethod called back without a result object"}
	}
	if prop(res, "error").Type() == js.TypeFunction {
		if e := res.Call("error"); e.Truthy() {
			return nil, bx24Error(res, e)
		}
	}
	if answer := prop(res, "answer"); answer.Type() == js.TypeObject {
		return answerJSON(answer, 0, false, "BX24.callMethod")
	}
	if prop(res, "data").Type() == js.TypeFunction {
		return answerJSON(res.Call("data"), 0, true, "BX24.callMethod")
	}
	return nil, &Error{Code: CodeRESTFailed, Description: "BX24.callMethod result has neither answer nor data()"}
}

// bx24Error converts the value of result.error() into an error.
func bx24Error(res, e js.Value) error {
	if re, ok := restErrorFrom(e); ok {
		return re
	}
	if e.Type() == js.TypeString {
		obj := js.Global().Get("Object").New()
		obj.Set("error", e)
		if d := prop(res, "error_description"); d.Type() == js.TypeFunction {
			obj.Set("error_description", res.Call("error_description"))
		}
		if re, ok := restErrorFrom(obj); ok {
			return re
		}
	}
	if answer := prop(res, "answer"); answer.Type() == js.TypeObject {
		if re, ok := restErrorFrom(answer); ok {
			return re
		}
	}
	return &Error{Code: CodeRESTFailed, Description: "BX24.callMethod reported an error without a code: " + jsValueText(e)}
}

// refresh implements restCaller with BX24.refreshAuth(callback); the callback's false means failure.
func (b *bx24Caller) refresh(ctx context.Context) error {
	if prop(b.lib, "refreshAuth").Type() != js.TypeFunction {
		return errNoRefresh
	}
	cb, ch, release, err := callback(b.reg)
	if err != nil {
		return err
	}
	if err := invokeMethod(b.lib, "refreshAuth", "failed to call BX24.refreshAuth", cb); err != nil {
		release()
		return err
	}
	select {
	case args := <-ch:
		if auth := arg(args, 0); auth.Type() != js.TypeObject {
			return &Error{Code: CodeRESTFailed, Description: "BX24.refreshAuth gave no new token"}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// invokeMethod calls obj[method](args...), turning a JavaScript exception into an error prefixed with
// what.
func invokeMethod(obj js.Value, method, what string, args ...any) (err error) {
	defer catchJS(&err, what)
	obj.Call(method, args...)
	return nil
}

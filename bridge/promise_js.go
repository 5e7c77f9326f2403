//go:build js && wasm

package bridge

import (
	"context"
	"fmt"
	"syscall/js"
)

// newPromise returns a JavaScript Promise whose executor starts a goroutine running work, so that the
// calling JS never waits on Go: the promise resolves with work's value (anything js.ValueOf accepts)
// or rejects with the Error that jsError builds from work's error. A panic in work rejects with code
// INTERNAL instead of ending the program. When reg is already released the promise rejects with
// DESTROYED and work does not run.
func newPromise(reg *funcRegistry, work func() (any, error)) js.Value {
	promise := js.Global().Get("Promise")
	executor, err := reg.once(func(args []js.Value) {
		resolve, reject := args[0], args[1]
		go settle(resolve, reject, work)
	})
	if err != nil {
		return promise.Call("reject", jsError(err))
	}
	return promise.New(executor)
}

// settle runs work and settles a promise through resolve or reject.
func settle(resolve, reject js.Value, work func() (any, error)) {
	defer func() {
		if p := recover(); p != nil {
			reject.Invoke(newJSError(CodeInternal, fmt.Sprintf("internal error: %s", panicText(p)), 0))
		}
	}()
	v, err := work()
	if err != nil {
		reject.Invoke(jsError(err))
		return
	}
	resolve.Invoke(v)
}

// rejectedPromise returns Promise.reject(jsError(err)).
func rejectedPromise(err error) js.Value {
	return js.Global().Get("Promise").Call("reject", jsError(err))
}

// rejection is the error awaitPromise returns when the promise rejects; Value is the rejection value
// (usually an Error, but JavaScript allows anything).
type rejection struct {
	Value js.Value
}

// Error implements error with the rejection's message.
func (r *rejection) Error() string { return "promise rejected: " + jsValueText(r.Value) }

// outcome is one settlement delivered from a JS callback to the goroutine waiting for it.
type outcome struct {
	value    js.Value
	rejected bool
}

// awaitPromise waits for p from a goroutine (never from a JS callback: the callbacks need the event
// loop that a blocked callback holds). It passes both handlers to one then(), returns the fulfilled
// value, or a *rejection, or ctx.Err() when ctx ends first. A value that is not a thenable is
// returned as is, like await does.
//
// Whichever handler runs releases both. When ctx ends first the handlers stay registered until the
// promise settles, even past reg.releaseAll (they are pending funcs): a promise that never settles
// keeps its two handlers, which is the price of never having JavaScript call a released func.
func awaitPromise(ctx context.Context, reg *funcRegistry, p js.Value) (v js.Value, err error) {
	if !isThenable(p) {
		return p, nil
	}
	ch := make(chan outcome, 1)
	var relOK, relErr func()
	onOK, relOK, err := reg.addPending(func(_ js.Value, args []js.Value) any {
		relOK()
		relErr()
		ch <- outcome{value: arg(args, 0)}
		return js.Undefined()
	})
	if err != nil {
		return js.Undefined(), err
	}
	onErr, relErr, err := reg.addPending(func(_ js.Value, args []js.Value) any {
		relOK()
		relErr()
		ch <- outcome{value: arg(args, 0), rejected: true}
		return js.Undefined()
	})
	if err != nil {
		relOK()
		return js.Undefined(), err
	}
	if err := callThen(p, onOK, onErr); err != nil {
		relOK()
		relErr()
		return js.Undefined(), err
	}
	select {
	case o := <-ch:
		if o.rejected {
			return js.Undefined(), &rejection{Value: o.value}
		}
		return o.value, nil
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// callThen calls p.then(onOK, onErr), turning a throwing then into an error.
func callThen(p js.Value, onOK, onErr js.Func) (err error) {
	defer catchJS(&err, "failed to attach to a promise")
	p.Call("then", onOK, onErr)
	return nil
}

// isThenable reports whether v is an object or function with a then method.
func isThenable(v js.Value) bool {
	t := v.Type()
	if t != js.TypeObject && t != js.TypeFunction {
		return false
	}
	return prop(v, "then").Type() == js.TypeFunction
}

// callback returns a one-shot js.Func owned by reg that delivers its arguments on the returned
// channel (buffered, so the JS side never waits), and its release function for when the func was
// never handed over (the call taking it threw). Like awaitPromise's handlers it is a pending func: it
// stays registered until it runs, even past reg.releaseAll.
func callback(reg *funcRegistry) (js.Func, <-chan []js.Value, func(), error) {
	ch := make(chan []js.Value, 1)
	var release func()
	f, release, err := reg.addPending(func(_ js.Value, args []js.Value) any {
		release()
		select {
		case ch <- args:
		default:
		}
		return js.Undefined()
	})
	return f, ch, release, err
}

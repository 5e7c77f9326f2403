//go:build js && wasm

package bridge

import (
	"context"
	"encoding/json"
	"sync"
	"syscall/js"
)

// prefetch is the loader's head start on the first config call. The loader (js/b24pull.mjs) starts
// pull.application.config.get through the app's REST library as soon as createPullClient is called,
// while the wasm is still being fetched and compiled, and passes newClient an object describing it:
//
//	{kind: 'function' | 'frame' | 'bx24',  the REST library it called, as newREST classifies it
//	 method: string, params: string,       the method and the JSON text of its params
//	 take(): Promise<{ok, value}> | null}  the outcome, once; null when it expired or was discarded
//
// The promise take returns never rejects: ok tells whether the call fulfilled (value is the answer,
// or BX24's result object) or failed (value is the rejection). The adapter uses it for the first call
// with the same method and params, when the library kinds agree, and finishes it exactly like a call
// of its own (caller.answer): a failed prefetch gets the usual token refresh and rate-limit retries.
// Anything else — no prefetch, another kind, take() answering null — means a call of its own.
type prefetch struct {
	mu     sync.Mutex
	v      js.Value // the loader's object; undefined once taken
	method string
	params string
}

// newPrefetch returns the prefetch described by v when it was made for a library of kind, else nil.
func newPrefetch(v js.Value, kind string) (p *prefetch) {
	defer func() {
		if recover() != nil {
			p = nil
		}
	}()
	if v.Type() != js.TypeObject {
		return nil
	}
	k, method, params := prop(v, "kind"), prop(v, "method"), prop(v, "params")
	if k.Type() != js.TypeString || k.String() != kind || method.Type() != js.TypeString ||
		params.Type() != js.TypeString || prop(v, "take").Type() != js.TypeFunction {
		return nil
	}
	return &prefetch{v: v, method: method.String(), params: params.String()}
}

// take returns the prefetched outcome's promise for a call of method with paramsJSON, once, or
// undefined when there is none for that call.
func (p *prefetch) take(method, paramsJSON string) (out js.Value) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.v.IsUndefined() || method != p.method || paramsJSON != p.params {
		return js.Undefined()
	}
	v := p.v
	p.v = js.Undefined()
	defer func() {
		if recover() != nil {
			out = js.Undefined()
		}
	}()
	if promise := v.Call("take"); isThenable(promise) {
		return promise
	}
	return js.Undefined()
}

// attemptPrefetched is attempt, finished from the loader's prefetch when it made this very call.
func (a *restAdapter) attemptPrefetched(ctx context.Context, method, paramsJSON string) (json.RawMessage, error) {
	if a.prefetch == nil {
		return a.attempt(ctx, method, paramsJSON)
	}
	promise := a.prefetch.take(method, paramsJSON)
	if promise.IsUndefined() {
		return a.attempt(ctx, method, paramsJSON)
	}
	actx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	o, err := awaitPromise(actx, a.reg, promise)
	if err != nil {
		return nil, a.timedOut(ctx, method, err)
	}
	ok := prop(o, "ok")
	if o.Type() != js.TypeObject || ok.Type() != js.TypeBoolean {
		// not an outcome the loader makes: call as if there had been no prefetch
		return a.attempt(ctx, method, paramsJSON)
	}
	if p, isAware := a.caller.(prefetchAware); isAware {
		p.prefetched()
	}
	return a.caller.answer(prop(o, "value"), !ok.Bool())
}

// prefetchAware is implemented by callers that learn from a call the loader made through their
// library: the BX24 caller, whose library the loader initialised first.
type prefetchAware interface {
	prefetched()
}

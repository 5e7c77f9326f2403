//go:build js && wasm

package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"
)

// liveFuncs counts the js.Func values created through any funcRegistry and not yet released.
var liveFuncs atomic.Int64

// LiveFuncs returns how many js.Func values the bridge has created and not yet released. Leak tests
// compare it before and after a client's life; getStats() reports it as jsFuncs.
func LiveFuncs() int64 { return liveFuncs.Load() }

// funcRegistry owns js.Func values: every func of one owner (a client, the module exports) is created
// through it, counted, and released by releaseAll when the owner goes away. Its methods are safe for
// concurrent use.
//
// Funcs come in two kinds. Exported methods and listeners are released by releaseAll, after their
// owner cleared the JS properties that point at them. Pending funcs — promise handlers and one-shot
// callbacks handed to a JS library — are held by JavaScript until it calls them, which may be after
// the owner is gone (an aborted fetch rejects a moment later; BX24 answers a call made before
// destroy). Releasing those early would turn the late call into "call to released function", so they
// release themselves when called, and releaseAll leaves them.
type funcRegistry struct {
	mu     sync.Mutex
	funcs  map[uint64]regFunc
	nextID uint64
	closed bool
}

type regFunc struct {
	f       js.Func
	pending bool
}

// newFuncRegistry returns an empty, open registry.
func newFuncRegistry() *funcRegistry {
	return &funcRegistry{funcs: make(map[uint64]regFunc)}
}

// add wraps fn in a js.Func owned by r. The returned release removes and releases it; it is
// idempotent and may be called from inside fn. A panic in fn is recovered and reported on the
// console, because an escaped panic would end the Go program and with it every client on the page.
// add fails with errDestroyed once releaseAll has run.
func (r *funcRegistry) add(fn func(this js.Value, args []js.Value) any) (js.Func, func(), error) {
	return r.register(fn, false)
}

// addPending is add for a func JavaScript calls at most once, later: releaseAll leaves it, and fn
// must release it (and any sibling handed over with it) when it runs.
func (r *funcRegistry) addPending(fn func(this js.Value, args []js.Value) any) (js.Func, func(), error) {
	return r.register(fn, true)
}

func (r *funcRegistry) register(fn func(this js.Value, args []js.Value) any, pending bool) (js.Func, func(), error) {
	wrapped := func(this js.Value, args []js.Value) (result any) {
		defer func() {
			if p := recover(); p != nil {
				consoleError(fmt.Sprintf("b24pull: internal error in a callback: %v", p))
				result = js.Undefined()
			}
		}()
		return fn(this, args)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return js.Func{}, func() {}, errDestroyed
	}
	id := r.nextID
	r.nextID++
	f := js.FuncOf(wrapped)
	r.funcs[id] = regFunc{f: f, pending: pending}
	liveFuncs.Add(1)
	release := func() { r.release(id) }
	return f, release, nil
}

// once wraps fn in a one-shot pending js.Func owned by r: the first call runs fn and releases the
// func.
func (r *funcRegistry) once(fn func(args []js.Value)) (js.Func, error) {
	var release func()
	f, rel, err := r.addPending(func(_ js.Value, args []js.Value) any {
		release()
		fn(args)
		return js.Undefined()
	})
	release = rel
	return f, err
}

// release removes and releases the func with id, if it is still registered.
func (r *funcRegistry) release(id uint64) {
	r.mu.Lock()
	e, ok := r.funcs[id]
	delete(r.funcs, id)
	r.mu.Unlock()
	if ok {
		e.f.Release()
		liveFuncs.Add(-1)
	}
}

// releaseAll releases every func of r but the pending ones (they release themselves when called) and
// makes later add calls fail. Callers clear the JS properties that point at these funcs first, so
// that no late call lands on a released one.
func (r *funcRegistry) releaseAll() {
	r.mu.Lock()
	var release []js.Func
	for id, e := range r.funcs {
		if !e.pending {
			release = append(release, e.f)
			delete(r.funcs, id)
		}
	}
	r.closed = true
	r.mu.Unlock()
	for _, f := range release {
		f.Release()
		liveFuncs.Add(-1)
	}
}

// count returns how many funcs r currently holds.
func (r *funcRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.funcs)
}

// consoleError writes msg to console.error, ignoring a missing console.
func consoleError(msg string) {
	defer func() { _ = recover() }()
	c := js.Global().Get("console")
	if c.Type() == js.TypeObject {
		c.Call("error", msg)
	}
}

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
type funcRegistry struct {
	mu     sync.Mutex
	funcs  map[uint64]js.Func
	nextID uint64
	closed bool
}

// newFuncRegistry returns an empty, open registry.
func newFuncRegistry() *funcRegistry {
	return &funcRegistry{funcs: make(map[uint64]js.Func)}
}

// add wraps fn in a js.Func owned by r. The returned release removes and releases it; it is
// idempotent and may be called from inside fn. A panic in fn is recovered and reported on the
// console, because an escaped panic would end the Go program and with it every client on the page.
// add fails with errDestroyed once releaseAll has run.
func (r *funcRegistry) add(fn func(this js.Value, args []js.Value) any) (js.Func, func(), error) {
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
	r.funcs[id] = f
	liveFuncs.Add(1)
	release := func() { r.release(id) }
	return f, release, nil
}

// once wraps fn in a one-shot js.Func owned by r: the first call runs fn and releases the func. A
// func that is never called is released by releaseAll.
func (r *funcRegistry) once(fn func(args []js.Value)) (js.Func, error) {
	var release func()
	f, rel, err := r.add(func(_ js.Value, args []js.Value) any {
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
	f, ok := r.funcs[id]
	delete(r.funcs, id)
	r.mu.Unlock()
	if ok {
		f.Release()
		liveFuncs.Add(-1)
	}
}

// releaseAll releases every func of r and makes later add calls fail. Callers clear the JS properties
// that point at these funcs first, so that no late call lands on a released one.
func (r *funcRegistry) releaseAll() {
	r.mu.Lock()
	funcs := r.funcs
	r.funcs = make(map[uint64]js.Func)
	r.closed = true
	r.mu.Unlock()
	for _, f := range funcs {
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

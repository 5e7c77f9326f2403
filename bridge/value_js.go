//go:build js && wasm

package bridge

import "syscall/js"

// reflectGet is Reflect.get.
var reflectGet = js.Global().Get("Reflect").Get("get")

// prop returns v[name], or undefined when v is not an object or function or when reading throws.
//
// Values that come from the app (its REST library, its answers and errors) are read through prop,
// never Value.Get: syscall/js does not catch an exception thrown by a getter in Value.Get, so such an
// exception would end the Go program (and every client on the page), while Reflect.get called
// through Invoke turns it into a recoverable panic. A B24Frame's auth and actions getters throw until
// the frame is initialised.
func prop(v js.Value, name string) (out js.Value) {
	if t := v.Type(); t != js.TypeObject && t != js.TypeFunction {
		return js.Undefined()
	}
	defer func() {
		if recover() != nil {
			out = js.Undefined()
		}
	}()
	return reflectGet.Invoke(v, name)
}

// arg returns args[i], or undefined when the call passed fewer arguments.
func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

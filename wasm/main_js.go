//go:build js && wasm

// Command wasm is the b24pull WebAssembly program. It registers the module object as
// globalThis.__b24pull ({version, newClient, runtimeStats}), tells the loader it is ready by calling
// globalThis.__b24pullReady() when the loader defined it, and then blocks forever: returning would
// make every exported function throw "Go program has already exited".
package main

import (
	"syscall/js"

	"github.com/b24pull/b24pull/bridge"
)

func main() {
	global := js.Global()
	global.Set("__b24pull", bridge.Export())
	if ready := global.Get("__b24pullReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

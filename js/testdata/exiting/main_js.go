//go:build js && wasm

// Command exiting is a stand-in module for the loader's crash test: it registers a module whose
// client calls never settle, signals ready like the real one, and exits shortly after.
package main

import (
	"syscall/js"
	"time"
)

const fakeModule = `({
  version: 'exiting',
  newClient: () => ({
    loadConfig: () => new Promise(() => {}),
    configValue: () => null,
    facts: () => ({}),
    start: () => new Promise(() => {}),
    stop: () => new Promise(() => {}),
    restart: () => new Promise(() => {}),
    reconnect: () => new Promise(() => {}),
    setLastMessageId: () => {},
    network: () => {},
    destroy: () => new Promise(() => {}),
    getStatus: () => 'offline',
    getStats: () => ({}),
    getDebugInfo: () => ({}),
  }),
})`

func main() {
	js.Global().Set("__b24pull", js.Global().Call("eval", fakeModule))
	js.Global().Call("__b24pullReady")
	time.Sleep(300 * time.Millisecond)
}

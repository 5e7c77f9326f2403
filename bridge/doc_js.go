//go:build js && wasm

// Package bridge is the browser glue of b24pull: it turns the app's REST library (the classic BX24
// library, a b24jssdk B24Frame or a plain function) into a client.REST, and exports the pull client to
// JavaScript as plain objects whose async methods return Promises.
//
// The package holds no protocol logic: the connection, the wire formats and the session live in
// client/ and below, which are pure Go. Everything here touches syscall/js and therefore carries the
// js && wasm build constraint (tags_test.go checks it).
//
// # Browser rules this package keeps
//
//   - No JS callback blocks. An exported async method returns a Promise whose executor starts a
//     goroutine; the goroutine resolves or rejects it. Go waits on JS (callbacks, promises) only from
//     goroutines, always with a context (see [awaitPromise] and [callback]).
//   - Every js.Func is created through a [funcRegistry] that counts the live ones and releases them all
//     when its owner goes away. A one-shot callback that never fires (a REST library that never answers)
//     stays registered until then, so that a late answer lands on a live function instead of logging
//     "call to released function"; after destroy() such a late answer does log that line.
//   - One JS↔Go crossing per frame: events reach JavaScript as one JSON text per frame (onBatch), and
//     JSON.parse on the JS side builds the objects.
//   - Errors given to JavaScript are real Error objects with a code and a description ([ErrorCode]).
//     Panics in exported functions are recovered and turned into such errors.
package bridge

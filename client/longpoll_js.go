//go:build js

package client

// defaultLongPoller is nil in the browser: the bridge passes a fetch-based LongPoller, so that Go's
// HTTP client is not linked into the wasm.
func defaultLongPoller() LongPoller { return nil }

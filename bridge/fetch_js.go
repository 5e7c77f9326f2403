//go:build js && wasm

package bridge

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/b24pull/b24pull/client"
)

// fetchPoller is the browser's long-polling transport: one fetch per GET, aborted through an
// AbortController when the context ends. Using fetch directly instead of Go's net/http (which would
// also end in fetch) keeps Go's whole HTTP client out of the wasm.
type fetchPoller struct {
	reg *funcRegistry
}

// Get implements client.LongPoller. It runs on a client goroutine, never inside a JS callback.
func (p fetchPoller) Get(ctx context.Context, url string, limit int64) (ans client.LongPollAnswer, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("failed to poll: %v", r)
		}
	}()
	fetch := js.Global().Get("fetch")
	if fetch.Type() != js.TypeFunction {
		return ans, fmt.Errorf("failed to poll: fetch is not available")
	}
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()
	init := js.Global().Get("Object").New()
	init.Set("signal", abort.Get("signal"))
	init.Set("cache", "no-store")
	init.Set("credentials", "omit")
	resp, err := awaitPromise(ctx, p.reg, fetch.Invoke(url, init))
	if err != nil {
		return ans, p.failure(ctx, err)
	}
	headers := resp.Get("headers")
	ans.Status = resp.Get("status").Int()
	ans.Expires = headerValue(headers, "Expires")
	ans.LastMessageID = headerValue(headers, "Last-Message-Id")
	buf, err := awaitPromise(ctx, p.reg, resp.Call("arrayBuffer"))
	if err != nil {
		return ans, p.failure(ctx, err)
	}
	n := buf.Get("byteLength").Int()
	if int64(n) > limit {
		return ans, fmt.Errorf("failed to poll: answer over %d bytes", limit)
	}
	ans.Body = make([]byte, n)
	js.CopyBytesToGo(ans.Body, js.Global().Get("Uint8Array").New(buf))
	return ans, nil
}

// failure prefers the context's error, so that a timeout or a stop is told apart from a network
// failure (fetch rejects with a bare TypeError that says nothing useful).
func (p fetchPoller) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("failed to poll: %w", err)
}

func headerValue(headers js.Value, name string) string {
	v := headers.Call("get", name)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

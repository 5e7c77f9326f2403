//go:build js && wasm

package bridge

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"testing"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awaitT waits for p from the test goroutine, bounded in time.
func awaitT(t *testing.T, reg *funcRegistry, p js.Value) (js.Value, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := awaitPromise(ctx, reg, p)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "the promise did not settle")
	return v, err
}

func TestNewPromiseResolves(t *testing.T) {
	t.Parallel()
	reg := newFuncRegistry()
	defer reg.releaseAll()
	v, err := awaitT(t, reg, newPromise(reg, func() (any, error) { return "hi", nil }))
	require.NoError(t, err)
	assert.Equal(t, "hi", v.String())
	assert.Zero(t, reg.count(), "executor and handlers must be released")
}

func TestNewPromiseRejectsWithError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		work       func() (any, error)
		wantCode   string
		wantDesc   string
		wantStatus int
	}{
		{
			name: "rest error",
			work: func() (any, error) {
				return nil, fmt.Errorf("failed to get the config: %w", &protocol.RESTError{Code: "WRONG_AUTH_TYPE", Description: "app auth only", Status: 403})
			},
			wantCode: "WRONG_AUTH_TYPE", wantDesc: "app auth only", wantStatus: 403,
		},
		{
			name:     "rest error without description",
			work:     func() (any, error) { return nil, &protocol.RESTError{Code: "SERVER_ERROR", Status: 500} },
			wantCode: "SERVER_ERROR", wantDesc: "SERVER_ERROR", wantStatus: 500,
		},
		{
			name:     "destroyed",
			work:     func() (any, error) { return nil, fmt.Errorf("failed to start: %w", client.ErrDestroyed) },
			wantCode: CodeDestroyed, wantDesc: "the client was destroyed",
		},
		{
			name:     "stopped",
			work:     func() (any, error) { return nil, fmt.Errorf("failed to start: %w", client.ErrStopped) },
			wantCode: CodeStopped, wantDesc: "the client was stopped",
		},
		{
			name:     "timeout",
			work:     func() (any, error) { return nil, &Error{Code: CodeTimeout, Description: "too slow"} },
			wantCode: CodeTimeout, wantDesc: "too slow",
		},
		{
			name:     "deadline",
			work:     func() (any, error) { return nil, context.DeadlineExceeded },
			wantCode: CodeTimeout, wantDesc: "context deadline exceeded",
		},
		{
			name:     "other",
			work:     func() (any, error) { return nil, errors.New("failed to dial: refused") },
			wantCode: CodeFailed, wantDesc: "failed to dial: refused",
		},
		{
			name:     "panic",
			work:     func() (any, error) { panic("boom") },
			wantCode: CodeInternal, wantDesc: "internal error: boom",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newFuncRegistry()
			defer reg.releaseAll()
			_, err := awaitT(t, reg, newPromise(reg, tc.work))
			var rej *rejection
			require.ErrorAs(t, err, &rej)
			e := rej.Value
			require.True(t, e.InstanceOf(js.Global().Get("Error")), "rejection must be an Error")
			assert.Equal(t, tc.wantCode, e.Get("code").String())
			assert.Equal(t, tc.wantDesc, e.Get("description").String())
			assert.Equal(t, tc.wantDesc, e.Get("message").String())
			if tc.wantStatus > 0 {
				assert.Equal(t, tc.wantStatus, e.Get("status").Int())
			} else {
				assert.True(t, e.Get("status").IsUndefined())
			}
			assert.Zero(t, reg.count())
		})
	}
}

func TestNewPromiseOnReleasedRegistry(t *testing.T) {
	t.Parallel()
	reg := newFuncRegistry()
	reg.releaseAll()
	ran := false
	p := newPromise(reg, func() (any, error) { ran = true; return nil, nil })
	_, err := awaitT(t, newFuncRegistry(), p)
	var rej *rejection
	require.ErrorAs(t, err, &rej)
	assert.Equal(t, CodeDestroyed, rej.Value.Get("code").String())
	assert.False(t, ran)
}

func TestAwaitPromise(t *testing.T) {
	t.Parallel()
	global := js.Global()
	tests := []struct {
		name      string
		value     func() js.Value // built inside the subtest, so no rejection sits unhandled
		wantValue string
		wantErr   string
	}{
		{"fulfilled", func() js.Value { return global.Get("Promise").Call("resolve", "yes") }, "yes", ""},
		{"rejected", func() js.Value { return global.Get("Promise").Call("reject", global.Get("Error").New("no")) }, "", "promise rejected: no"},
		{"not a thenable", func() js.Value { return js.ValueOf("plain") }, "plain", ""},
		{"thenable object", func() js.Value { return global.Call("eval", `({then(ok) { setTimeout(ok, 1, 'later'); }})`) }, "later", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newFuncRegistry()
			defer reg.releaseAll()
			v, err := awaitT(t, reg, tc.value())
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.wantValue, v.String())
			}
			assert.Zero(t, reg.count(), "both handlers must be released")
		})
	}
}

func TestAwaitPromiseContext(t *testing.T) {
	t.Parallel()
	reg := newFuncRegistry()
	later := js.Global().Call("eval", `(() => { let settle; const p = new Promise((r) => { settle = r; }); return {p, settle}; })()`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := awaitPromise(ctx, reg, later.Get("p"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 2, reg.count(), "handlers stay until the promise settles")
	reg.releaseAll()
	assert.Equal(t, 2, reg.count(), "the promise still holds them: releasing now would make its settlement throw")

	later.Call("settle", "late")
	tick := newFuncRegistry()
	defer tick.releaseAll()
	_, err = awaitPromise(context.Background(), tick, js.Global().Call("eval", `new Promise((r) => setTimeout(r, 5))`))
	require.NoError(t, err)
	assert.Zero(t, reg.count(), "the settlement released both handlers")

	_, err = awaitPromise(context.Background(), reg, later.Get("p"))
	assert.ErrorIs(t, err, errDestroyed, "a released registry refuses new handlers")
}

func TestFuncRegistry(t *testing.T) {
	t.Parallel()
	reg := newFuncRegistry()
	calls := 0
	f, release, err := reg.add(func(js.Value, []js.Value) any { calls++; return "r" })
	require.NoError(t, err)
	assert.Equal(t, "r", f.Invoke().String())
	assert.Equal(t, 1, reg.count())
	release()
	release()
	assert.Zero(t, reg.count())

	once, err := reg.once(func([]js.Value) { calls++ })
	require.NoError(t, err)
	assert.Equal(t, 1, reg.count())
	once.Invoke()
	assert.Zero(t, reg.count(), "a one-shot func releases itself")
	assert.Equal(t, 2, calls)

	boom, _, err := reg.add(func(js.Value, []js.Value) any { panic("bad") })
	require.NoError(t, err)
	assert.True(t, boom.Invoke().IsUndefined(), "a panic is recovered and yields undefined")

	late, err := reg.once(func([]js.Value) { calls++ })
	require.NoError(t, err)
	assert.Equal(t, 2, reg.count())
	reg.releaseAll()
	assert.Equal(t, 1, reg.count(), "a one-shot func JavaScript still holds outlives releaseAll")
	late.Invoke()
	assert.Zero(t, reg.count(), "and releases itself when called")
	assert.Equal(t, 3, calls)
	_, _, err = reg.add(func(js.Value, []js.Value) any { return nil })
	assert.ErrorIs(t, err, errDestroyed)
}

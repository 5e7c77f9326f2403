//go:build js && wasm

package bridge

import (
	"context"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const configMethod = "pull.application.config.get"

// okAnswer is what the fakes answer for "ok".
const okAnswer = `{"result":{"method":"pull.application.config.get","ok":true},"time":{"start":1}}`

// restCase is one call through a fake library and what must come of it.
type restCase struct {
	name       string
	plan       []any
	opts       map[string]any
	wantAnswer string // JSON, when the call must succeed
	wantCode   string // error code, when it must fail
	wantStatus int
	wantText   string // a piece of the error description
	wantCalls  int
	wantLeft   int // funcs still registered after the call (callbacks that never came)
	wantRefr   int
}

// testRESTOptions keep the timeouts and backoff short.
var testRESTOptions = restOptions{Timeout: 150 * time.Millisecond, Backoff: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}}

// runRESTCase calls pull.application.config.get once through lib and checks the outcome.
func runRESTCase(t *testing.T, kind string, tc restCase) {
	t.Helper()
	lib := fake(t, kind, tc.plan, tc.opts)
	reg := newFuncRegistry()
	defer reg.releaseAll()
	rest, err := newREST(reg, lib, testRESTOptions)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answer, err := rest.Call(ctx, configMethod, map[string]any{"CACHE": "N"})
	if tc.wantCode == "" {
		require.NoError(t, err)
		assert.JSONEq(t, tc.wantAnswer, string(answer))
	} else {
		require.Error(t, err)
		code, desc, status := errorFields(err)
		assert.Equal(t, tc.wantCode, code, "error: %v", err)
		assert.Equal(t, tc.wantStatus, status)
		assert.Contains(t, desc, tc.wantText)
	}
	assert.Len(t, calls(lib), tc.wantCalls)
	if tc.wantCalls > 0 {
		assert.Equal(t, "N", lib.Get("calls").Index(0).Get("params").Get("CACHE").String())
	}
	if r := lib.Get("refreshes"); r.Type() == js.TypeNumber {
		assert.Equal(t, tc.wantRefr, r.Int(), "refreshes")
	}
	assert.Equal(t, tc.wantLeft, reg.count(), "funcs left registered")
}

func TestBX24REST(t *testing.T) {
	t.Parallel()
	tests := []restCase{
		{name: "answer", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "data only", plan: []any{"data"}, wantAnswer: `{"result":{"n":1}}`, wantCalls: 1},
		{name: "no init function", plan: []any{"ok"}, opts: map[string]any{"noInit": true}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "ajaxError with ex and status", plan: []any{"ex"}, wantCode: "WRONG_AUTH_TYPE", wantStatus: 403, wantText: "application authorization", wantCalls: 1},
		{name: "ajaxError with getStatus", plan: []any{"getStatus"}, wantCode: "AUTHORIZE_ERROR", wantStatus: 403, wantText: "guest", wantCalls: 1},
		{name: "error as a string", plan: []any{"string"}, wantCode: "SERVER_ERROR", wantStatus: 500, wantText: "not configured", wantCalls: 1},
		{name: "error only in the answer", plan: []any{"answer-error"}, wantCode: "ACCESS_DENIED", wantStatus: 403, wantText: "commercial", wantCalls: 1},
		{name: "error without a code", plan: []any{"nocode"}, wantCode: CodeRESTFailed, wantText: "without a code", wantCalls: 1},
		{name: "callback without result", plan: []any{"nothing"}, wantCode: CodeRESTFailed, wantText: "without a result", wantCalls: 1},
		{name: "expired token then success", plan: []any{"expired", "ok"}, wantAnswer: okAnswer, wantCalls: 2, wantRefr: 1},
		{name: "expired token twice", plan: []any{"expired", "expired"}, wantCode: "expired_token", wantStatus: 401, wantText: "expired", wantCalls: 2, wantRefr: 1},
		{name: "refresh fails", plan: []any{"expired"}, opts: map[string]any{"refreshFails": true}, wantCode: "expired_token", wantStatus: 401, wantText: "expired", wantCalls: 1, wantRefr: 1},
		{name: "rate limit then success", plan: []any{"limit", "limit", "ok"}, wantAnswer: okAnswer, wantCalls: 3},
		{name: "rate limit exhausts retries", plan: []any{"limit", "limit", "limit", "limit", "ok"}, wantCode: "QUERY_LIMIT_EXCEEDED", wantStatus: 503, wantText: "Too many", wantCalls: 4},
		{name: "callMethod throws", plan: []any{"throw"}, wantCode: CodeRESTFailed, wantText: "callMethod exploded", wantCalls: 1},
		{name: "callback never comes", plan: []any{"never"}, wantCode: CodeTimeout, wantText: "gave no answer", wantCalls: 1, wantLeft: 1},
		{name: "init never calls back", plan: []any{"ok"}, opts: map[string]any{"initNever": true}, wantCode: CodeTimeout, wantText: "gave no answer", wantCalls: 0, wantLeft: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runRESTCase(t, "bx24", tc)
		})
	}
}

func TestBX24InitOnce(t *testing.T) {
	t.Parallel()
	lib := fake(t, "bx24", nil, nil)
	reg := newFuncRegistry()
	defer reg.releaseAll()
	rest, err := newREST(reg, lib, testRESTOptions)
	require.NoError(t, err)
	for range 3 {
		_, err := rest.Call(context.Background(), configMethod, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, lib.Get("inits").Int())
	assert.Len(t, calls(lib), 3)
}

func TestB24FrameREST(t *testing.T) {
	t.Parallel()
	tests := []restCase{
		{name: "answer", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "without actions", plan: []any{"ok"}, opts: map[string]any{"noActions": true}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "failed AjaxResult", plan: []any{"error"}, wantCode: "WRONG_AUTH_TYPE", wantStatus: 403, wantText: "OAuth", wantCalls: 1},
		{name: "failed AjaxResult with messages only", plan: []any{"messages"}, wantCode: CodeRESTFailed, wantText: "it broke", wantCalls: 1},
		{name: "expired token then success", plan: []any{"reject-expired", "ok"}, wantAnswer: okAnswer, wantCalls: 2, wantRefr: 1},
		{name: "rate limit then success", plan: []any{"reject-limit", "ok"}, wantAnswer: okAnswer, wantCalls: 2},
		{name: "transport failure", plan: []any{"reject-plain"}, wantCode: CodeRESTFailed, wantText: "Failed to fetch", wantCalls: 1},
		{name: "make throws", plan: []any{"throw"}, wantCode: CodeRESTFailed, wantText: "make exploded", wantCalls: 1},
		{name: "promise never settles", plan: []any{"never"}, wantCode: CodeTimeout, wantText: "B24Frame gave no answer", wantCalls: 1, wantLeft: 2},
		{name: "not initialised", opts: map[string]any{"uninit": true}, wantCode: CodeRESTFailed, wantText: "not initialized", wantCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runRESTCase(t, "frame", tc)
		})
	}
}

func TestB24FramePrefersActions(t *testing.T) {
	t.Parallel()
	for _, noActions := range []bool{false, true} {
		frame := fake(t, "frame", nil, map[string]any{"noActions": noActions})
		reg := newFuncRegistry()
		rest, err := newREST(reg, frame, testRESTOptions)
		require.NoError(t, err)
		_, err = rest.Call(context.Background(), configMethod, nil)
		require.NoError(t, err)
		assert.Equal(t, noActions, frame.Get("deprecated").Truthy(), "callMethod used (noActions=%v)", noActions)
		reg.releaseAll()
	}
}

func TestFunctionREST(t *testing.T) {
	t.Parallel()
	tests := []restCase{
		{name: "promise of the answer", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "plain answer", plan: []any{"sync"}, wantAnswer: okAnswer, wantCalls: 1},
		{name: "bare result is wrapped", plan: []any{"bare"}, wantAnswer: `{"result":{"n":1}}`, wantCalls: 1},
		{name: "array result is wrapped", plan: []any{"array"}, wantAnswer: `{"result":[1,2]}`, wantCalls: 1},
		{name: "error answer", plan: []any{"error-answer"}, wantCode: "ACCESS_DENIED", wantStatus: 403, wantText: "commercial", wantCalls: 1},
		{name: "rejects with an error answer", plan: []any{"reject-answer"}, wantCode: "insufficient_scope", wantStatus: 403, wantText: "no pull scope", wantCalls: 1},
		{name: "expired token cannot be refreshed", plan: []any{"reject-expired", "ok"}, wantCode: "expired_token", wantStatus: 401, wantText: "expired", wantCalls: 1},
		{name: "rejects with an Error", plan: []any{"reject-plain"}, wantCode: CodeRESTFailed, wantText: "network down", wantCalls: 1},
		{name: "rejects with a string", plan: []any{"reject-string"}, wantCode: CodeRESTFailed, wantText: "just a string", wantCalls: 1},
		{name: "throws", plan: []any{"throw"}, wantCode: CodeRESTFailed, wantText: "fn exploded", wantCalls: 1},
		{name: "never settles", plan: []any{"never"}, wantCode: CodeTimeout, wantText: "the rest function gave no answer", wantCalls: 1, wantLeft: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runRESTCase(t, "fn", tc)
		})
	}
}

func TestRESTHonoursContext(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"bx24", "frame", "fn"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			lib := fake(t, kind, []any{"never"}, nil)
			reg := newFuncRegistry()
			defer reg.releaseAll()
			rest, err := newREST(reg, lib, restOptions{Timeout: time.Minute})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			start := time.Now()
			_, err = rest.Call(ctx, configMethod, nil)
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 2*time.Second)
		})
	}
}

func TestRESTBackoffHonoursContext(t *testing.T) {
	t.Parallel()
	lib := fake(t, "bx24", []any{"limit", "limit"}, nil)
	reg := newFuncRegistry()
	defer reg.releaseAll()
	rest, err := newREST(reg, lib, restOptions{Backoff: []time.Duration{time.Minute}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = rest.Call(ctx, configMethod, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, calls(lib), 1)
}

func TestNewRESTRejectsUnusableOptions(t *testing.T) {
	t.Parallel()
	installFakes()
	tests := []struct {
		name string
		rest js.Value
	}{
		{"number", js.ValueOf(42)},
		{"string", js.ValueOf("BX24")},
		{"object without callMethod", js.Global().Get("Object").New()},
	}
	for _, tc := range tests {
		reg := newFuncRegistry()
		_, err := newREST(reg, tc.rest, restOptions{})
		require.Error(t, err, tc.name)
		code, _, _ := errorFields(err)
		assert.Equal(t, CodeInvalidArgument, code, tc.name)
		assert.Zero(t, reg.count(), tc.name)
	}
}

// TestNewRESTDefaultsToGlobalBX24 is not parallel: it sets and removes globalThis.BX24.
func TestNewRESTDefaultsToGlobalBX24(t *testing.T) {
	reg := newFuncRegistry()
	defer reg.releaseAll()
	_, err := newREST(reg, js.Undefined(), restOptions{})
	code, _, _ := errorFields(err)
	require.Equal(t, CodeInvalidArgument, code, "without BX24: %v", err)

	lib := fake(t, "bx24", nil, nil)
	js.Global().Set("BX24", lib)
	defer js.Global().Delete("BX24")
	rest, err := newREST(reg, js.Null(), restOptions{})
	require.NoError(t, err)
	answer, err := rest.Call(context.Background(), configMethod, nil)
	require.NoError(t, err)
	assert.JSONEq(t, okAnswer, string(answer))
	assert.Len(t, calls(lib), 1)
}

//go:build js && wasm

package bridge

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of this file are not parallel: they compare LiveFuncs, which every test moves.

var testModule = sync.OnceValue(newModule)

// baseline returns LiveFuncs once the shared module exists, whose funcs live for good.
func baseline() int64 {
	testModule()
	return LiveFuncs()
}

// newTestClient calls the exported newClient with options and fails on an Error.
func newTestClient(t *testing.T, options map[string]any) js.Value {
	t.Helper()
	c := testModule().obj.Call("newClient", options)
	require.False(t, c.InstanceOf(js.Global().Get("Error")), "newClient: %s", jsValueText(c))
	return c
}

// recorder returns a JS function that stores its first argument in its got array.
func recorder() js.Value {
	return js.Global().Call("eval", `(() => { const f = (x) => { f.got.push(x); }; f.got = []; return f; })()`)
}

// callAwait calls obj[method](args...) and awaits the promise it returns.
func callAwait(t *testing.T, obj js.Value, method string, args ...any) (js.Value, error) {
	t.Helper()
	reg := newFuncRegistry()
	defer reg.releaseAll()
	return awaitT(t, reg, obj.Call(method, args...))
}

func TestModuleObject(t *testing.T) {
	m := testModule().obj
	assert.Equal(t, Version, m.Get("version").String())
	assert.Equal(t, js.TypeFunction, m.Get("newClient").Type())
	rs := m.Call("runtimeStats")
	assert.Equal(t, float64(LiveFuncs()), rs.Get("jsFuncs").Float())
	assert.Positive(t, rs.Get("goroutines").Int())
}

func TestClientObject(t *testing.T) {
	c := newTestClient(t, map[string]any{"rest": fake(t, "fn", nil, nil)})
	defer callAwait(t, c, "destroy")
	for _, name := range []string{"loadConfig", "configValue", "facts", "start", "stop", "restart", "reconnect", "destroy", "getStatus", "getStats", "getDebugInfo", "setLastMessageId", "network"} {
		assert.Equal(t, js.TypeFunction, c.Get(name).Type(), name)
	}
	assert.Equal(t, "offline", c.Call("getStatus").String())
	stats := c.Call("getStats")
	assert.Equal(t, float64(LiveFuncs()), stats.Get("jsFuncs").Float())
	assert.Positive(t, stats.Get("runtimeGoroutines").Int())
	assert.Zero(t, stats.Get("goroutines").Int(), "a stopped client owns no goroutine")
	assert.Equal(t, js.TypeNumber, stats.Get("messages").Type(), "client counters are there")
	assert.Equal(t, js.TypeObject, c.Call("getDebugInfo").Type())
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	installFakes()
	tests := []struct {
		name    string
		options any
	}{
		{"options not an object", "BX24"},
		{"rest of the wrong kind", map[string]any{"rest": 42}},
		{"rest object without callMethod", map[string]any{"rest": map[string]any{"x": 1}}},
		{"no rest and no BX24", map[string]any{}},
		{"onBatch not a function", map[string]any{"rest": js.Global().Get("__fakes").Call("fn", []any{}), "onBatch": 5}},
	}
	for _, tc := range tests {
		before := baseline()
		e := testModule().obj.Call("newClient", tc.options)
		require.True(t, e.InstanceOf(js.Global().Get("Error")), tc.name)
		assert.Equal(t, CodeInvalidArgument, e.Get("code").String(), tc.name)
		assert.NotEmpty(t, e.Get("description").String(), tc.name)
		assert.Equal(t, before, LiveFuncs(), "%s: no func may leak", tc.name)
	}
}

func TestDestroyReleasesEverything(t *testing.T) {
	base := baseline()
	c := newTestClient(t, map[string]any{"rest": fake(t, "bx24", []any{"never"}, nil), "onBatch": recorder()})
	assert.Greater(t, LiveFuncs(), base)

	_, err := callAwait(t, c, "destroy")
	require.NoError(t, err)
	assert.Equal(t, base, LiveFuncs(), "every func of the client is released")
	assert.Equal(t, float64(base), c.Call("getStats").Get("jsFuncs").Float())

	for _, method := range []string{"loadConfig", "start", "restart", "reconnect", "sendMessage", "ping"} {
		_, err := callAwait(t, c, method)
		var rej *rejection
		require.ErrorAs(t, err, &rej, method)
		assert.True(t, rej.Value.InstanceOf(js.Global().Get("Error")), method)
		assert.Equal(t, CodeDestroyed, rej.Value.Get("code").String(), method)
	}
	for _, method := range []string{"stop", "destroy"} {
		_, err := callAwait(t, c, method)
		assert.NoError(t, err, method)
	}
	assert.Equal(t, "offline", c.Call("getStatus").String())
	assert.Equal(t, js.TypeObject, c.Call("getDebugInfo").Type())
	assert.Equal(t, base, LiveFuncs())
}

func TestStopResolves(t *testing.T) {
	c := newTestClient(t, map[string]any{"rest": fake(t, "fn", nil, nil)})
	defer callAwait(t, c, "destroy")
	_, err := callAwait(t, c, "stop")
	require.NoError(t, err)
	assert.Equal(t, "offline", c.Call("getStatus").String())
}

func TestDeliverOneCrossingPerFrame(t *testing.T) {
	rec := recorder()
	jc, err := testModule().build(js.ValueOf(map[string]any{"rest": fake(t, "fn", nil, nil), "onBatch": rec}))
	require.NoError(t, err)
	jc.export()
	batches := []string{
		`[{"type":"status","status":"online"}]`,
		`[{"type":"server","moduleId":"application","command":"demo","params":{"n":1},"extra":{}},{"type":"revision","server":20,"client":19}]`,
	}
	for _, b := range batches {
		jc.deliver([]byte(b))
	}
	got := rec.Get("got")
	require.Equal(t, len(batches), got.Length())
	for i, b := range batches {
		assert.Equal(t, js.TypeString, got.Index(i).Type(), "batches cross as JSON text")
		assert.Equal(t, b, got.Index(i).String())
	}

	_, err = callAwait(t, jc.obj, "destroy")
	require.NoError(t, err)
	jc.deliver([]byte(`[]`))
	assert.Equal(t, len(batches), got.Length(), "nothing is delivered after destroy")
}

func TestDeliverSurvivesThrowingOnBatch(t *testing.T) {
	thrower := js.Global().Call("eval", `(() => { const f = () => { f.calls++; throw new Error('subscriber bug'); }; f.calls = 0; return f; })()`)
	jc, err := testModule().build(js.ValueOf(map[string]any{"rest": fake(t, "fn", nil, nil), "onBatch": thrower}))
	require.NoError(t, err)
	jc.export()
	defer callAwait(t, jc.obj, "destroy")
	jc.deliver([]byte(`[]`))
	jc.deliver([]byte(`[]`))
	assert.Equal(t, 2, thrower.Get("calls").Int())
}

func TestLoggerOptions(t *testing.T) {
	installFakes()
	rec := recorder()
	logf := logger(js.ValueOf(map[string]any{"onLog": rec}))
	require.NotNil(t, logf)
	logf("config loaded in %d ms", 12)
	require.Equal(t, 1, rec.Get("got").Length())
	assert.Equal(t, "b24pull: config loaded in 12 ms", rec.Get("got").Index(0).String())
	assert.Nil(t, logger(js.ValueOf(map[string]any{})), "no debug, no onLog: no logging")
	assert.NotNil(t, logger(js.ValueOf(map[string]any{"debug": true})))
}

// futureConfig returns a version 4 config whose channels expire in a day.
func futureConfig() string {
	now := time.Now()
	start, end := now.Add(-time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339)
	return fmt.Sprintf(`{
  "server": {"version": 4, "server_enabled": true, "mode": "personal",
    "long_polling": "http://127.0.0.1:9/sub/", "long_pooling_secure": "https://127.0.0.1:9/sub/",
    "websocket_enabled": true, "websocket": "ws://127.0.0.1:9/subws/", "websocket_secure": "wss://127.0.0.1:9/subws/",
    "publish_enabled": false, "config_timestamp": %d},
  "api": {"revision_web": 19, "revision_mobile": 3},
  "channels": {
    "private": {"id": "a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562",
      "start": %q, "end": %q, "type": "private"},
    "shared": {"id": "5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e",
      "start": %q, "end": %q, "type": "shared"}},
  "serverTime": %q
}`, now.Unix(), start, end, start, end, now.Format(time.RFC3339))
}

func TestGetConfigThroughBX24(t *testing.T) {
	base := baseline()
	installFakes()
	lib := js.Global().Call("eval", `((config) => {
  const lib = {calls: []};
  lib.init = (cb) => setTimeout(cb, 1);
  lib.callMethod = (method, params, cb) => {
    lib.calls.push({method, params});
    const answer = {result: config, time: {start: 1}};
    setTimeout(cb, 1, {answer, error: () => undefined, data: () => answer.result});
  };
  return lib;
})(`+futureConfig()+`)`)
	c := newTestClient(t, map[string]any{"rest": lib})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg := newFuncRegistry()
	defer reg.releaseAll()
	cfg, err := awaitPromise(ctx, reg, c.Call("loadConfig", map[string]any{"cache": false}))
	require.NoError(t, err)
	require.Equal(t, js.TypeObject, cfg.Type())
	assert.Equal(t, []string{configMethod}, calls(lib))
	assert.NotEmpty(t, js.Global().Get("JSON").Call("stringify", cfg).String())

	_, err = callAwait(t, c, "destroy")
	require.NoError(t, err)
	assert.Equal(t, base, LiveFuncs())
}

func TestDestroyEndsPendingCalls(t *testing.T) {
	base := baseline()
	lib := fake(t, "bx24", []any{"late"}, nil)
	c := newTestClient(t, map[string]any{"rest": lib})
	reg := newFuncRegistry()
	defer reg.releaseAll()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	pending := c.Call("loadConfig")
	_, err := awaitPromise(ctx, reg, lib.Get("called")) // the call reaches BX24 from a goroutine
	require.NoError(t, err)
	require.Len(t, calls(lib), 1)
	_, err = callAwait(t, c, "destroy")
	require.NoError(t, err)

	_, err = awaitPromise(ctx, reg, pending)
	var rej *rejection
	require.ErrorAs(t, err, &rej)
	assert.Equal(t, CodeDestroyed, rej.Value.Get("code").String())
	reg.releaseAll()
	assert.Equal(t, base+1, LiveFuncs(), "BX24 still holds its callback: it stays live until called")

	// BX24 answers after destroy: the callback runs once, releases itself, and nothing throws
	lib.Call("late")
	assert.Equal(t, base, LiveFuncs(), "the late callback released itself")
}

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

// prefetchJS defines globalThis.__prefetch(kind, lib, opts): it starts the config call through a fake
// library the way js/b24pull.mjs does and returns the object the loader hands newClient. opts can
// spoil it: expired (take() answers null), malformed (the outcome is not {ok, value}), kind (another
// library kind), never (the outcome never settles). The object counts its takes.
const prefetchJS = `
globalThis.__prefetch = (kind, lib, opts) => {
  const method = 'pull.application.config.get';
  const params = {CACHE: 'N'};
  let started;
  if (kind === 'fn') started = Promise.resolve(lib(method, params));
  else if (kind === 'frame') started = Promise.resolve(lib.actions.v2.call.make({method, params}));
  else started = new Promise((resolve) => lib.init(() => lib.callMethod(method, params, resolve)));
  let outcome = started.then((value) => ({ok: true, value}), (value) => ({ok: false, value}));
  if (opts.expired) outcome = null;
  if (opts.malformed) outcome = Promise.resolve(42);
  if (opts.never) outcome = new Promise(() => {});
  const kinds = {fn: 'function', frame: 'frame', bx24: 'bx24'};
  const pf = {kind: opts.kind || kinds[kind], method, params: '{"CACHE":"N"}', takes: 0,
    take() { pf.takes++; const o = outcome; outcome = null; return o; }};
  return pf;
};
`

// prefetchCase is one prefetched config call, then a second call, and what must come of them.
type prefetchCase struct {
	name       string
	kind       string // fake library: fn, frame or bx24
	plan       []any
	spoil      map[string]any
	first      map[string]any // params of the first call; nil means {CACHE: N}
	wantAnswer string
	wantCode   string
	wantCalls  int // library calls after the first Call, the prefetch's included
	wantTakes  int
	wantRefr   int
	laterUses  bool // the second call, {CACHE: N}, is the one that takes the prefetch
}

func TestPrefetchedConfig(t *testing.T) {
	t.Parallel()
	js.Global().Call("eval", prefetchJS)
	tests := []prefetchCase{
		{name: "function answer is used", kind: "fn", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1, wantTakes: 1},
		{name: "frame answer is used", kind: "frame", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1, wantTakes: 1},
		{name: "BX24 answer is used", kind: "bx24", plan: []any{"ok"}, wantAnswer: okAnswer, wantCalls: 1, wantTakes: 1},
		{name: "error answer is the call's error", kind: "fn", plan: []any{"error-answer"}, wantCode: "ACCESS_DENIED", wantCalls: 1, wantTakes: 1},
		{name: "expired token is refreshed, then called again", kind: "frame", plan: []any{"reject-expired", "ok"}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 1, wantRefr: 1},
		{name: "rate limit is retried", kind: "frame", plan: []any{"reject-limit", "ok"}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 1},
		{name: "expired prefetch means a call of its own", kind: "fn", plan: []any{"ok", "ok"}, spoil: map[string]any{"expired": true}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 1},
		{name: "malformed outcome means a call of its own", kind: "fn", plan: []any{"ok", "ok"}, spoil: map[string]any{"malformed": true}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 1},
		{name: "another library kind is not used", kind: "fn", plan: []any{"ok", "ok"}, spoil: map[string]any{"kind": "frame"}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 0},
		{name: "other params leave it for later", kind: "fn", plan: []any{"ok", "ok"}, first: map[string]any{"CACHE": "Y"}, wantAnswer: okAnswer, wantCalls: 2, wantTakes: 0, laterUses: true},
		{name: "an outcome that never comes times out", kind: "fn", plan: []any{"ok"}, spoil: map[string]any{"never": true}, wantCode: CodeTimeout, wantCalls: 1, wantTakes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lib := fake(t, tc.kind, tc.plan, nil)
			spoil := tc.spoil
			if spoil == nil {
				spoil = map[string]any{}
			}
			pf := js.Global().Call("__prefetch", tc.kind, lib, spoil)
			reg := newFuncRegistry()
			defer reg.releaseAll()
			opts := testRESTOptions
			opts.Prefetch = pf
			rest, err := newREST(reg, lib, opts)
			require.NoError(t, err)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			params := tc.first
			if params == nil {
				params = map[string]any{"CACHE": "N"}
			}
			answer, err := rest.Call(ctx, configMethod, params)
			if tc.wantCode == "" {
				require.NoError(t, err)
				assert.JSONEq(t, tc.wantAnswer, string(answer))
			} else {
				require.Error(t, err)
				code, _, _ := errorFields(err)
				assert.Equal(t, tc.wantCode, code, "error: %v", err)
			}
			assert.Len(t, calls(lib), tc.wantCalls, "library calls")
			assert.Equal(t, tc.wantTakes, pf.Get("takes").Int(), "takes")
			if r := lib.Get("refreshes"); r.Type() == js.TypeNumber {
				assert.Equal(t, tc.wantRefr, r.Int(), "refreshes")
			}

			// The prefetch serves one call at most: the next one calls the library, unless it is the
			// first matching call.
			before := len(calls(lib))
			_, err = rest.Call(ctx, configMethod, map[string]any{"CACHE": "N"})
			require.NoError(t, err)
			if tc.laterUses {
				assert.Len(t, calls(lib), before, "the first matching call takes the prefetch")
				assert.Equal(t, 1, pf.Get("takes").Int(), "takes")
			} else {
				assert.Len(t, calls(lib), before+1, "a later call calls the library")
				assert.Equal(t, tc.wantTakes, pf.Get("takes").Int(), "taken at most once")
			}
			if tc.kind == "bx24" {
				assert.Equal(t, 1, lib.Get("inits").Int(), "BX24.init once: the loader's, before its call")
			}
		})
	}
}

func TestNewPrefetchIgnoresUnusableValues(t *testing.T) {
	t.Parallel()
	obj := func(src string) js.Value { return js.Global().Call("eval", "("+src+")") }
	for name, v := range map[string]js.Value{
		"undefined":  js.Undefined(),
		"a string":   js.ValueOf("prefetch"),
		"no take":    obj(`{kind: 'function', method: 'm', params: '{}'}`),
		"no method":  obj(`{kind: 'function', params: '{}', take() { return null; }}`),
		"other kind": obj(`{kind: 'bx24', method: 'm', params: '{}', take() { return null; }}`),
		"throwing":   obj(`{get kind() { throw new Error('no'); }, method: 'm', params: '{}', take() {}}`),
	} {
		assert.Nil(t, newPrefetch(v, "function"), name)
	}
	p := newPrefetch(obj(`{kind: 'function', method: 'm', params: '{}', take() { throw new Error('no'); }}`), "function")
	require.NotNil(t, p)
	assert.True(t, p.take("m", "{}").IsUndefined(), "a throwing take is no prefetch")
	assert.True(t, p.take("m", "{}").IsUndefined(), "and is not asked twice")
}

//go:build js && wasm

package bridge

import (
	"sync"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakesJS defines globalThis.__fakes: factories of fake REST libraries written in plain JavaScript.
// Each takes a plan (one behaviour per call, "ok" once the plan is used up), records its calls, and
// answers through a setTimeout hop, as the real libraries answer from the event loop.
const fakesJS = `
(() => {
  const mkErr = (code, message, status) => Object.assign(new Error(message), {code, status});
  const answers = {
    ok: (m) => ({result: {method: m, ok: true}, time: {start: 1}}),
  };
  const bxErrors = {
    ex: () => ({ex: {error: 'WRONG_AUTH_TYPE', error_description: 'Get access to application config available only for application authorization.'}, status: 403}),
    getStatus: () => ({ex: {error: 'AUTHORIZE_ERROR', error_description: 'guest'}, getStatus: () => 403}),
    expired: () => ({ex: {error: 'expired_token', error_description: 'The access token provided has expired'}, status: 401}),
    limit: () => ({ex: {error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests'}, status: 503}),
    nocode: () => ({toString: () => 'ERR: ?'}),
  };
  globalThis.__fakes = {
    bx24(plan, opts = {}) {
      const lib = {calls: [], inits: 0, refreshes: 0};
      lib.called = new Promise((resolve) => { lib.markCalled = resolve; });
      if (!opts.noInit) {
        lib.init = (cb) => { lib.inits++; if (!opts.initNever) setTimeout(cb, 1); };
      }
      lib.callMethod = (method, params, cb) => {
        lib.calls.push({method, params: JSON.parse(JSON.stringify(params))});
        lib.markCalled();
        const kind = plan.shift() || 'ok';
        if (kind === 'throw') throw new Error('callMethod exploded');
        if (kind === 'never') return;
        if (kind === 'late') { lib.late = () => cb({answer: answers.ok(method), error: () => undefined}); return; }
        let res;
        if (kind === 'ok') {
          res = {answer: answers.ok(method), error: () => undefined, data() { return this.answer.result; }};
        } else if (kind === 'data') {
          res = {error: () => undefined, data: () => ({n: 1})};
        } else if (kind === 'string') {
          res = {answer: {}, error: () => 'SERVER_ERROR', error_description: () => 'Push & Pull server is not configured'};
        } else if (kind === 'answer-error') {
          res = {answer: {error: 'ACCESS_DENIED', error_description: 'commercial plans'}, error: () => undefined};
        } else if (kind === 'nothing') {
          res = undefined;
        } else {
          const e = bxErrors[kind]();
          res = {answer: e.ex ? {error: e.ex.error, error_description: e.ex.error_description} : {}, error: () => e};
        }
        setTimeout(cb, 1, res);
      };
      lib.refreshAuth = (cb) => { lib.refreshes++; setTimeout(cb, 1, opts.refreshFails ? false : {access_token: 'fresh'}); };
      return lib;
    },
    frame(plan, opts = {}) {
      const frame = {calls: [], refreshes: 0};
      const answer = (method, params) => {
        frame.calls.push({method, params: JSON.parse(JSON.stringify(params))});
        const kind = plan.shift() || 'ok';
        switch (kind) {
          case 'ok': return Promise.resolve({isSuccess: true, getData: () => Object.freeze(answers.ok(method)), getErrors: () => [].values()});
          case 'error': return Promise.resolve({isSuccess: false, getData: () => undefined,
            getErrors: () => [mkErr('WRONG_AUTH_TYPE', 'Method not available for OAuth authorization.', 403)].values(),
            getErrorMessages: () => ['Method not available for OAuth authorization.']});
          case 'messages': return Promise.resolve({isSuccess: false, getErrorMessages: () => ['it broke']});
          case 'reject-expired': return Promise.reject(mkErr('expired_token', 'The access token provided has expired', 401));
          case 'reject-limit': return Promise.reject(mkErr('QUERY_LIMIT_EXCEEDED', 'Too many requests', 503));
          case 'reject-plain': return Promise.reject(new TypeError('Failed to fetch'));
          case 'throw': throw new Error('make exploded');
          case 'never': return new Promise(() => {});
        }
      };
      if (opts.uninit) {
        const fail = () => { throw new Error('B24Frame is not initialized'); };
        Object.defineProperty(frame, 'auth', {get: fail});
        Object.defineProperty(frame, 'actions', {get: fail});
        frame.callMethod = fail;
        return frame;
      }
      frame.auth = {refreshAuth: () => { frame.refreshes++; return Promise.resolve({access_token: 'fresh'}); }};
      if (!opts.noActions) {
        frame.actions = {v2: {call: {make: ({method, params}) => answer(method, params)}}};
      }
      frame.callMethod = (method, params) => { frame.deprecated = true; return answer(method, params); };
      return frame;
    },
    fn(plan) {
      const calls = [];
      const f = (method, params) => {
        calls.push({method, params: JSON.parse(JSON.stringify(params))});
        const kind = plan.shift() || 'ok';
        switch (kind) {
          case 'ok': return new Promise((resolve) => setTimeout(resolve, 1, answers.ok(method)));
          case 'bare': return Promise.resolve({n: 1});
          case 'sync': return answers.ok(method);
          case 'error-answer': return Promise.resolve({error: 'ACCESS_DENIED', error_description: 'commercial plans'});
          case 'reject-answer': return Promise.reject({error: 'insufficient_scope', error_description: 'no pull scope'});
          case 'reject-expired': return Promise.reject(mkErr('expired_token', 'expired', 401));
          case 'reject-plain': return Promise.reject(new Error('network down'));
          case 'reject-string': return Promise.reject('just a string');
          case 'array': return Promise.resolve([1, 2]);
          case 'throw': throw new Error('fn exploded');
          case 'never': return new Promise(() => {});
        }
      };
      f.calls = calls;
      return f;
    },
  };
})();
`

var installFakes = sync.OnceFunc(func() {
	js.Global().Call("eval", fakesJS)
})

// fake returns __fakes[kind](plan, opts) as a JS value.
func fake(t *testing.T, kind string, plan []any, opts map[string]any) js.Value {
	t.Helper()
	installFakes()
	if plan == nil {
		plan = []any{}
	}
	if opts == nil {
		opts = map[string]any{}
	}
	v := js.Global().Get("__fakes").Call(kind, plan, opts)
	require.False(t, v.IsUndefined())
	return v
}

// calls returns the recorded calls of a fake (fn fakes keep them on the function).
func calls(v js.Value) []string {
	list := v.Get("calls")
	out := make([]string, list.Length())
	for i := range out {
		out[i] = list.Index(i).Get("method").String()
	}
	return out
}

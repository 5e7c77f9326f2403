// hiccup.js starts a b24pull client while the portal has a hiccup, the way an app page would, and
// records what happened. e2e/hiccup_test.go injects the failures into the stand-in, then drives the
// page through window.hx:
//   hx.run({rest, session})  creates and starts a client and says how start() settled and how long it
//                            took; rest is 'bx24' (the BX24 stand-in,
//                            /demo/bx24-local.js) or 'fetch' (a rest function doing
//                            fetch(...).then((r) => r.json()), which throws on an answer that is not
//                            JSON); session is 'user' or 'webhook' (the token the rest function sends)
//   hx.counts()              deliveries to the module subscriber, by params.k
//   hx.retries()             the retry events of the current client (when the wrapper has them)
//   hx.calls()               every REST call the client made: {method, status, json}
//   hx.secrets()             the access tokens and channel ids the page handled, for the secrets check
//   hx.destroy()             destroys the client
// window.hxReady becomes true once the module is loaded and BX24 is initialised; window.hxError holds
// the reason when that failed.
import { createPullClient } from '/b24pull/b24pull.mjs';

const moduleId = 'application';

// Delays of the protocol shortened so that the retries of a start take well under a second, and a
// start that does not resolve ends within the test's bounds.
const timing = {
  backoff: [50, 200, 400, 800, 1000],
  restartDelay: [100, 300],
  wrongChannelDelay: [100, 300],
  offlineDebounce: 300,
  startTimeout: 15000,
};

const state = {
  client: null,
  counts: {},
  statuses: [],
  retries: [],
  calls: [],
  secrets: new Set(),
};

// keepSecrets remembers the channel ids of a config answer (never shown: the Go side only checks that
// the console does not hold them).
function keepSecrets(config) {
  if (!config || typeof config !== 'object') return;
  const channels = config.channels || {};
  for (const c of Object.values(channels)) {
    if (!c || typeof c !== 'object') continue;
    for (const key of ['id', 'public_id', 'signature', 'public_signature']) {
      if (typeof c[key] === 'string' && c[key].length >= 8) state.secrets.add(c[key]);
    }
  }
  const jwt = config.jwt;
  if (typeof jwt === 'string' && jwt !== '') state.secrets.add(jwt);
}

// bx24Rest is the BX24 stand-in, with every call recorded.
function bx24Rest() {
  const bx = globalThis.BX24;
  return {
    init: (cb) => bx.init(cb),
    refreshAuth: (cb) => bx.refreshAuth(cb),
    callMethod(method, params, callback) {
      return bx.callMethod(method, params, (result) => {
        const err = result.error();
        state.calls.push({ method, status: result.status, json: !err || err.ex.error !== 'ERROR_UNEXPECTED_ANSWER' });
        if (!err && method === 'pull.application.config.get') keepSecrets(result.data());
        callback(result);
      });
    },
  };
}

// fetchRest is the common app pattern: POST the call and hand back whatever r.json() gives, which
// throws a SyntaxError (a plain Error) on an HTML page.
function fetchRest(token) {
  state.secrets.add(token);
  const portal = globalThis.BX24.local.portal.replace(/\/+$/, '');
  return (method, params) => fetch(`${portal}/rest/${method}.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...params, auth: token }),
  }).then((r) => {
    const json = (r.headers.get('Content-Type') || '').includes('json');
    state.calls.push({ method, status: r.status, json });
    return r.json();
  }).then((answer) => {
    if (method === 'pull.application.config.get' && answer && answer.result) keepSecrets(answer.result);
    return answer;
  });
}

async function sessionToken(kind) {
  const r = await fetch(`/module/session?kind=${encodeURIComponent(kind)}`, { cache: 'no-store' });
  if (!r.ok) throw new Error(`the session answered HTTP ${r.status}`);
  return (await r.json()).token;
}

function errorFields(err) {
  return { ok: false, code: err && err.code, description: err && err.description, isError: err instanceof Error };
}

const hx = {
  async run({ rest = 'bx24', session = 'user' } = {}) {
    state.calls = [];
    state.statuses = [];
    state.retries = [];
    state.counts = {};
    let restOption;
    if (rest === 'fetch') {
      restOption = fetchRest(session === 'user' ? globalThis.BX24.getAuth().access_token : await sessionToken(session));
    } else {
      state.secrets.add(globalThis.BX24.getAuth().access_token);
      restOption = bx24Rest();
    }
    const created = performance.now();
    const client = await createPullClient({ rest: restOption, debug: true, timing });
    const started = performance.now();
    state.client = client;
    client.subscribe({
      moduleId,
      callback(message) {
        const k = message && message.params ? message.params.k : undefined;
        if (k !== undefined) state.counts[k] = (state.counts[k] || 0) + 1;
      },
    });
    client.subscribe({ type: 'status', callback: ({ status }) => state.statuses.push(status) });
    // Retry events exist in later versions of the wrapper only: without them, subscribe throws.
    let retrySubscribed = false;
    try {
      client.subscribe({
        type: 'retry',
        callback: (event) => state.retries.push({ code: event && event.code, retryIn: event && event.retryIn }),
      });
      retrySubscribed = true;
    } catch {
      retrySubscribed = false;
    }
    let outcome;
    try {
      outcome = { ok: (await client.start()) !== false };
    } catch (err) {
      outcome = errorFields(err);
    }
    return {
      ...outcome,
      // createPullClient (the first one of the page loads the wasm), then start().
      createMs: Math.round(started - created),
      ms: Math.round(performance.now() - started),
      status: client.getStatus(),
      retrySubscribed,
      retries: state.retries.slice(),
      statuses: state.statuses.slice(),
    };
  },
  counts: () => state.counts,
  retries: () => state.retries,
  calls: () => state.calls,
  status: () => (state.client ? state.client.getStatus() : 'none'),
  secrets: () => [...state.secrets],
  async destroy() {
    if (state.client) await state.client.destroy();
    state.client = null;
  },
};

window.hx = hx;

new Promise((resolve) => globalThis.BX24.init(resolve)).then(
  () => { window.hxReady = true; },
  (err) => { window.hxError = String(err && err.message); },
);

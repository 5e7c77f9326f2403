// soak.js runs the b24pull browser package for the reliability and security tests
// (e2e/soak_test.go, e2e/reliability_*_test.go, e2e/security_*_test.go), which drive it through
// window.soak. Before the module loads it wraps what the module could reach, so that the tests see
// everything it did:
//   WebSocket, fetch, XMLHttpRequest    every URL opened (soak.dialed())
//   setTimeout/setInterval and clears   the timers still pending (soak.probe().timers)
//   addEventListener on window/document the listeners still attached (soak.probe().listeners)
//   WebAssembly.instantiate*            the module's memory (soak.probe().wasmMemory)
//   console.*                           every line, unredacted (soak.consoleLines())
// The page calls REST itself (POST /rest/<method>.json with the token the test passes to create),
// recording every config answered (soak.configs(), the secrets the security tests look for).
// window.soakReady becomes true once the module is loaded; window.soakError holds why it failed.
// Everything lives in this file, none inline, so that the page also runs under a strict CSP.

const dialed = [];
const consoleLines = [];
const pendingTimers = new Set();
const windowListeners = new Set();
let wasmMemory = null;

// ---- instrumentation, installed before the module loads ----

const NativeWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    dialed.push({ kind: 'websocket', url: String(url) });
    super(url, protocols);
  }
};

const nativeFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href).href;
  dialed.push({ kind: 'fetch', url });
  return nativeFetch(input, init);
};

const nativeOpen = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function open(method, url, ...rest) {
  dialed.push({ kind: 'xhr', url: new URL(String(url), location.href).href });
  return nativeOpen.call(this, method, url, ...rest);
};

const nativeSetTimeout = globalThis.setTimeout.bind(globalThis);
const nativeClearTimeout = globalThis.clearTimeout.bind(globalThis);
const nativeSetInterval = globalThis.setInterval.bind(globalThis);
const nativeClearInterval = globalThis.clearInterval.bind(globalThis);
globalThis.setTimeout = (fn, delay, ...args) => {
  const id = nativeSetTimeout((...a) => {
    pendingTimers.delete(id);
    if (typeof fn === 'function') fn(...a);
  }, delay, ...args);
  pendingTimers.add(id);
  return id;
};
globalThis.clearTimeout = (id) => {
  pendingTimers.delete(id);
  nativeClearTimeout(id);
};
globalThis.setInterval = (fn, delay, ...args) => {
  const id = nativeSetInterval(fn, delay, ...args);
  pendingTimers.add(id);
  return id;
};
globalThis.clearInterval = (id) => {
  pendingTimers.delete(id);
  nativeClearInterval(id);
};

// Listeners on the objects that live as long as the page; a listener left there by a stopped client
// would be a leak. (Listeners on a closed WebSocket go with it.)
const nativeAdd = EventTarget.prototype.addEventListener;
const nativeRemove = EventTarget.prototype.removeEventListener;
const longLived = (target) => target === globalThis || target === document || target === navigator;
EventTarget.prototype.addEventListener = function addEventListener(type, listener, options) {
  if (longLived(this) && listener) windowListeners.add(`${type}\u0000${listenerKey(listener)}`);
  return nativeAdd.call(this, type, listener, options);
};
EventTarget.prototype.removeEventListener = function removeEventListener(type, listener, options) {
  if (longLived(this) && listener) windowListeners.delete(`${type}\u0000${listenerKey(listener)}`);
  return nativeRemove.call(this, type, listener, options);
};
const listenerIds = new WeakMap();
let nextListenerId = 1;
function listenerKey(listener) {
  if (!listenerIds.has(listener)) listenerIds.set(listener, nextListenerId++);
  return listenerIds.get(listener);
}

const keepMemory = (result) => {
  const instance = result instanceof WebAssembly.Instance ? result : result && result.instance;
  if (instance && instance.exports && instance.exports.mem instanceof WebAssembly.Memory) {
    wasmMemory = instance.exports.mem;
  }
  return result;
};
const nativeInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = (...args) => nativeInstantiate.apply(WebAssembly, args).then(keepMemory);
const nativeStreaming = WebAssembly.instantiateStreaming;
if (typeof nativeStreaming === 'function') {
  WebAssembly.instantiateStreaming = (...args) => nativeStreaming.apply(WebAssembly, args).then(keepMemory);
}

function text(arg) {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message} ${arg.code || ''} ${arg.description || ''}`;
  try {
    return JSON.stringify(arg);
  } catch (err) {
    return String(arg);
  }
}
for (const level of ['debug', 'log', 'info', 'warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    consoleLines.push(`${Date.now()} ${level}: ${args.map(text).join(' ')}`);
    // The soak logs thousands of lines: keep them off the driver, which records every one.
    if (level !== 'debug') original(...args);
  };
}

const violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  // The page's own eval probe (evalAtLoad) is expected to be refused; anything else is recorded.
  if (e.blockedURI === 'eval' && /\/pages\/soak\.js$/.test(e.sourceFile)) return;
  violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});

// ---- REST, as an app's own session would call it ----

const configs = [];
const errors = [];

function restFunction(token) {
  return async (method, params) => {
    const resp = await fetch(`/rest/${method}.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...(params || {}), auth: token }),
    });
    let body = null;
    try {
      body = await resp.json();
    } catch (err) {
      body = null;
    }
    if (!resp.ok || body === null || body.error) {
      const ex = body && body.error
        ? { error: body.error, error_description: body.error_description || '' }
        : { error: 'ERROR_UNEXPECTED_ANSWER', error_description: `HTTP ${resp.status}` };
      throw { ex, status: resp.status };
    }
    if (method === 'pull.application.config.get' && body.result) configs.push(JSON.stringify(body.result));
    return body;
  };
}

// ---- what the subscribers saw ----

// Per stream (params.s): how many deliveries, the highest n so far, the distinct ns, duplicates and
// deliveries out of order. Events without a stream count as other.
const streams = {};
let otherEvents = 0;
const statuses = [];

function record(params) {
  if (!params || typeof params !== 'object' || typeof params.s !== 'string' || typeof params.n !== 'number') {
    otherEvents++;
    return;
  }
  let st = streams[params.s];
  if (!st) {
    st = { delivered: 0, last: 0, seen: new Set(), dups: 0, disorder: 0 };
    streams[params.s] = st;
  }
  st.delivered++;
  if (st.seen.has(params.n)) st.dups++;
  else st.seen.add(params.n);
  if (params.n < st.last) st.disorder++;
  else st.last = params.n;
}

let client = null;

const errorFields = (err) => ({
  ok: false,
  isError: err instanceof Error,
  code: err && err.code,
  description: err && err.description,
  message: err && err.message,
  status: err && err.status,
});

let createPullClient = null;

let evalAtLoad;
try {
  // eslint-disable-next-line no-new-func
  evalAtLoad = new Function('return 1')() === 1;
} catch (err) {
  evalAtLoad = false;
}

window.soak = {
  // create makes the page's client: {token, timing, debug, secure, disableWebSocket}.
  async create(options) {
    const opts = { rest: restFunction(options.token), debug: options.debug !== false, timing: options.timing || {} };
    for (const key of ['secure', 'disableWebSocket']) {
      if (options[key] !== undefined) opts[key] = options[key];
    }
    client = await createPullClient(opts);
    client.subscribe({ moduleId: 'application', callback: (message) => record(message.params) });
    client.subscribe({ type: 'status', callback: (e) => statuses.push(e.status) });
    return true;
  },

  async start() {
    try {
      return { ok: await client.start() };
    } catch (err) {
      errors.push(text(err));
      return errorFields(err);
    }
  },

  async getConfig() {
    try {
      await client.loadConfig({ cache: false });
      return { ok: true };
    } catch (err) {
      errors.push(text(err));
      return errorFields(err);
    }
  },

  async stop() {
    await client.stop();
    return true;
  },

  async destroy() {
    await client.destroy();
    return true;
  },

  // cycles runs n start()/stop() pairs on the page's client; it stops at the first failure.
  async cycles(n) {
    for (let i = 0; i < n; i++) {
      const r = await window.soak.start();
      if (!r.ok) return { done: i, error: r };
      await client.stop();
    }
    return { done: n };
  },

  // clients runs n createPullClient/start()/destroy() cycles, each with a client of its own.
  async clients(n, options) {
    for (let i = 0; i < n; i++) {
      const c = await createPullClient({ rest: restFunction(options.token), timing: options.timing || {} });
      c.subscribe({ moduleId: 'application', callback: () => {} });
      try {
        await c.start();
      } catch (err) {
        await c.destroy();
        return { done: i, error: errorFields(err) };
      }
      await c.destroy();
    }
    return { done: n };
  },

  // probe samples what a leak would grow.
  probe() {
    const s = client ? client.getStats() : { goroutines: 0, jsFuncs: 0 };
    const rt = globalThis.__b24pull.runtimeStats();
    const info = client ? client.getDebugInfo() : {};
    return {
      clientGoroutines: s.goroutines,
      jsFuncs: s.jsFuncs,
      runtimeGoroutines: rt.goroutines,
      runtimeJSFuncs: rt.jsFuncs,
      clientTimers: Object.keys(info.timers || {}).length,
      timers: pendingTimers.size,
      listeners: windowListeners.size,
      wasmMemory: wasmMemory ? wasmMemory.buffer.byteLength : -1,
      heapLive: rt.heapLive,
      gcCycles: rt.gcCycles,
      sockets: dialed.filter((d) => d.kind === 'websocket').length,
    };
  },

  summary() {
    const out = {};
    for (const [name, st] of Object.entries(streams)) {
      out[name] = { delivered: st.delivered, distinct: st.seen.size, last: st.last, dups: st.dups, disorder: st.disorder };
    }
    return { streams: out, other: otherEvents };
  },

  // missing lists up to max numbers 1..upTo of stream name that never arrived.
  missing(name, upTo, max) {
    const st = streams[name];
    const out = [];
    for (let n = 1; n <= upTo && out.length < max; n++) {
      if (!st || !st.seen.has(n)) out.push(n);
    }
    return out;
  },

  stats: () => client.getStats(),
  status: () => client.getStatus(),
  statuses: () => statuses,
  debugInfo: () => JSON.stringify(client.getDebugInfo()),
  configs: () => configs,
  errors: () => errors,
  dialed: () => dialed,
  consoleLines: () => consoleLines,
  violations: () => violations,
  storage() {
    const dump = (s) => {
      const out = {};
      for (let i = 0; i < s.length; i++) out[s.key(i)] = s.getItem(s.key(i));
      return out;
    };
    return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie };
  },
  // evalAllowed tells whether the page's CSP let the page evaluate a string when it loaded (asked
  // from the driver, the answer would reflect the driver's exemption instead).
  evalAllowed: () => evalAtLoad,
};

try {
  ({ createPullClient } = await import('/b24pull/b24pull.mjs'));
  window.soakReady = true;
} catch (err) {
  window.soakError = text(err);
}

// harness.js: runs one of three clients at a time in this page and records what reaches its
// subscriber. The Go driver (package bench) calls window.bench:
//
//   bench.load(kind)                     loads the client's code (script insertion) → ms it took
//   bench.connect(kind, {portal, auth, userId})
//                                        creates the client, subscribes to module "application" and
//                                        resolves once it is online (ms since connect was called)
//   bench.arm(expected, latency)         resets the counters for a run of `expected` events; with
//                                        latency set, every event's publish→callback delay is kept,
//                                        and its frame's arrival→callback delay (the client's share)
//   bench.wait(timeoutMs)                resolves with the run's record once `expected` events arrived
//   bench.disconnect()                   destroys the client
//   bench.now()                          the page's wall clock in ms (timeOrigin + now())
//   bench.wasmBytes()                    byte length of every WebAssembly memory of the page
//   bench.resources(since)               resource entries loaded after `since` (ms since timeOrigin)
//   bench.phases()                       when the first connect's phases happened (script loaded,
//                                        wasm compiled and instantiated, Go started and ready, first
//                                        REST call, online), ms after it started
//
// kind is "raw" (raw.js, the limit), "official" (@bitrix24/b24jssdk's PullClient, UMD bundle),
// "b24pull" (the classic script js/b24pull.js) or "variant" (another build of it, when the driver
// serves one). Each event's params carry n (0…expected-1) and t (the publish time in ms on the
// machine's clock); the record sums n as a checksum.
import { portalRest, FakeB24 } from './portal.js';

const SDK_BUNDLE = '/node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js';
const B24PULL_SCRIPT = '/b24pull/b24pull.js';
// A build variant of b24pull (b24pull-bench -variant dir), measured beside the current build: a
// classic b24pull.js, or an ES module bundle.mjs that sets globalThis.B24Pull (an app bundle, as
// bench/bundled builds it). Which one the folder holds is asked once, before anything is measured.
const VARIANT_SCRIPT = '/b24pull-variant/b24pull.js';
const VARIANT_MODULE = '/b24pull-variant/bundle.mjs';
const variantIsModule = fetch(VARIANT_MODULE, { method: 'HEAD' }).then((r) => r.ok, () => false);

const now = () => performance.timeOrigin + performance.now();

// ---- WebAssembly memories, recorded as modules are instantiated ----

const memories = [];
function remember(result) {
  const instance = result instanceof WebAssembly.Instance ? result : result && result.instance;
  if (instance) {
    for (const v of Object.values(instance.exports)) {
      if (v instanceof WebAssembly.Memory) memories.push(v);
    }
  }
  return result;
}
for (const name of ['instantiate', 'instantiateStreaming']) {
  const original = WebAssembly[name];
  WebAssembly[name] = function instantiateRecorded(...args) {
    return original.apply(this, args).then((result) => {
      mark('instantiated');
      return remember(result);
    });
  };
}
for (const name of ['compile', 'compileStreaming']) {
  const original = WebAssembly[name];
  WebAssembly[name] = function compileRecorded(...args) {
    return original.apply(this, args).then((module) => {
      mark('compiled');
      return module;
    });
  };
}

// The page's WebSockets mark when the first one is created and when it opens, and note when each
// frame arrives: this listener, added as the socket is created, runs before any the client adds, so
// the time from it to a subscriber's callback is the client's own share of an event's delay (one
// event per frame in the steady stream).
let lastFrameAt = 0;
const NativeWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class WebSocketRecorded extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    mark('wsNew');
    this.addEventListener('open', () => mark('wsOpen'), { once: true });
    this.addEventListener('message', () => {
      lastFrameAt = now();
    });
  }
};

// ---- phases of a cold start, in ms since performance's time origin (first occurrence only) ----

const phases = {};
function mark(name) {
  if (!(name in phases)) phases[name] = performance.now();
}
// The inlined wasm_exec.js sets globalThis.Go for a moment (the loader keeps the class and puts the
// property back) and the loader sets globalThis.__b24pullReady: both are caught as they are set, to time the Go runtime's start (go.run → the program registered its API).
let goClass;
Object.defineProperty(globalThis, 'Go', {
  configurable: true,
  get: () => goClass,
  set: (cls) => {
    const run = cls.prototype.run;
    cls.prototype.run = function runRecorded(...args) {
      mark('goRun');
      return run.apply(this, args);
    };
    goClass = cls;
  },
});
Object.defineProperty(globalThis, '__b24pullReady', {
  configurable: true,
  set: (fn) => {
    Object.defineProperty(globalThis, '__b24pullReady', {
      configurable: true,
      writable: true,
      value: () => {
        mark('goReady');
        return fn();
      },
    });
  },
});

// ---- the run record ----

const run = {
  expected: 0,
  count: 0,
  sum: 0,
  firstT: 0,
  lastAt: 0,
  lat: null,
  inClient: null,
  done: null,
};

function onEvent(params) {
  const r = run;
  const i = r.count++;
  r.sum += params.n;
  if (params.n === 0) r.firstT = params.t;
  if (r.lat !== null && i < r.lat.length) {
    const at = now();
    r.lat[i] = at - params.t;
    r.inClient[i] = at - lastFrameAt;
  }
  if (r.count === r.expected) {
    r.lastAt = now();
    if (r.done) r.done();
  }
}

// ---- loading and driving the three clients ----

function insertScript(src, type) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    if (type) s.type = type;
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`failed to load ${src}`));
    document.head.appendChild(s);
  });
}

const loaded = {};

// classicPullModule loads a classic b24pull.js and takes the globalThis.B24Pull it defines, so that
// a second build can define its own.
async function classicPullModule(src, type) {
  delete globalThis.B24Pull;
  await insertScript(src, type);
  const mod = globalThis.B24Pull;
  delete globalThis.B24Pull;
  return mod;
}

async function loadKind(kind) {
  switch (kind) {
    case 'raw':
      if (!loaded.raw) loaded.raw = await import('./raw.js');
      return;
    case 'official':
      if (!globalThis.B24Js) await insertScript(SDK_BUNDLE);
      return;
    case 'b24pull':
      if (!loaded.b24pull) loaded.b24pull = await classicPullModule(B24PULL_SCRIPT);
      return;
    case 'variant':
      if (!loaded.variant) {
        loaded.variant = (await variantIsModule)
          ? await classicPullModule(VARIANT_MODULE, 'module')
          : await classicPullModule(VARIANT_SCRIPT);
      }
      return;
    default:
      throw new Error(`unknown client kind ${kind}`);
  }
}

// quietLogger implements the SDK's LoggerInterface: errors go to the console, the rest nowhere.
function quietLogger() {
  const logger = {};
  for (const level of ['log', 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    const loud = level === 'error' || level === 'critical' || level === 'alert' || level === 'emergency';
    logger[level] = (message) => {
      if (loud) console.error(`sdk ${level}: ${message}`);
      return Promise.resolve();
    };
  }
  return logger;
}

// restFor returns portalRest for the session, marking the first REST call.
function restFor(portal, auth) {
  const rest = portalRest(portal, auth);
  return async (method, params) => {
    mark('rest');
    const answer = await rest(method, params);
    mark('restDone');
    return answer;
  };
}

const starters = {
  async raw({ portal, auth }) {
    const client = new loaded.raw.RawClient({ rest: restFor(portal, auth), onMessage: (data) => onEvent(data.params) });
    await client.start();
    return () => client.stop();
  },
  async official({ portal, auth, userId }) {
    const pull = new globalThis.B24Js.B24PullClientManager({
      b24: new FakeB24(portal, auth, mark),
      restApplication: 'b24pull_bench',
      userId,
      skipStorageInit: true,
    });
    pull.setLogger(quietLogger());
    pull.subscribe({ moduleId: 'application', callback: (data) => onEvent(data.params) });
    await pull.start();
    return () => pull.destroy();
  },
  b24pull(session) {
    return startPull(loaded.b24pull, session);
  },
  variant(session) {
    return startPull(loaded.variant, session);
  },
};

async function startPull(mod, { portal, auth }) {
  const client = await mod.createPullClient({ rest: restFor(portal, auth) });
  client.subscribe({ moduleId: 'application', callback: (data) => onEvent(data.params) });
  await client.start();
  return () => client.destroy();
}

let stopCurrent = null;

window.bench = {
  async load(kind) {
    const t0 = performance.now();
    await loadKind(kind);
    return performance.now() - t0;
  },

  async connect(kind, session) {
    if (stopCurrent) throw new Error('a client is already connected');
    const t0 = performance.now();
    mark('start');
    await loadKind(kind);
    mark('loaded');
    stopCurrent = await starters[kind](session);
    mark('online');
    return performance.now() - t0;
  },

  // phases returns the cold start's phases in ms after its start.
  phases() {
    const out = {};
    for (const [name, at] of Object.entries(phases)) out[name] = at - phases.start;
    return out;
  },

  arm(expected, latency) {
    Object.assign(run, { expected, count: 0, sum: 0, firstT: 0, lastAt: 0, done: null });
    run.lat = latency ? new Float64Array(expected) : null;
    run.inClient = latency ? new Float64Array(expected) : null;
    return true;
  },

  wait(timeoutMs) {
    const record = () => ({
      count: run.count,
      sum: run.sum,
      firstT: run.firstT,
      lastAt: run.lastAt,
      lat: run.lat ? Array.from(run.lat.subarray(0, Math.min(run.count, run.lat.length))) : null,
      inClient: run.inClient ? Array.from(run.inClient.subarray(0, Math.min(run.count, run.inClient.length))) : null,
    });
    if (run.count >= run.expected) return Promise.resolve(record());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        run.done = null;
        reject(new Error(`timed out with ${run.count} of ${run.expected} events`));
      }, timeoutMs);
      run.done = () => {
        clearTimeout(timer);
        run.done = null;
        resolve(record());
      };
    });
  },

  async disconnect() {
    const stop = stopCurrent;
    stopCurrent = null;
    if (stop) await stop();
    return true;
  },

  now,

  wasmBytes() {
    return memories.reduce((n, m) => n + m.buffer.byteLength, 0);
  },

  resources(since) {
    return performance.getEntriesByType('resource')
      .filter((e) => e.startTime >= since)
      .map((e) => ({ name: e.name, type: e.initiatorType, size: e.decodedBodySize, start: e.startTime - since, end: e.responseEnd - since }));
  },

  sinceOrigin() {
    return performance.now();
  },
};
window.benchReady = true;

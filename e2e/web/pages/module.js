// module.js runs the b24pull browser package as an app page would, with the BX24 stand-in
// (/demo/bx24-local.js) calling the stand-in portal's REST. e2e/module_test.go drives it through
// window.mt and reads what it recorded:
//   mt.counts()      deliveries to the module subscriber, by params.k
//   mt.calls()       the first calls of the module and command subscribers, with their arguments
//   mt.statuses()    every status the status subscriber saw, in order
//   mt.rawConsole()  every console line of the page, unredacted (for the secrets check)
//   mt.configs()     every config the portal answered, as JSON text (the secrets to look for)
// window.mtReady becomes true once the module is loaded and BX24 is initialised; window.mtError
// holds the reason when that failed.
import { createPullClient } from '/b24pull/b24pull.mjs';

// The module subscriber and the command subscriber listen to this module; the command subscriber
// only to mtCommand.
const mtModule = 'application';
const mtCommand = 'e2e_cmd';
const keptCalls = 20;

// Delays of the protocol shortened so that whole recoveries take well under a second.
const timing = {
  backoff: [50, 200, 400, 800, 1000],
  restartDelay: [100, 300],
  wrongChannelDelay: [100, 300],
  renewJitter: [10, 50],
  renewRetry: [100, 300],
  channelExpireReconnect: 50,
  offlineDebounce: 300,
  longPollOpen: 500,
  startTimeout: 15000,
};

// ---- the page's console, as the page itself wrote it ----

const rawConsole = [];

function text(arg) {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message} ${arg.stack || ''}`;
  try {
    return JSON.stringify(arg);
  } catch (err) {
    return String(arg);
  }
}

for (const level of ['debug', 'log', 'info', 'warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    rawConsole.push(`${level}: ${args.map(text).join(' ')}`);
    original(...args);
  };
}

// ---- BX24: record every config the portal hands out, optionally break its websocket URL ----

const configs = [];
let websocketOverride = null;

function captureConfig(result) {
  if (!result || typeof result !== 'object') return;
  if (typeof result.error === 'function' && result.error()) return;
  const config = result.answer && result.answer.result;
  if (!config || typeof config !== 'object') return;
  configs.push(JSON.stringify(config));
  if (websocketOverride && config.server) {
    config.server.websocket = websocketOverride;
    config.server.websocket_secure = websocketOverride.replace(/^ws:/, 'wss:');
  }
}

// holdNext makes the next callMethod keep its answer until releaseHeld() (a slow portal).
let holdNext = false;
let holdConfig = false; // the same for the next pull.application.config.get
let held = null;

const callMethod = globalThis.BX24.callMethod;
globalThis.BX24.callMethod = function wrappedCallMethod(method, params, callback) {
  const hold = holdNext || (holdConfig && method === 'pull.application.config.get');
  holdNext = false;
  if (hold) holdConfig = false;
  return callMethod.call(this, method, params, (result) => {
    if (method === 'pull.application.config.get') captureConfig(result);
    const answer = () => { if (typeof callback === 'function') callback(result); };
    if (hold) held = answer;
    else answer();
  });
};

function releaseHeld() {
  return new Promise((resolve) => {
    const poll = () => {
      if (!held) {
        setTimeout(poll, 10);
        return;
      }
      const answer = held;
      held = null;
      answer();
      resolve();
    };
    poll();
  });
}

// ---- the client and what its subscribers saw ----

const state = {
  client: null,
  baseline: null,
  counts: {},
  unkeyed: 0,
  moduleCalls: [],
  commandCalls: [],
  statuses: [],
  statusInfo: [],
  final: null,
};

const copy = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

function subscribe(client) {
  client.subscribe({
    moduleId: mtModule,
    callback(...args) {
      const [message, info] = args;
      if (state.moduleCalls.length < keptCalls) {
        state.moduleCalls.push({ argc: args.length, message: copy(message), info: copy(info) });
      }
      const k = message && message.params ? message.params.k : undefined;
      if (k === undefined) state.unkeyed++;
      else state.counts[k] = (state.counts[k] || 0) + 1;
    },
  });
  client.subscribe({
    moduleId: 'Application', // matched without regard to case
    command: mtCommand,
    callback(...args) {
      if (state.commandCalls.length < keptCalls) {
        const [params, extra, command, info] = args;
        state.commandCalls.push({ argc: args.length, params: copy(params), extra: copy(extra), command, info: copy(info) });
      }
    },
  });
  client.subscribe({
    type: 'status',
    callback(event, info) {
      state.statuses.push(event.status);
      if (state.statusInfo.length < keptCalls) state.statusInfo.push(copy(info));
    },
  });
}

function errorFields(err) {
  return {
    ok: false,
    isError: err instanceof Error,
    code: err && err.code,
    description: err && err.description,
    message: err && err.message,
    status: err && err.status,
  };
}

const mt = {
  // create makes the page's client: {disableWebSocket, breakWebSocket: URL put in place of the
  // config's websocket URLs, timing: overrides of the page's timing, prefetchConfig, sendTimeout}.
  async create(options = {}) {
    websocketOverride = options.breakWebSocket || null;
    state.client = await createPullClient({
      debug: true,
      timing: { ...timing, ...(options.timing || {}) },
      disableWebSocket: options.disableWebSocket === true,
      prefetchConfig: options.prefetchConfig !== false,
      sendTimeout: options.sendTimeout,
    });
    subscribe(state.client);
    return state.client.getStats();
  },

  async start() {
    try {
      return { ok: await state.client.start() };
    } catch (err) {
      return errorFields(err);
    }
  },

  // publish sends one event with pull.application.event.add through BX24.callMethod: to the page's
  // user when toUser, else to the app's shared channel.
  publish(toUser, command, params) {
    return new Promise((resolve) => {
      const body = { COMMAND: command, PARAMS: params };
      if (toUser) body.USER_ID = String(globalThis.BX24.local.user);
      globalThis.BX24.callMethod('pull.application.event.add', body, (result) => {
        const err = result.error();
        resolve(err ? { ok: false, error: String(err) } : { ok: true, result: result.data() });
      });
    });
  },

  // holdNextConfig keeps BX24's answer to the next pull.application.config.get until
  // releaseHeld(); isHeld() tells whether one is held.
  holdNextConfig() { holdConfig = true; },
  isHeld: () => held !== null,
  releaseHeld,

  has(keys) {
    return keys.every((k) => (state.counts[k] || 0) > 0);
  },
  counts: () => ({ counts: state.counts, unkeyed: state.unkeyed }),
  calls: () => ({ module: state.moduleCalls, command: state.commandCalls, statusInfo: state.statusInfo }),
  statuses: () => state.statuses,
  // stats are the client's counters; once finish() ran, those it had right before.
  stats: () => state.final || state.client.getStats(),
  status: () => state.client.getStatus(),
  // client is the page's client, for the pages that drive more of it (publish.js).
  client: () => state.client,
  debugInfo: () => JSON.stringify(state.client.getDebugInfo()),
  rawConsole: () => rawConsole,
  configs: () => configs,
  baseline: () => state.baseline,
  runtime: () => globalThis.__b24pull.runtimeStats(),

  // destroyDuringRest destroys the client while a loadConfig() call waits for BX24's answer, then
  // lets BX24 call back, and reports how loadConfig() ended.
  async destroyDuringRest() {
    const client = state.client;
    holdNext = true;
    const pending = client.loadConfig({ cache: false }).then(() => 'resolved', (err) => err && err.code);
    await client.destroy();
    const outcome = await pending;
    await releaseHeld();
    await new Promise((resolve) => setTimeout(resolve, 100));
    return outcome;
  },

  // finish ends the client (stop first when stopFirst) and reports what is left of it.
  async finish(stopFirst) {
    const client = state.client;
    state.final = client.getStats();
    const out = { debugInfo: JSON.stringify(client.getDebugInfo()) };
    if (stopFirst) {
      await client.stop();
      const s = client.getStats();
      out.stopped = { goroutines: s.goroutines, status: s.status, jsFuncs: s.jsFuncs };
    }
    await client.destroy();
    const s = client.getStats();
    out.destroyed = { goroutines: s.goroutines, status: s.status, jsFuncs: s.jsFuncs };
    try {
      await client.start();
      out.startAfterDestroy = 'resolved';
    } catch (err) {
      out.startAfterDestroy = err && err.code;
    }
    return out;
  },
};

window.mt = mt;

async function init() {
  // A client with an unusable rest option loads the runtime and creates nothing: what the module
  // holds then is the baseline every destroyed client must return to.
  try {
    await createPullClient({ rest: 42 });
    throw new Error('createPullClient accepted rest: 42');
  } catch (err) {
    if (!err || err.code !== 'INVALID_ARGUMENT') throw err;
  }
  state.baseline = globalThis.__b24pull.runtimeStats();
  await new Promise((resolve) => globalThis.BX24.init(resolve));
}

init().then(
  () => { window.mtReady = true; },
  (err) => { window.mtError = `${err && err.code} ${err && err.message}`; },
);

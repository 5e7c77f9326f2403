// b24pull: keeps a Bitrix24 Push & Pull connection alive from an app page.
//
// This file is the source of the package's module b24pull.mjs and of its classic script b24pull.js:
// cmd/jsbuild puts the Go toolchain's wasm_exec.js where the runtime marker stands and writes both.
// The module loads the Go WebAssembly module (once per page) and adds what is cheaper or only possible
// in JavaScript: the subscriber fan-out, the logger, the window's online/offline and pagehide events
// and the resume point kept across a reload. Edit this file, not the built ones.

// b24pull:wasm_exec

// The package version, from package.json (written by cmd/jsbuild).
export const version = '0.0.0-dev';

// pullError builds the Error shape every rejection of this package has: code and description.
function pullError(code, description, cause) {
  return Object.assign(new Error(description, cause === undefined ? undefined : { cause }), { code, description });
}

// ---- the runtime enums ----------------------------------------------------------------------------

// The official client's enums (@bitrix24/b24jssdk types/pull), as values with the same keys and
// values, so that code written against them runs unchanged. A numeric enum also maps each value back
// to its name, as a TypeScript enum object does. They are frozen: nothing can change them under
// another client of the page.
function numericEnum(names) {
  const e = {};
  for (const [name, value] of Object.entries(names)) {
    e[name] = value;
    e[value] = name;
  }
  return Object.freeze(e);
}

/** The client's connection status, as status subscribers and getStatus() tell it. */
const PullStatus = Object.freeze({ Online: 'online', Offline: 'offline', Connecting: 'connect' });
/** What subscribe({type}) takes; b24pull also takes 'retry' (not part of the official enum). */
const SubscriptionType = Object.freeze({
  Server: 'server', Client: 'client', Online: 'online', Status: 'status', Revision: 'revision',
});
/** extra.sender.type of a message: 1 when another client published it, 2 when the portal did. */
const SenderType = numericEnum({ Unknown: 0, Client: 1, Backend: 2 });
/** Close codes of the connection; stop(), restart() and reconnect() take them. */
const CloseReasons = numericEnum({
  NORMAL_CLOSURE: 1000, SERVER_DIE: 1001, CONFIG_REPLACED: 3000, CHANNEL_EXPIRED: 3001,
  SERVER_RESTARTED: 3002, CONFIG_EXPIRED: 3003, MANUAL: 3004, STUCK: 3005, WRONG_CHANNEL_ID: 4010,
});
/** server.mode of the config: the portal's own push server, or Bitrix24's shared one. */
const ServerMode = Object.freeze({ Shared: 'shared', Personal: 'personal' });
/** What getConnectionPath() takes (b24pull answers with the connection in use, whichever it is). */
const ConnectionType = Object.freeze({ Undefined: 'undefined', WebSocket: 'webSocket', LongPolling: 'longPolling' });

export { PullStatus, SubscriptionType, SenderType, CloseReasons, ServerMode, ConnectionType };

// ---- loading the runtime (once per page) ----------------------------------------------------------

// packagedWasmUrl is where the wasm of the package is. The literal form of this expression is what
// Vite, webpack 5, Rollup and Parcel recognise: they emit b24pull.wasm as an asset of the app and
// rewrite the URL to it. The classic script resolves it against the script element's URL instead.
function packagedWasmUrl() {
  return new URL('./b24pull.wasm', import.meta.url).href;
}

// wasmUrlOf resolves the wasmUrl option: an absolute URL, or a path relative to the page.
function wasmUrlOf(option) {
  if (option === undefined || option === null || option === '') return packagedWasmUrl();
  const base = globalThis.location ? globalThis.location.href : undefined;
  try {
    return new URL(String(option), base).href;
  } catch (err) {
    throw pullError('INVALID_ARGUMENT', `b24pull: wasmUrl ${String(option)} is not a URL`, err);
  }
}

// LOAD_HELP tells what to do when the module cannot be loaded from where the loader looked.
const LOAD_HELP = 'serve b24pull.wasm from the b24pull package as application/wasm at that URL ' +
  '(Vite, webpack 5 and Parcel copy it by themselves), or pass wasmUrl ' +
  'with the URL where you serve it';

// The shared load: a promise of the runtime, reset when loading fails or the runtime crashes, so that a
// later createPullClient can try again.
let sharedRuntime = null;

function loadRuntime(wasmUrl) {
  if (sharedRuntime === null) {
    const loading = startRuntime(wasmUrl, () => {
      if (sharedRuntime === loading) sharedRuntime = null;
    });
    sharedRuntime = loading;
    loading.catch(() => {
      if (sharedRuntime === loading) sharedRuntime = null;
    });
  }
  return sharedRuntime;
}

// fetchWasm starts fetching the module; it resolves with the response, or rejects with LOAD_FAILED.
async function fetchWasm(url) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (err) {
    throw pullError('LOAD_FAILED', `b24pull: failed to fetch ${url} (${err && err.message}): ${LOAD_HELP}`, err);
  }
  if (!response.ok) {
    throw pullError('LOAD_FAILED', `b24pull: failed to fetch ${url}: HTTP ${response.status}: ${LOAD_HELP}`);
  }
  return response;
}

// WASM_MAGIC is how every WebAssembly binary starts: "\0asm".
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

// instantiate compiles the fetched module. instantiateStreaming needs the application/wasm MIME
// type, so any other type falls back to arrayBuffer; an HTTP error never falls back. A body that is
// not WebAssembly at all (a dev server's HTML fallback page for a path it does not have) is named as
// such, with the fix.
async function instantiate(url, fetching, imports) {
  const response = await fetching;
  const type = (response.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (type === 'application/wasm' && typeof WebAssembly.instantiateStreaming === 'function') {
    try {
      return (await WebAssembly.instantiateStreaming(response, imports)).instance;
    } catch (err) {
      throw pullError('LOAD_FAILED', `b24pull: failed to compile ${url}: ${err && err.message}`, err);
    }
  }
  let bytes;
  try {
    bytes = await response.arrayBuffer();
  } catch (err) {
    throw pullError('LOAD_FAILED', `b24pull: failed to read ${url}: ${err && err.message}`, err);
  }
  const head = new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
  if (head.length < 4 || WASM_MAGIC.some((b, i) => head[i] !== b)) {
    throw pullError('LOAD_FAILED', `b24pull: ${url} is not a WebAssembly module (it was served as ` +
      `${type || 'no type'}, ${bytes.byteLength} bytes): ${LOAD_HELP}`);
  }
  try {
    return (await WebAssembly.instantiate(bytes, imports)).instance;
  } catch (err) {
    throw pullError('LOAD_FAILED', `b24pull: failed to compile ${url}: ${err && err.message}`, err);
  }
}

// startRuntime fetches and compiles the module, runs the Go program and waits for its readiness
// signal. The runtime it returns records a crash (the Go program exiting) in rt.crashed, rejects
// rt.exited with it and calls every function in rt.onCrash (a set the clients add to and remove
// from, so that nothing of a finished call or a destroyed client stays held by the runtime);
// onCrash lets the shared load be retried.
async function startRuntime(wasmUrl, onCrash) {
  const go = new Go();
  const instance = await instantiate(wasmUrl, fetchWasm(wasmUrl), go.importObject);

  const rt = { api: null, crashed: null, exited: null, onCrash: new Set() };
  let reject;
  rt.exited = new Promise((_, r) => { reject = r; });
  rt.exited.catch(() => {});
  const crash = (description, cause) => {
    if (rt.crashed) return;
    rt.crashed = pullError('CRASHED', description, cause);
    reject(rt.crashed);
    for (const fn of Array.from(rt.onCrash)) fn(rt.crashed);
    rt.onCrash.clear();
    onCrash();
  };

  let signalReady;
  const ready = new Promise((resolve) => { signalReady = resolve; });
  globalThis.__b24pullReady = () => signalReady();
  try {
    go.run(instance).then(
      () => crash('b24pull: the Go runtime exited; create a new client'),
      (err) => crash(`b24pull: the Go runtime failed: ${err && err.message}`, err),
    );
    await Promise.race([ready, rt.exited]);
  } catch (err) {
    throw pullError('LOAD_FAILED', 'b24pull: the Go program ended before it was ready', err);
  } finally {
    delete globalThis.__b24pullReady;
  }
  rt.api = globalThis.__b24pull;
  if (!rt.api || typeof rt.api.newClient !== 'function') {
    throw pullError('LOAD_FAILED', 'b24pull: the module did not register its API');
  }
  return rt;
}

// ---- the config prefetch -------------------------------------------------------------------------

// The first thing a started client needs is its config. createPullClient starts that REST call at
// once, through the app's REST library, while the wasm is fetched and compiled; the client's first
// config load takes its outcome (bridge/prefetch_js.go) instead of calling again.
const CONFIG_METHOD = 'pull.application.config.get';
const CONFIG_PARAMS = '{"CACHE":"N"}';
// A prefetch not taken within this time is dropped: a later start calls again.
const PREFETCH_MAX_AGE_MS = 30000;

// restLibrary classifies the rest option as the Go side does (bridge/rest_js.go newREST).
function restLibrary(rest) {
  const lib = rest === undefined || rest === null ? globalThis.BX24 : rest;
  if (typeof lib === 'function') return { kind: 'function', lib };
  if (lib === null || typeof lib !== 'object') return null;
  if (Reflect.has(lib, 'auth')) return { kind: 'frame', lib };
  if (typeof lib.callMethod === 'function') return { kind: 'bx24', lib };
  return null;
}

// frameCall returns frame.actions.v2.call when it has make; the actions getter throws on a frame
// that is not initialised, which reads as "no actions".
function frameCall(frame) {
  try {
    const call = frame.actions.v2.call;
    return call && typeof call.make === 'function' ? call : null;
  } catch {
    return null;
  }
}

// callConfig starts the config call the way the Go adapter would and returns a Promise of what it
// settles with (for BX24: the result object its callback receives, or null when init or callMethod
// threw, which the Go side reads as "no prefetch": its own call then reports the error).
function callConfig(kind, lib) {
  const params = JSON.parse(CONFIG_PARAMS);
  switch (kind) {
    case 'function':
      return Promise.resolve(lib(CONFIG_METHOD, params));
    case 'frame': {
      const call = frameCall(lib);
      return Promise.resolve(call ? call.make({ method: CONFIG_METHOD, params }) : lib.callMethod(CONFIG_METHOD, params));
    }
    default:
      return new Promise((resolve) => {
        const send = () => {
          try {
            lib.callMethod(CONFIG_METHOD, params, resolve);
          } catch {
            resolve(null);
          }
        };
        try {
          if (typeof lib.init === 'function') lib.init(send);
          else send();
        } catch {
          resolve(null);
        }
      });
  }
}

// prefetchConfig starts the config call and returns the object newClient takes as its prefetch
// option, or null when the rest option is unusable or the call threw (the client then reports that
// itself). Its outcome promise never rejects; take() hands it over once; discard() drops it.
function prefetchConfig(rest) {
  let outcome;
  let kind;
  try {
    const found = restLibrary(rest);
    if (!found) return null;
    kind = found.kind;
    outcome = callConfig(kind, found.lib).then(
      (value) => (value === null && kind === 'bx24' ? null : { ok: true, value }),
      (value) => ({ ok: false, value }),
    );
  } catch {
    return null;
  }
  const drop = () => {
    outcome = null;
    clearTimeout(timer);
  };
  const timer = setTimeout(drop, PREFETCH_MAX_AGE_MS);
  return {
    kind,
    method: CONFIG_METHOD,
    params: CONFIG_PARAMS,
    take() {
      const taken = outcome;
      drop();
      return taken;
    },
    discard: drop,
  };
}

// ---- logging --------------------------------------------------------------------------------------

// What a secret becomes in a logged value (the Go side masks with the same).
const REDACTED = '***';
// Keys whose values are never logged, compared in lower case: the official client's list, and the
// names a channel id or a push token goes by.
const SECRET_KEYS = new Set(['auth', 'password', 'token', 'secret', 'access_token', 'refresh_token',
  'client_secret', 'application_token', 'sessid', 'key', 'signature', 'jwt', 'channel_id', 'channelid',
  'clientid', 'refresh_id', 'auth_id', 'authorization']);
// The same names as query parameters inside a string (a URL someone put into params).
const SECRET_QUERY = /([?&;#]|^)(auth|password|token|secret|access_token|refresh_token|client_secret|application_token|sessid|key|signature|jwt|channel_id|clientid|refresh_id|auth_id)=[^&#;]*/gi;
// How deep a logged value is walked; deeper parts are replaced.
const REDACT_DEPTH = 16;
// A part of a channel id or token this long or longer is a secret of its own (as on the Go side).
const MIN_SECRET_PART = 8;
// The most secrets remembered: those of rotated configs stay masked too.
const MAX_SECRETS = 256;

// configSecrets returns the secrets of a config result object: channel ids and public ids with their
// signatures, the JWT and the client id, each whole and in its parts.
function configSecrets(config) {
  const out = [];
  const add = (value, split) => {
    if (typeof value !== 'string' || value === '') return;
    out.push(value);
    if (!split) return;
    for (const part of value.split(/[:.]/)) if (part.length >= MIN_SECRET_PART) out.push(part);
  };
  if (!config || typeof config !== 'object') return out;
  const channels = config.channels && typeof config.channels === 'object' ? config.channels : {};
  for (const ch of Object.values(channels)) {
    if (ch && typeof ch === 'object') {
      add(ch.id, true);
      add(ch.public_id, true);
    }
  }
  add(config.jwt, true);
  add(config.clientId, false);
  if (config.publicChannels && typeof config.publicChannels === 'object') {
    for (const pc of Object.values(config.publicChannels)) {
      if (pc && typeof pc === 'object') {
        add(pc.public_id, true);
        add(pc.signature, true);
      }
    }
  }
  return out;
}

// Redactor masks the values of secret keys, secret query parameters and every known secret (from
// the configs it was shown) in a value about to be logged. It builds new objects; the value given is
// not changed.
class Redactor {
  constructor() {
    this.secrets = [];
  }

  // learn remembers the secrets of config, longest first so that no part of one survives another.
  learn(config) {
    const fresh = configSecrets(config).filter((s) => !this.secrets.includes(s));
    if (fresh.length === 0) return;
    this.secrets = [...fresh, ...this.secrets].slice(0, MAX_SECRETS).sort((a, b) => b.length - a.length);
  }

  string(text) {
    let out = text.replace(SECRET_QUERY, (_, sep, name) => `${sep}${name}=${REDACTED}`);
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  value(v, depth = REDACT_DEPTH) {
    if (typeof v === 'string') return this.string(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth <= 0) return REDACTED;
    if (Array.isArray(v)) return v.map((item) => this.value(item, depth - 1));
    const out = {};
    for (const [key, item] of Object.entries(v)) {
      out[this.string(key)] = SECRET_KEYS.has(key.toLowerCase()) ? REDACTED : this.value(item, depth - 1);
    }
    return out;
  }
}

// The logger methods of b24jssdk's LoggerInterface, and the console method each falls back to when a
// logger lacks it (console itself has no warning, notice, critical, alert or emergency).
const LOG_FALLBACK = {
  debug: 'debug', info: 'info', notice: 'info', warning: 'warn', error: 'error',
  critical: 'error', alert: 'error', emergency: 'error',
};
// The numbers of the SDK's LogLevel, for log(level, message, context).
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

// callLogger calls logger[level](message, context), or the console-style method it falls back to.
// A logger that throws or rejects is ignored: logging must never break the client.
function callLogger(logger, level, message, context) {
  try {
    let method = logger[level];
    if (typeof method !== 'function') method = logger[LOG_FALLBACK[level]];
    if (typeof method !== 'function') return;
    const result = context === undefined ? method.call(logger, message) : method.call(logger, message, context);
    if (result && typeof result.then === 'function') result.then(undefined, () => {});
  } catch {
    // ignored, as above
  }
}

// ConsoleLogger is the default logger: the LoggerInterface shape over console, silent while its
// owner's logging is off (enableLogging(false), the default unless the debug option is set).
class ConsoleLogger {
  constructor(isOn) {
    this.isOn = isOn;
  }

  // write prints one line whatever the switch says (event lines, which capturePullEvent turned on).
  write(level, message, context) {
    if (typeof console === 'undefined') return;
    callLogger(console, LOG_FALLBACK[level], message, context);
  }

  log(level, message, context) {
    const name = typeof level === 'number' ? LOG_LEVELS[level] : level;
    if (this.isOn() && LOG_FALLBACK[name]) this.write(name, message, context);
    return Promise.resolve();
  }
}
for (const level of LOG_LEVELS) {
  ConsoleLogger.prototype[level] = function logAt(message, context) {
    return this.log(level, message, context);
  };
}

// Log routes the client's lines to the logger. Three kinds of line:
//   - debug: what the client does (the Go side's lines, already redacted); only while logging is on;
//   - event: each message received, redacted; only while capturePullEvent is on;
//   - problem (warning, error): a subscriber that threw, a failed start, a config load to retry;
//     always given to a logger of the app's, to the default one only while logging is on.
// Every context is a plain object with no secret in it.
class Log {
  constructor(enabled) {
    this.enabled = enabled;
    this.capture = false;
    this.fallback = new ConsoleLogger(() => this.enabled);
    this.logger = this.fallback;
    this.redactor = new Redactor();
  }

  setLogger(logger) {
    this.logger = logger !== null && typeof logger === 'object' ? logger : this.fallback;
  }

  debug(message, context) {
    if (this.enabled) callLogger(this.logger, 'debug', message, context);
  }

  problem(level, message, context) {
    if (this.logger !== this.fallback || this.enabled) callLogger(this.logger, level, message, context);
  }

  event(message, context) {
    if (!this.capture) return;
    if (this.logger === this.fallback) this.fallback.write('info', message, context);
    else callLogger(this.logger, 'info', message, context);
  }
}

// ---- subscriptions --------------------------------------------------------------------------------

// The subscription types: the official ones, and 'retry' (b24pull's: a config load failed and is
// tried again).
const SUBSCRIPTION_TYPES = new Set([...Object.values(SubscriptionType), 'retry']);
// The types whose events are messages (command, params, extra); the others carry their own fields.
const MESSAGE_TYPES = new Set(['server', 'client', 'online']);

// Subscriptions holds the subscribers and delivers the batches Go hands over.
//
// The order of calls is the official client's: for a server or client message, first every
// subscription to the whole module (handler objects included), then every subscription to the
// message's command, each group in the order it subscribed. One that throws does not stop the
// others (the official client skips the rest of the message); the error is logged as a warning.
//
// Every subscriber of a message gets params and extra of its own, so a subscriber may change them
// freely and no other sees the change: when a message has two subscribers or more, its params and
// extra are turned into JSON text once, before the first call, and each subscriber but the last gets
// a JSON.parse of that text; the last gets the objects of the batch (docs/benchmarks.md, "A copy per
// subscriber", has the costs of this and of the other ways).
class Subscriptions {
  constructor(log) {
    this.log = log;
    this.modules = { server: new Map(), client: new Map() };
    this.lists = new Map();
    this.queue = [];
    this.scheduled = false;
    this.closed = false;
    // onUserStatus(event) gets {userId, isOnline} of each online/userStatusChange message;
    // learnSecrets() shows the redactor the config in use before a batch is logged.
    this.onUserStatus = null;
    this.learnSecrets = null;
  }

  // addModule subscribes sub to the server or client messages of moduleId (lower case): to those of
  // command, or to all of them when command is null.
  addModule(type, moduleId, command, sub) {
    let entry = this.modules[type].get(moduleId);
    if (!entry) {
      entry = { all: new Set(), commands: new Map() };
      this.modules[type].set(moduleId, entry);
    }
    let set = entry.all;
    if (command !== null) {
      set = entry.commands.get(command);
      if (!set) {
        set = new Set();
        entry.commands.set(command, set);
      }
    }
    return this.keep(set, sub);
  }

  // addList subscribes sub to every event of type (online, status, revision, retry).
  addList(type, sub) {
    let set = this.lists.get(type);
    if (!set) {
      set = new Set();
      this.lists.set(type, set);
    }
    return this.keep(set, sub);
  }

  // keep adds sub to set and returns its unsubscribe function, which also stops a call of it still
  // due for the event being delivered.
  keep(set, sub) {
    sub.active = true;
    set.add(sub);
    return () => {
      sub.active = false;
      set.delete(sub);
    };
  }

  // enqueue takes one batch's JSON text from Go (the events of one frame, or of frames that arrived
  // back to back). Delivery runs in a microtask, after the Go call returned, so subscribers may call
  // back into the client (stop, destroy) without deadlock.
  enqueue(text) {
    if (this.closed) return;
    this.queue.push(text);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush() {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.log.capture && this.learnSecrets && queue.length > 0) {
      try {
        this.learnSecrets();
      } catch {
        // the lines are still redacted by key and by the secrets learnt before
      }
    }
    for (const text of queue) {
      if (this.closed) return;
      let events;
      try {
        events = JSON.parse(text);
      } catch (err) {
        this.log.problem('error', 'b24pull: an event batch is not JSON', { error: err });
        continue;
      }
      if (!Array.isArray(events)) continue;
      for (const event of events) {
        if (this.closed) return;
        if (event && typeof event === 'object') this.dispatch(event);
      }
    }
  }

  dispatch(event) {
    const type = event.type;
    if (MESSAGE_TYPES.has(type)) {
      this.message(event);
      return;
    }
    let data;
    switch (type) {
      case 'status':
        data = () => ({ status: event.status });
        break;
      case 'revision':
        data = () => ({ server: event.server, client: event.client });
        break;
      case 'retry':
        this.log.problem('warning', 'b24pull: the config could not be loaded; trying again',
          { code: event.code, description: event.description, retryIn: event.retryIn });
        data = () => ({ code: event.code, description: event.description, retryIn: event.retryIn });
        break;
      default:
        return;
    }
    const set = this.lists.get(type);
    if (!set) return;
    for (const sub of Array.from(set)) {
      if (!sub.active || this.closed) continue;
      this.call(sub, event, () => sub.fn(data(), { type }));
    }
  }

  // message delivers a server, client or online message.
  message(event) {
    const { type, moduleId, command, params, extra } = event;
    if (this.log.capture) {
      this.log.event('b24pull: event', {
        type, moduleId, command,
        params: this.log.redactor.value(params), extra: this.log.redactor.value(extra),
      });
    }
    // The user status callbacks read the message before any subscriber could change it.
    const status = type === 'online' && command === 'userStatusChange' && params && typeof params === 'object'
      ? { userId: Number(params.user_id), isOnline: params.online === true }
      : null;

    const subs = [];
    if (type === 'online') {
      const set = this.lists.get('online');
      if (set) subs.push(...set);
    } else {
      const entry = this.modules[type].get(moduleId);
      if (entry) {
        subs.push(...entry.all);
        const set = entry.commands.get(command);
        if (set) subs.push(...set);
      }
    }
    // Each target is a subscriber and what to call; a handler object without a method for the
    // command is no target and costs no copy.
    const targets = [];
    for (const sub of subs) {
      if (!sub.active) continue;
      const fn = this.call(sub, event, () => sub.target(event));
      if (typeof fn === 'function') targets.push([sub, fn]);
    }
    const last = targets.length - 1;
    const text = last > 0 ? JSON.stringify({ p: params, x: extra }) : '';
    for (let i = 0; i <= last; i++) {
      const [sub, fn] = targets[i];
      if (!sub.active || this.closed) continue;
      if (i === last) {
        this.call(sub, event, () => fn(params, extra));
      } else {
        const copy = JSON.parse(text);
        this.call(sub, event, () => fn(copy.p, copy.x));
      }
    }
    if (status && this.onUserStatus && !this.closed) this.onUserStatus(status);
  }

  // call runs fn for sub; what it throws is logged (without the message's params) and swallowed.
  call(sub, event, fn) {
    try {
      return fn();
    } catch (err) {
      this.log.problem('warning', 'b24pull: a subscriber threw', {
        type: event.type, moduleId: event.moduleId, command: event.command, error: err,
      });
      return undefined;
    }
  }

  close() {
    this.closed = true;
    this.queue = [];
    this.modules.server.clear();
    this.modules.client.clear();
    this.lists.clear();
    this.onUserStatus = null;
  }
}

// subscribeCallback handles subscribe({type, moduleId, command, callback}).
function subscribeCallback(subs, params) {
  const type = params.type || 'server';
  if (!SUBSCRIPTION_TYPES.has(type)) {
    throw new TypeError(`b24pull: unknown subscription type ${String(type)}`);
  }
  const callback = params.callback;
  if (typeof callback !== 'function') {
    throw new TypeError('b24pull: subscribe needs a callback function');
  }
  if (type === 'server' || type === 'client') {
    if (typeof params.moduleId !== 'string' || params.moduleId === '') {
      throw new TypeError(`b24pull: moduleId is required for ${type} subscriptions`);
    }
    // Module ids arrive in lower case; a subscription in any case gets them.
    const moduleId = params.moduleId.toLowerCase();
    const command = params.command ? String(params.command) : null;
    const target = command === null
      ? (e) => (p, x) => callback({ command: e.command, params: p, extra: x }, { type, moduleId: e.moduleId })
      : (e) => (p, x) => callback(p, x, e.command, { type, moduleId: e.moduleId });
    return subs.addModule(type, moduleId, command, { target });
  }
  if (type === 'online') {
    // As in the official client, an online subscription gets every online message: a command given
    // with it is not a filter.
    return subs.addList(type, { target: (e) => (p, x) => callback({ command: e.command, params: p, extra: x }, { type }) });
  }
  return subs.addList(type, { fn: callback });
}

// handlerMethod finds the method of a command handler object for command, as the official client
// does: getMap()[command] (a function, or the name of a method), and when the map has none,
// handle<Command> (the command with its first letter upper-cased).
function handlerMethod(handler, command) {
  if (typeof handler.getMap === 'function') {
    const map = handler.getMap();
    if (map && typeof map === 'object') {
      const entry = map[command];
      if (typeof entry === 'function') return entry;
      if (typeof entry === 'string' && typeof handler[entry] === 'function') return handler[entry];
    }
  }
  const name = typeof command === 'string' && command !== ''
    ? `handle${command.charAt(0).toUpperCase()}${command.slice(1)}`
    : 'handle';
  return typeof handler[name] === 'function' ? handler[name] : null;
}

// subscribeHandler handles subscribe(handlerObject): getModuleId(), optional getSubscriptionType(),
// methods called as (params, extra, command) with the handler as this. A handler subscribes to its
// whole module, so it is called with the module's other whole-module subscribers.
function subscribeHandler(subs, handler) {
  const type = (typeof handler.getSubscriptionType === 'function' && handler.getSubscriptionType()) || 'server';
  if (type !== 'server' && type !== 'client' && type !== 'online') {
    throw new TypeError(`b24pull: a command handler cannot subscribe to ${String(type)} events`);
  }
  const moduleId = handler.getModuleId();
  if (typeof moduleId !== 'string' || (type !== 'online' && moduleId === '')) {
    throw new TypeError('b24pull: getModuleId() of a command handler must return a module id');
  }
  const target = (e) => {
    const method = handlerMethod(handler, e.command);
    return method ? (p, x) => method.call(handler, p, x, e.command) : null;
  };
  if (type === 'online') return subs.addList(type, { target });
  return subs.addModule(type, moduleId.toLowerCase(), null, { target });
}

// ---- publishing and presence ----------------------------------------------------------------------

// rejectArgument is the rejection of a call whose arguments cannot be used.
function rejectArgument(description) {
  return Promise.reject(pullError('INVALID_ARGUMENT', `b24pull: ${description}`));
}

// userIdList reads a list of user ids: positive integers (numeric strings accepted, as ids often come
// from the DOM); null when it is not one.
function userIdList(list) {
  if (!Array.isArray(list) || list.length === 0) return null;
  const ids = list.map((id) => (typeof id === 'string' && id.trim() !== '' ? Number(id) : id));
  return ids.every((id) => Number.isInteger(id) && id > 0) ? ids : null;
}

// channelRef reads one public channel: "<publicId>.<signature>" or {publicId, signature}.
function channelRef(ch) {
  if (typeof ch === 'string') return ch;
  if (ch !== null && typeof ch === 'object' && typeof ch.publicId === 'string' && typeof ch.signature === 'string') {
    return `${ch.publicId}.${ch.signature}`;
  }
  return null;
}

// publishText builds the one JSON text a publish crosses into Go with. Params must be a plain JSON
// object (undefined and null send {}); expiry is seconds, 0 when left out.
function publishText(target, moduleId, command, params, expiry) {
  if (typeof moduleId !== 'string' || moduleId === '') return { error: 'moduleId must be a non-empty string' };
  if (typeof command !== 'string' || command === '') return { error: 'command must be a non-empty string' };
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
    return { error: 'params must be an object' };
  }
  if (expiry !== undefined && expiry !== null && !(Number.isInteger(expiry) && expiry >= 0)) {
    return { error: 'expiry must be a whole number of seconds, 0 or more' };
  }
  let text;
  try {
    text = JSON.stringify({ ...target, moduleId, command, params: params ?? {}, expiry: expiry ?? 0 });
  } catch (err) {
    return { error: `params cannot be sent as JSON: ${err && err.message}` };
  }
  return { text };
}

// StatusWatch keeps the callbacks of subscribeUserStatusChange by user id and calls them, in the
// official shape {userId, isOnline}, for the online/userStatusChange messages (after the online
// subscribers, as the official client does).
class StatusWatch {
  constructor(log) {
    this.byUser = new Map();
    this.log = log;
  }

  add(userId, callback) {
    let set = this.byUser.get(userId);
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(callback);
  }

  // remove drops callback and tells whether it was the user's last one.
  remove(userId, callback) {
    const set = this.byUser.get(userId);
    if (!set) return false;
    set.delete(callback);
    if (set.size > 0) return false;
    this.byUser.delete(userId);
    return true;
  }

  deliver({ userId, isOnline }) {
    const set = this.byUser.get(userId);
    if (!set) return;
    for (const callback of Array.from(set)) {
      try {
        callback({ userId, isOnline });
      } catch (err) {
        this.log.problem('warning', 'b24pull: a user status callback threw', { userId, error: err });
      }
    }
  }
}

// ---- the resume point across a page reload --------------------------------------------------------

// When the page goes away, the last message id and the time are kept in sessionStorage (that tab
// only) for RESUME_MAX_AGE_MS, so that the page's next client, started within that time, resumes
// after it and nothing sent during the reload is lost. Nothing else is stored: a message id is no
// secret (docs/protocol.md §8.4, §19).
const RESUME_KEY = 'b24pull:resume';
const RESUME_MAX_AGE_MS = 20000;
// A message id as servers hand them out (26 digits; the JSON-RPC server's form is not public, so
// anything id-like of sensible length passes).
const MID_FORM = /^[0-9A-Za-z._:-]{1,128}$/;

// sessionStore returns sessionStorage, or null where it is missing or reading it throws (a sandboxed
// iframe, storage blocked by the browser).
function sessionStore() {
  try {
    const store = globalThis.sessionStorage;
    return store && typeof store.getItem === 'function' ? store : null;
  } catch {
    return null;
  }
}

// saveResume keeps mid under key; a full or refused storage keeps nothing.
function saveResume(key, mid) {
  const store = sessionStore();
  if (!store) return;
  try {
    store.setItem(key, JSON.stringify({ mid, at: Date.now() }));
  } catch {
    // nothing kept
  }
}

// takeResume removes what saveResume kept under key and returns its message id when it is fresh,
// else null.
function takeResume(key) {
  const store = sessionStore();
  if (!store) return null;
  try {
    const text = store.getItem(key);
    if (text === null) return null;
    store.removeItem(key);
    const saved = JSON.parse(text);
    const age = Date.now() - Number(saved && saved.at);
    if (typeof saved.mid !== 'string' || !MID_FORM.test(saved.mid) || !(age >= 0 && age <= RESUME_MAX_AGE_MS)) return null;
    return saved.mid;
  } catch {
    return null;
  }
}

// resumeKeyOf reads the resumeKey option: the storage key, or null to keep nothing.
function resumeKeyOf(option) {
  if (option === undefined) return RESUME_KEY;
  if (option === null || option === false) return null;
  if (typeof option === 'string' && option !== '') return option;
  throw pullError('INVALID_ARGUMENT', 'b24pull: resumeKey must be a non-empty string, or null to keep nothing');
}

// listen adds a listener of the window's event type and returns the function that removes it.
function listen(type, fn) {
  if (typeof globalThis.addEventListener !== 'function') return () => {};
  globalThis.addEventListener(type, fn);
  return () => globalThis.removeEventListener(type, fn);
}

// ---- the client -----------------------------------------------------------------------------------

// The options createPullClient hands to the Go client as they are.
const GO_OPTIONS = ['secure', 'disableWebSocket', 'restTimeout', 'sendTimeout', 'startTimeout', 'timing'];

/**
 * createPullClient loads the module (once per page) and returns a pull client.
 * @param {import('./b24pull.d.ts').PullClientOptions} [options]
 * @returns {Promise<import('./b24pull.d.ts').PullClient>}
 */
export async function createPullClient(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('b24pull: options must be an object');
  }
  const debug = options.debug === true;
  const wasmUrl = wasmUrlOf(options.wasmUrl);
  const resumeKey = resumeKeyOf(options.resumeKey);
  const prefetch = options.prefetchConfig === false ? null : prefetchConfig(options.rest);
  const log = new Log(debug);
  const subs = new Subscriptions(log);
  try {
    const rt = await loadRuntime(wasmUrl);
    if (rt.crashed) throw rt.crashed;
    const goOptions = {
      rest: options.rest,
      debug,
      onBatch: (text) => subs.enqueue(text),
      onLog: (line) => log.debug(line),
    };
    for (const key of GO_OPTIONS) {
      if (options[key] !== undefined) goOptions[key] = options[key];
    }
    if (prefetch) goOptions.prefetch = prefetch;
    let inner;
    try {
      inner = rt.api.newClient(goOptions);
    } catch (err) {
      throw rt.crashed || err;
    }
    if (inner instanceof Error) throw inner;
    return wrapClient(rt, inner, { subs, log, prefetch, resumeKey });
  } catch (err) {
    if (prefetch) prefetch.discard();
    throw err;
  }
}

// closeArgs reads the (code, reason) of stop, restart and reconnect: undefined or null takes the
// default; anything else must be an integer code and a string. It returns {code, reason}, or {error}.
function closeArgs(name, code, reason, defaultReason) {
  const c = code ?? CloseReasons.NORMAL_CLOSURE;
  const r = reason ?? defaultReason;
  if (!Number.isInteger(c)) return { error: `${name}: the close code must be an integer (CloseReasons)` };
  if (typeof r !== 'string') return { error: `${name}: the reason must be a string` };
  return { code: c, reason: r };
}

// wrapClient builds the public client over the Go client object inner.
function wrapClient(rt, inner, { subs, log, prefetch, resumeKey }) {
  // call forwards an async method; a crash of the runtime rejects it even when Go never answers.
  const call = (name, ...args) => {
    if (rt.crashed) return Promise.reject(rt.crashed);
    let promise;
    try {
      promise = inner[name](...args);
    } catch (err) {
      return Promise.reject(rt.crashed || err);
    }
    return new Promise((resolve, reject) => {
      rt.onCrash.add(reject);
      Promise.resolve(promise).then(resolve, reject).finally(() => rt.onCrash.delete(reject));
    });
  };
  // get forwards a synchronous method; it throws after a crash.
  const get = (name, ...args) => {
    if (rt.crashed) throw rt.crashed;
    return inner[name](...args);
  };
  // facts reads what the official getters tell, in one crossing.
  const facts = () => get('facts');
  const publish = (name, target, moduleId, command, params, expiry) => {
    const { text, error } = publishText(target, moduleId, command, params, expiry);
    return error ? rejectArgument(`${name}: ${error}`) : call(name, text);
  };
  const watch = new StatusWatch(log);
  subs.onUserStatus = (event) => watch.deliver(event);
  subs.learnSecrets = () => {
    if (!rt.crashed) log.redactor.learn(inner.configValue());
  };

  // The window listeners: online and offline while the client runs (from start or restart to stop
  // or destroy), pagehide from the first start to destroy. None outlives destroy.
  let destroyed = false;
  let offNetwork = null;
  let offPagehide = null;
  const network = (online) => {
    if (rt.crashed) return;
    log.debug(`b24pull: the browser says it is ${online ? 'online' : 'offline'}`);
    inner.network(online);
  };
  const keepResume = () => {
    if (rt.crashed || resumeKey === null) return;
    const mid = inner.getStats().lastMid;
    if (typeof mid === 'string' && mid !== '') saveResume(resumeKey, mid);
  };
  const listening = () => {
    if (destroyed || rt.crashed) return;
    if (!offNetwork) {
      const offOnline = listen('online', () => network(true));
      const offOffline = listen('offline', () => network(false));
      offNetwork = () => {
        offOnline();
        offOffline();
      };
    }
    if (!offPagehide && resumeKey !== null) offPagehide = listen('pagehide', keepResume);
  };
  const quiet = () => {
    if (offNetwork) offNetwork();
    offNetwork = null;
  };
  // A crashed runtime hears nothing more.
  const deaf = () => {
    quiet();
    if (offPagehide) offPagehide();
    offPagehide = null;
  };
  rt.onCrash.add(deaf);

  const client = {
    // -- config and the official getters
    getConfig: () => get('configValue'),
    loadConfig: (opts = {}) => call('loadConfig', { cache: opts.cache !== false, reopen: opts.reopen === true }),
    getStatus: () => get('getStatus'),
    get status() {
      return get('getStatus');
    },
    isConnected: () => facts().connected === true,
    getServerVersion: () => facts().serverVersion,
    getServerMode: () => facts().serverMode,
    getRevision: () => facts().revision,
    isJsonRpc: () => facts().jsonRpc,
    isSharedMode: () => facts().sharedMode,
    isWebSocketSupported: () => typeof globalThis.WebSocket === 'function',
    isWebSocketAllowed: () => facts().webSocketAllowed,
    isWebSocketEnabled: () => facts().webSocketEnabled,
    getConnectionPath: () => facts().connectionPath,
    getPublicationPath: () => facts().publicationPath,
    getStats: () => get('getStats'),
    getDebugInfo: () => get('getDebugInfo'),

    // -- lifecycle
    start(config) {
      let text;
      let skipResume = false;
      if (config !== undefined && config !== null) {
        if (typeof config !== 'object' || Array.isArray(config)) {
          return rejectArgument('start: config must be a config object (the result of pull.application.config.get)');
        }
        const { skipReconnectToLastSession, ...given } = config;
        skipResume = skipReconnectToLastSession === true;
        if (Object.keys(given).length > 0) {
          try {
            text = JSON.stringify(given);
          } catch {
            return rejectArgument('start: config cannot be sent as JSON');
          }
        }
      }
      if (!destroyed && !rt.crashed && resumeKey !== null && !skipResume && inner.getStatus() === 'offline') {
        const mid = takeResume(resumeKey);
        if (mid !== null) {
          inner.setLastMessageId(mid);
          log.debug('b24pull: resuming after the last message id kept across the reload');
        }
      }
      listening();
      const starting = text === undefined ? call('start') : call('start', text);
      return starting.catch((err) => {
        const context = { code: err && err.code, description: err && err.description };
        if (context.code === 'STOPPED' || context.code === 'DESTROYED') log.debug('b24pull: start ended', context);
        else log.problem('error', 'b24pull: start failed', context);
        throw err;
      });
    },
    restart(code, reason) {
      const args = closeArgs('restart', code, reason, 'manual restart');
      if (args.error) return rejectArgument(args.error);
      listening(); // a client that was not started starts
      return call('restart', args.code, args.reason);
    },
    reconnect(code, reason, delay = 1) {
      const args = closeArgs('reconnect', code, reason, 'manual reconnect');
      if (args.error) return rejectArgument(args.error);
      if (typeof delay !== 'number' || !(delay >= 0)) return rejectArgument('reconnect: delay must be a number of seconds, 0 or more');
      return call('reconnect', args.code, args.reason, delay);
    },
    stop(code, reason) {
      const args = closeArgs('stop', code, reason, 'manual stop');
      if (args.error) return rejectArgument(args.error);
      quiet();
      return call('stop', args.code, args.reason);
    },
    destroy() {
      if (!destroyed) {
        destroyed = true;
        // Unlike the official client, destroy keeps no resume point: a client created next in the
        // same page would replay what this one already delivered. Only a page that goes away
        // (pagehide) leaves one for the page that follows.
        deaf();
        rt.onCrash.delete(deaf);
        subs.close();
        if (prefetch) prefetch.discard();
      }
      return call('destroy');
    },
    setLastMessageId(mid) {
      if (mid !== null && mid !== undefined && typeof mid !== 'string') {
        throw new TypeError('b24pull: setLastMessageId takes a message id (a string), or null');
      }
      get('setLastMessageId', mid ?? null);
    },

    // -- logging
    setLogger(logger) {
      log.setLogger(logger);
    },
    getLogger: () => log.logger,
    enableLogging(flag = true) {
      log.enabled = Boolean(flag);
    },
    capturePullEvent(flag = true) {
      log.capture = Boolean(flag);
    },

    // -- subscriptions
    subscribe(params) {
      if (params === null || typeof params !== 'object') {
        throw new TypeError('b24pull: subscribe expects an object');
      }
      if (typeof params.getModuleId === 'function') return subscribeHandler(subs, params);
      return subscribeCallback(subs, params);
    },

    // -- publishing and presence
    sendMessage(users, moduleId, command, params, expiry) {
      const ids = userIdList(users);
      if (!ids) return rejectArgument('sendMessage: users must be a non-empty array of user ids');
      return publish('sendMessage', { users: ids }, moduleId, command, params, expiry);
    },
    sendMessageToChannels(publicChannels, moduleId, command, params, expiry) {
      const channels = Array.isArray(publicChannels) ? publicChannels.map(channelRef) : null;
      if (!channels || channels.length === 0 || channels.includes(null)) {
        return rejectArgument('sendMessageToChannels: publicChannels must be a non-empty array of ' +
          '"<publicId>.<signature>" strings or {publicId, signature} objects');
      }
      return publish('sendMessageToChannels', { channels }, moduleId, command, params, expiry);
    },
    isPublishingEnabled: () => get('isPublishingEnabled'),
    isPublishingSupported: () => get('isPublishingSupported'),
    getUsersLastSeen(userIds) {
      const ids = userIdList(userIds);
      if (!ids) return rejectArgument('getUsersLastSeen: userIds must be a non-empty array of user ids');
      return call('getUsersLastSeen', JSON.stringify(ids));
    },
    listChannels: () => call('listChannels'),
    ping(timeout = 5) {
      if (typeof timeout !== 'number' || !(timeout > 0)) return rejectArgument('ping: timeout must be a positive number of seconds');
      return call('ping', timeout);
    },
    async subscribeUserStatusChange(userId, callback) {
      const [id] = userIdList([userId]) || [];
      if (!id) throw pullError('INVALID_ARGUMENT', 'b24pull: subscribeUserStatusChange: userId must be a user id');
      if (typeof callback !== 'function') {
        throw pullError('INVALID_ARGUMENT', 'b24pull: subscribeUserStatusChange: callback must be a function');
      }
      await call('subscribeUserStatusChange', id);
      watch.add(id, callback);
    },
    async unsubscribeUserStatusChange(userId, callback) {
      const [id] = userIdList([userId]) || [];
      if (!id) throw pullError('INVALID_ARGUMENT', 'b24pull: unsubscribeUserStatusChange: userId must be a user id');
      if (watch.remove(id, callback)) await call('unsubscribeUserStatusChange', id);
    },
  };
  return Object.freeze(client);
}

// b24pull: keeps a Bitrix24 Push & Pull connection alive from an app page.
//
// This file is the source of the package's module b24pull.mjs and of its classic script b24pull.js:
// cmd/jsbuild puts the Go toolchain's wasm_exec.js where the runtime marker stands and writes both.
// The module loads the Go WebAssembly module (once per page) and adds what is cheaper in JavaScript:
// the subscriber fan-out. Edit this file, not the built ones.

// b24pull:wasm_exec

// The package version, from package.json (written by cmd/jsbuild).
export const version = '0.0.0-dev';

const SUBSCRIPTION_TYPES = new Set(['server', 'client', 'online', 'status', 'revision']);

// pullError builds the Error shape every rejection of this package has: code and description.
function pullError(code, description, cause) {
  return Object.assign(new Error(description, cause === undefined ? undefined : { cause }), { code, description });
}

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
// signal. The runtime it returns records a crash (the Go program exiting) in rt.crashed and rejects
// rt.exited with it; onCrash lets the shared load be retried.
async function startRuntime(wasmUrl, onCrash) {
  const go = new Go();
  const instance = await instantiate(wasmUrl, fetchWasm(wasmUrl), go.importObject);

  const rt = { api: null, crashed: null, exited: null };
  let reject;
  rt.exited = new Promise((_, r) => { reject = r; });
  rt.exited.catch(() => {});
  const crash = (description, cause) => {
    if (rt.crashed) return;
    rt.crashed = pullError('CRASHED', description, cause);
    reject(rt.crashed);
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

// ---- subscriptions --------------------------------------------------------------------------------

// Subscribers receive the objects JSON.parse built for the frame. Several subscribers of the same
// message share them (copying per subscriber would cost more than the crossing saved): treat params
// and extra as read-only.
class Subscriptions {
  constructor(debug) {
    this.byType = new Map();
    this.queue = [];
    this.scheduled = false;
    this.closed = false;
    this.debug = debug;
  }

  add(type, deliver) {
    let set = this.byType.get(type);
    if (!set) {
      set = new Set();
      this.byType.set(type, set);
    }
    const sub = { deliver, active: true };
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
    for (const text of queue) {
      if (this.closed) return;
      let events;
      try {
        events = JSON.parse(text);
      } catch (err) {
        if (this.debug) console.error('b24pull: unreadable event batch', err);
        continue;
      }
      if (!Array.isArray(events)) continue;
      for (const event of events) {
        if (event && typeof event === 'object') this.dispatch(event);
      }
    }
  }

  dispatch(event) {
    const set = this.byType.get(event.type);
    if (!set || set.size === 0) return;
    for (const sub of Array.from(set)) {
      if (!sub.active || this.closed) continue;
      try {
        sub.deliver(event);
      } catch (err) {
        if (this.debug) console.error('b24pull: a subscriber threw', err);
      }
    }
  }

  close() {
    this.closed = true;
    this.queue = [];
    this.byType.clear();
  }
}

function sameModule(event, moduleId) {
  return typeof event.moduleId === 'string' && event.moduleId.toLowerCase() === moduleId;
}

// subscribeCallback handles subscribe({type, moduleId, command, callback}).
function subscribeCallback(subs, params) {
  const type = params.type === undefined ? 'server' : params.type;
  if (!SUBSCRIPTION_TYPES.has(type)) {
    throw new TypeError(`b24pull: unknown subscription type ${String(type)}`);
  }
  const callback = params.callback;
  if (typeof callback !== 'function') {
    throw new TypeError('b24pull: subscribe needs a callback function');
  }
  const command = typeof params.command === 'string' && params.command !== '' ? params.command : null;
  switch (type) {
    case 'server':
    case 'client': {
      if (typeof params.moduleId !== 'string' || params.moduleId === '') {
        throw new TypeError(`b24pull: moduleId is required for ${type} subscriptions`);
      }
      const moduleId = params.moduleId.toLowerCase();
      if (command !== null) {
        return subs.add(type, (e) => {
          if (e.command === command && sameModule(e, moduleId)) {
            callback(e.params, e.extra, e.command, { type, moduleId: e.moduleId });
          }
        });
      }
      return subs.add(type, (e) => {
        if (sameModule(e, moduleId)) {
          callback({ command: e.command, params: e.params, extra: e.extra }, { type, moduleId: e.moduleId });
        }
      });
    }
    case 'online':
      return subs.add(type, (e) => {
        if (command === null || e.command === command) {
          callback({ command: e.command, params: e.params, extra: e.extra }, { type });
        }
      });
    case 'status':
      return subs.add(type, (e) => callback({ status: e.status }, { type }));
    default:
      return subs.add(type, (e) => callback({ server: e.server, client: e.client }, { type }));
  }
}

// handlerMethod finds the method of a command handler object for command: getMap()[command] (a
// function or a method name), else handle<Command>.
function handlerMethod(handler, command) {
  if (typeof command !== 'string' || command === '') return null;
  if (typeof handler.getMap === 'function') {
    const map = handler.getMap();
    if (map && typeof map === 'object') {
      const entry = map[command];
      if (typeof entry === 'function') return entry;
      if (typeof entry === 'string' && typeof handler[entry] === 'function') return handler[entry];
      return null;
    }
  }
  const name = `handle${command.charAt(0).toUpperCase()}${command.slice(1)}`;
  return typeof handler[name] === 'function' ? handler[name] : null;
}

// subscribeHandler handles subscribe(handlerObject): getModuleId(), optional getSubscriptionType(),
// methods called as (params, extra, command) with the handler as this.
function subscribeHandler(subs, handler) {
  const type = typeof handler.getSubscriptionType === 'function' ? handler.getSubscriptionType() : 'server';
  if (type !== 'server' && type !== 'client' && type !== 'online') {
    throw new TypeError(`b24pull: a command handler cannot subscribe to ${String(type)} events`);
  }
  const moduleId = String(handler.getModuleId() || '').toLowerCase();
  if (type !== 'online' && moduleId === '') {
    throw new TypeError('b24pull: getModuleId() returned no module id');
  }
  return subs.add(type, (e) => {
    if (type !== 'online' && !sameModule(e, moduleId)) return;
    const method = handlerMethod(handler, e.command);
    if (method) method.call(handler, e.params, e.extra, e.command);
  });
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

// StatusWatch keeps the callbacks of subscribeUserStatusChange by user id and calls them for the
// online/userStatusChange messages, in the official shape {userId, isOnline}.
class StatusWatch {
  constructor(debug) {
    this.byUser = new Map();
    this.debug = debug;
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

  deliver(event) {
    if (event.command !== 'userStatusChange' || !event.params) return;
    const userId = Number(event.params.user_id);
    const set = this.byUser.get(userId);
    if (!set) return;
    for (const callback of Array.from(set)) {
      try {
        callback({ userId, isOnline: event.params.online === true });
      } catch (err) {
        if (this.debug) console.error('b24pull: a user status callback threw', err);
      }
    }
  }
}

// ---- the client -----------------------------------------------------------------------------------

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
  const prefetch = options.prefetchConfig === false ? null : prefetchConfig(options.rest);
  const subs = new Subscriptions(debug);
  try {
    const rt = await loadRuntime(wasmUrl);
    if (rt.crashed) throw rt.crashed;
    const goOptions = { rest: options.rest, debug, onBatch: (text) => subs.enqueue(text) };
    for (const key of ['secure', 'disableWebSocket', 'restTimeout', 'sendTimeout', 'timing']) {
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
    return wrapClient(rt, inner, subs, prefetch);
  } catch (err) {
    if (prefetch) prefetch.discard();
    throw err;
  }
}

// wrapClient builds the public client over the Go client object inner.
function wrapClient(rt, inner, subs, prefetch) {
  // call forwards an async method; a crash of the runtime rejects it even when Go never answers.
  const call = (name, ...args) => {
    if (rt.crashed) return Promise.reject(rt.crashed);
    let promise;
    try {
      promise = inner[name](...args);
    } catch (err) {
      return Promise.reject(rt.crashed || err);
    }
    return Promise.race([promise, rt.exited]);
  };
  // get forwards a synchronous method; it throws after a crash.
  const get = (name) => {
    if (rt.crashed) throw rt.crashed;
    return inner[name]();
  };
  const publish = (name, target, moduleId, command, params, expiry) => {
    const { text, error } = publishText(target, moduleId, command, params, expiry);
    return error ? rejectArgument(`${name}: ${error}`) : call(name, text);
  };
  const watch = new StatusWatch(subs.debug);
  subs.add('online', (e) => watch.deliver(e));

  return Object.freeze({
    getConfig: (opts = {}) => call('getConfig', { cache: opts.cache !== false, reopen: opts.reopen === true }),
    start: () => call('start'),
    stop: () => call('stop'),
    destroy: () => {
      subs.close();
      if (prefetch) prefetch.discard();
      return call('destroy');
    },
    getStatus: () => get('getStatus'),
    getStats: () => get('getStats'),
    getDebugInfo: () => get('getDebugInfo'),
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
    subscribe(params) {
      if (params === null || typeof params !== 'object') {
        throw new TypeError('b24pull: subscribe expects an object');
      }
      if (typeof params.getModuleId === 'function') return subscribeHandler(subs, params);
      return subscribeCallback(subs, params);
    },
  });
}

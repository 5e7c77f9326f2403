// differential.js runs the official client (@bitrix24/b24jssdk's PullClient, as a REST application)
// and b24pull in one page, as the same user of the same stand-in portal, each subscribed in exactly
// the same way, so that both see one stream of messages. e2e/differential_test.go drives it through
// window.diff and compares what the two recorded.
//
// Every call of every callback is an entry of its client's log, in call order:
//   {stream, args, self?, command?, n?, to?}
// stream names the subscription (the same name in both clients); args is a deep copy of the
// arguments taken at the moment of the call (JSON, with undefined written as "<undefined>"), so that
// a change a later subscriber makes does not show in it; self tells whether a handler object's method
// ran with the handler as `this`; command and n (params.n) identify the message, and to (params.to)
// names the channel it was published to ("user" or "shared"), for the waits and for comparing the
// order of calls. What a subscribe() call did is an entry too, of stream "subscribe:<name>": ['ok']
// or [{threw: <error name>}]. No field is normalised here: the Go side does it, and prints only
// normalised logs.
//
// window.diffReady becomes true once both packages are loaded.
import { B24PullClientManager } from '@bitrix24/b24jssdk';
import { createPullClient } from '/b24pull/b24pull.mjs';

const UNDEFINED = '<undefined>';
const APP = 'application';

const logs = { official: [], b24pull: [] };
// configs holds every config the portal answered, as JSON text: the Go side looks for their secrets
// in the console.
const configs = [];
const clients = { official: null, b24pull: null };

// copy is the deep copy of a callback's arguments: what JSON keeps, undefined included.
function copy(value) {
  const text = JSON.stringify(value, (key, v) => (v === undefined ? UNDEFINED : v));
  return text === undefined ? UNDEFINED : JSON.parse(text);
}

// redact masks channel ids, signatures and tokens in a line before it reaches the console.
const redact = (s) => String(s)
  .replace(/[0-9a-f]{32}[0-9a-f:.]*/gi, '<id>')
  .replace(/(token|auth|CHANNEL_ID|clientId)=[^&\s"]*/g, '$1=<redacted>');

// ---- REST: one transport for both clients --------------------------------------------------------

// restCall posts a REST call to the portal this page comes from, with the app's access token.
async function restCall(auth, method, params) {
  const resp = await fetch(`/rest/${method}.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...(params || {}), auth }),
  });
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  if (method === 'pull.application.config.get' && body && body.result) configs.push(JSON.stringify(body.result));
  return { status: resp.status, body };
}

// FakeB24 is the smallest `b24` the official client accepts: actions.v2.call.make answering
// getData(), errors rejected as {status, ex} as the SDK's HTTP layer rejects them.
class FakeB24 {
  constructor(auth) {
    const make = async ({ method, params }) => {
      const { status, body } = await restCall(auth, method, params);
      if (status >= 400 || body === null || body.error) {
        const ex = body && body.error
          ? { error: body.error, error_description: body.error_description || '' }
          : { error: 'ERROR_UNEXPECTED_ANSWER', error_description: `HTTP ${status}` };
        throw { status, ex };
      }
      return { getData: () => body, isSuccess: true };
    };
    this.actions = { v2: { call: { make } } };
  }
}

// restFunction is b24pull's rest option over the same transport: the whole answer, {result} or
// {error, error_description}.
function restFunction(auth) {
  return async (method, params) => {
    const { status, body } = await restCall(auth, method, params);
    if (body === null) throw new Error(`HTTP ${status}`);
    return body;
  };
}

// officialLogger implements the SDK's LoggerInterface: warnings and errors go to the console,
// redacted, the rest nowhere.
function officialLogger() {
  const logger = {};
  for (const level of ['log', 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    logger[level] = (message, context) => {
      if (level === 'warning' || level === 'error' || level === 'critical' || level === 'alert' || level === 'emergency') {
        const detail = context && context.error ? ` ${redact(context.error.message || JSON.stringify(context.error.ex || context.error))}` : '';
        console.warn(`official ${level}: ${redact(message)}${detail}`);
      }
      return Promise.resolve();
    };
  }
  return logger;
}

// ---- recording ----------------------------------------------------------------------------------

// The handler objects of both clients, to tell whether a method ran with its handler as `this`.
const handlerObjects = new WeakSet();

// identify fills in command and n of an entry from the arguments of a callback of the given shape:
// 'message' ({command, params, extra}, info), 'command' (params, extra, command, info) and handler
// methods (params, extra, command); other shapes carry no message.
function identify(entry, shape, args) {
  let command;
  let params;
  if (shape === 'message') {
    command = args[0] && args[0].command;
    params = args[0] && args[0].params;
  } else if (shape === 'command' || shape === 'handler') {
    [params, , command] = args;
  } else {
    return;
  }
  if (typeof command === 'string') entry.command = command;
  if (params && typeof params === 'object') {
    if (params.n !== undefined) entry.n = params.n;
    if (typeof params.to === 'string') entry.to = params.to;
  }
}

function record(client, stream, shape, args, self) {
  const entry = { stream, args: copy(Array.from(args)) };
  if (shape === 'handler') entry.self = self;
  identify(entry, shape, args);
  logs[client].push(entry);
}

// callback returns a function that records its calls as stream.
function callback(client, stream, shape) {
  return (...args) => record(client, stream, shape, args);
}

// The handler objects: class instances, as the official client requires.
class Handler {
  constructor(client, name) {
    this.client = client;
    this.name = name;
    handlerObjects.add(this);
  }

  note(method, args, self) {
    record(this.client, `${this.name}.${method}`, 'handler', args, handlerObjects.has(self) && self === this);
  }
}

// MappedHandler maps alpha to a method name, beta to a function and delta to a method that does not
// exist; gammaFallback is not in the map: handleGammaFallback takes it. handleAlpha must never run,
// the map's onAlpha wins.
class MappedHandler extends Handler {
  getModuleId() { return APP; }

  getMap() {
    const handler = this;
    return {
      alpha: 'onAlpha',
      beta: function beta(...args) { handler.note('beta', args, this); },
      delta: 'noSuchMethod',
    };
  }

  onAlpha(...args) { this.note('onAlpha', args, this); }

  handleAlpha(...args) { this.note('handleAlpha', args, this); }

  handleGammaFallback(...args) { this.note('handleGammaFallback', args, this); }

  handleDelta(...args) { this.note('handleDelta', args, this); }
}

// BareHandler has no getMap: every command goes to handle<Command>.
class BareHandler extends Handler {
  getModuleId() { return APP; }

  handleAlpha(...args) { this.note('handleAlpha', args, this); }

  handleBeta(...args) { this.note('handleBeta', args, this); }
}

// UpperHandler names the module in another case.
class UpperHandler extends Handler {
  getModuleId() { return 'Application'; }

  handleAlpha(...args) { this.note('handleAlpha', args, this); }
}

// ClientHandler takes client messages; its map is empty, so handle<Command> takes everything.
class ClientHandler extends Handler {
  getModuleId() { return APP; }

  getSubscriptionType() { return 'client'; }

  getMap() { return {}; }

  handleDiffClient(...args) { this.note('handleDiffClient', args, this); }
}

// OnlineHandler takes online messages.
class OnlineHandler extends Handler {
  getModuleId() { return 'online'; }

  getSubscriptionType() { return 'online'; }

  handleDiffOnline(...args) { this.note('handleDiffOnline', args, this); }
}

// InstanceSubscription is a subscription ({moduleId, callback}) that is a class instance, not a
// plain object.
class InstanceSubscription {
  constructor(client) {
    this.moduleId = 'probe.instance';
    this.callback = callback(client, 'instance', 'message');
  }
}

// subscribeAll makes the subscriptions of one client; both clients get the same list, in the same
// order. Modules named probe.* are published by the Go side to show one behaviour each.
function subscribeAll(pull, client) {
  const sub = (name, params) => {
    try {
      const off = pull.subscribe(params);
      logs[client].push({ stream: `subscribe:${name}`, args: ['ok'] });
      return typeof off === 'function' ? off : () => {};
    } catch (err) {
      logs[client].push({ stream: `subscribe:${name}`, args: [{ threw: err && err.name }] });
      return () => {};
    }
  };
  const cb = (stream, shape) => callback(client, stream, shape);

  // Server messages of the app's module: whole-module and command subscriptions, the module id in
  // lower case and in others, and module "pull", whose system commands reach no subscriber.
  sub('srv.all', { moduleId: APP, callback: cb('srv.all', 'message') });
  sub('srv.cmd.alpha', { moduleId: APP, command: 'alpha', callback: cb('srv.cmd.alpha', 'command') });
  sub('srv.typed.beta', { type: 'server', moduleId: APP, command: 'beta', callback: cb('srv.typed.beta', 'command') });
  sub('srv.all.Upper', { moduleId: 'Application', callback: cb('srv.all.Upper', 'message') });
  sub('srv.cmd.Upper.alpha', { moduleId: 'APPLICATION', command: 'alpha', callback: cb('srv.cmd.Upper.alpha', 'command') });
  sub('srv.pull', { moduleId: 'pull', callback: cb('srv.pull', 'message') });
  sub('mapped', new MappedHandler(client, 'mapped'));
  sub('bare', new BareHandler(client, 'bare'));
  sub('upperHandler', new UpperHandler(client, 'upperHandler'));

  // Client messages (published by a client: versions 4 and 5).
  sub('cli.all', { type: 'client', moduleId: APP, callback: cb('cli.all', 'message') });
  sub('cli.cmd.diffClient', { type: 'client', moduleId: APP, command: 'diffClient', callback: cb('cli.cmd.diffClient', 'command') });
  sub('cli.all.Upper', { type: 'client', moduleId: 'Application', callback: cb('cli.all.Upper', 'message') });
  sub('clientHandler', new ClientHandler(client, 'clientHandler'));

  // Online messages: with and without a command (which is no filter), and a handler.
  sub('online.all', { type: 'online', callback: cb('online.all', 'message') });
  sub('online.cmd', { type: 'online', command: 'diffOnline', callback: cb('online.cmd', 'message') });
  sub('onlineHandler', new OnlineHandler(client, 'onlineHandler'));

  // Status, revision and b24pull's retry.
  sub('status', { type: 'status', callback: cb('status', 'other') });
  sub('revision', { type: 'revision', callback: cb('revision', 'other') });
  sub('retry', { type: 'retry', callback: cb('retry', 'other') });

  // probe.mutate: the first subscriber changes params and extra; what do the later ones see?
  sub('mutate.first', {
    moduleId: 'probe.mutate',
    callback(message, info) {
      record(client, 'mutate.first', 'message', [message, info]);
      message.params.changed = true;
      message.extra.changed = true;
    },
  });
  sub('mutate.second', { moduleId: 'probe.mutate', callback: cb('mutate.second', 'message') });
  sub('mutate.cmd', { moduleId: 'probe.mutate', command: 'change', callback: cb('mutate.cmd', 'command') });

  // probe.throw: the first subscriber throws; are the later ones called?
  sub('throw.first', {
    moduleId: 'probe.throw',
    callback(message, info) {
      record(client, 'throw.first', 'message', [message, info]);
      throw new Error('probe: a subscriber that throws');
    },
  });
  sub('throw.second', { moduleId: 'probe.throw', callback: cb('throw.second', 'message') });
  sub('throw.cmd', { moduleId: 'probe.throw', command: 'boom', callback: cb('throw.cmd', 'command') });

  // probe.unsub: on command "cut" the first subscriber unsubscribes the second.
  let offSecond = () => {};
  sub('unsub.first', {
    moduleId: 'probe.unsub',
    callback(message, info) {
      record(client, 'unsub.first', 'message', [message, info]);
      if (message.command === 'cut') offSecond();
    },
  });
  offSecond = sub('unsub.second', { moduleId: 'probe.unsub', callback: cb('unsub.second', 'message') });

  // probe.twice: one function subscribed twice, then one of the two subscriptions undone.
  const twice = cb('twice', 'message');
  const offFirst = sub('twice.1', { moduleId: 'probe.twice', callback: twice });
  sub('twice.2', { moduleId: 'probe.twice', callback: twice });
  offFirst();

  // probe.plain: a handler that is a plain object; probe.instance: a subscription that is a class
  // instance.
  const plain = {
    getModuleId: () => 'probe.plain',
    handleHello(...args) { record(client, 'plain.handleHello', 'handler', args, this === plain); },
  };
  sub('plain', plain);
  sub('instance', new InstanceSubscription(client));

  // Mistakes: an unknown type, a subscription without a callback.
  sub('bogusType', { type: 'bogus', callback: cb('bogusType', 'other') });
  sub('noCallback', { moduleId: 'probe.nocb' });
}

// ---- the clients --------------------------------------------------------------------------------

// settle runs one call and describes how it ended: {ok, type, value} or {ok: false, error}.
async function settle(run) {
  try {
    const value = await run();
    return { ok: true, type: typeof value, value: value === undefined ? null : copy(value) };
  } catch (e) {
    if (e instanceof Error) return { ok: false, error: { name: e.name, code: e.code, message: redact(e.message) } };
    let json;
    try {
      json = JSON.parse(redact(JSON.stringify(e)));
    } catch {
      json = redact(String(e));
    }
    return { ok: false, error: { kind: typeof e, json } };
  }
}

// statusWatchers keeps one callback per client and watched user, so that the same function can be
// handed back to unsubscribeUserStatusChange.
const statusWatchers = { official: new Map(), b24pull: new Map() };

window.diff = {
  // start creates both clients for the user of auth, subscribes them and starts them together.
  // b24pull takes the timing given (its protocol's delays, shortened where the official client's are
  // short); it keeps no resume point, so that nothing of one run reaches another.
  async start({ auth, userId, timing }) {
    const official = new B24PullClientManager({
      b24: new FakeB24(auth),
      restApplication: 'b24pull_differential',
      userId,
      // No localStorage: the SDK would cache the config there, secrets included.
      skipStorageInit: true,
    });
    official.setLogger(officialLogger());
    clients.official = official;
    const b24pull = await createPullClient({ rest: restFunction(auth), debug: true, timing, resumeKey: null });
    clients.b24pull = b24pull;
    subscribeAll(official, 'official');
    subscribeAll(b24pull, 'b24pull');
    const [a, b] = await Promise.all([settle(() => official.start()), settle(() => b24pull.start())]);
    return { official: a, b24pull: b };
  },

  logs: () => logs,
  configs: () => configs,

  // state tells, per client, whether it is connected and its status.
  state() {
    const out = {};
    for (const [name, pull] of Object.entries(clients)) {
      out[name] = pull ? { connected: pull.isConnected(), status: pull.status } : { connected: false, status: '' };
    }
    return out;
  },

  // seen tells whether both clients recorded a call of stream for the message numbered n.
  seen(stream, n) {
    return Object.values(logs).every((log) => log.some((e) => e.stream === stream && e.n === n));
  },

  // count counts the calls of stream in a client's log.
  count(client, stream) {
    return logs[client].filter((e) => e.stream === stream).length;
  },

  // sendClient publishes {n, to: 'user'} as command diffClient from one client: to users, or
  // (official client, version 4) to the public id of its own private channel, which is this app's
  // channel of the user and therefore reaches both clients. expiry keeps it for a receiver that is
  // reconnecting.
  sendClient({ from, to, moduleId, n, expiry }) {
    const pull = clients[from];
    return settle(() => {
      if (to === 'ownChannel') {
        const config = pull.getConfig();
        const own = config && config.channels && config.channels.private && config.channels.private.public_id;
        if (!own) throw new Error('the config has no channels.private.public_id');
        return pull.sendMessageToChannels([own], moduleId, 'diffClient', { n, to: 'user' }, expiry);
      }
      return pull.sendMessage(to, moduleId, 'diffClient', { n, to: 'user' }, expiry);
    });
  },

  // network tells both clients what the browser would: the window's offline or online event.
  network(online) {
    window.dispatchEvent(new Event(online ? 'online' : 'offline'));
  },

  // watchStatus subscribes both clients to userId's status changes (version 5); the calls are
  // recorded as stream userStatus.<userId>.
  watchStatus(userId) {
    return Promise.all(Object.entries(clients).map(([name, pull]) => {
      let cb = statusWatchers[name].get(userId);
      if (!cb) {
        cb = callback(name, `userStatus.${userId}`, 'other');
        statusWatchers[name].set(userId, cb);
      }
      return settle(() => pull.subscribeUserStatusChange(userId, cb));
    }));
  },

  // finish stops both clients: destroy() for each, so that nothing of them outlives the test.
  async finish() {
    const out = {};
    for (const [name, pull] of Object.entries(clients)) {
      out[name] = pull ? await settle(() => pull.destroy()) : null;
    }
    return out;
  },
};
window.diffReady = true;

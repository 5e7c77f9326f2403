// publish.js drives client publishing and the presence calls of the page's client (module.js makes
// it, mt.client() hands it over) for e2e/publish_test.go, through window.pt:
//   pt.listen()             subscribes to the `client` messages of module e2e_pub (before start())
//   pt.received()           what arrived: the n of each message by command, and the shape checks
//   pt.burst(tag, spec)     starts publishing spec.count messages, one every spec.spacing ms
//   pt.progress(tag)        how many of a burst were handed to the client, and how many settled
//   pt.outcomes(tag)        how each call of a burst settled
//   pt.outcome(fn)          how fn(client) settled: resolved, rejected (with its code) or threw
//   pt.presence(ids)        ping, listChannels and getUsersLastSeen(ids), summarised
//   pt.watchStatus(id)      subscribeUserStatusChange(id); pt.statusEvents() lists what it got
// Public channels ("<publicId>.<signature>") stay in the page under a name (pt.setChannel,
// pt.appPublicChannel, pt.ownPublicChannel): what goes back to the test is never one of them, except
// ownPublicChannel, whose answer the test hands to another tab and never prints.

const ptModule = 'e2e_pub';

const state = {
  got: [], // {command, n, senderType, senderID, infoType, infoModule}
  asServer: 0, // messages of ptModule that reached a server subscriber (must stay 0)
  commandCalls: [], // calls of the command subscriber: argc, command, n, info type
  runs: {},
  channels: {},
  statusEvents: [],
  statusCallbacks: {},
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rejection(err) {
  return {
    settled: 'rejected',
    isError: err instanceof Error,
    code: err && err.code,
    description: (err && err.description) || '',
  };
}

// describe sums up what a call resolved with, without copying it (a v5 answer is the server's).
function describe(value) {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function restCall(method, params) {
  return new Promise((resolve) => globalThis.BX24.callMethod(method, params, resolve));
}

const pt = {
  listen() {
    const client = mt.client();
    client.subscribe({
      type: 'client',
      moduleId: ptModule,
      callback(message, info) {
        const sender = (message.extra && message.extra.sender) || {};
        state.got.push({
          command: message.command,
          n: message.params ? message.params.n : undefined,
          senderType: sender.type,
          senderID: sender.id === undefined ? '' : String(sender.id),
          infoType: info && info.type,
          infoModule: info && info.moduleId,
        });
      },
    });
    client.subscribe({
      type: 'client',
      moduleId: 'E2E_PUB', // matched without regard to case
      command: 'to_channel',
      callback(...args) {
        const [params, , command, info] = args;
        state.commandCalls.push({ argc: args.length, command, n: params && params.n, infoType: info && info.type });
      },
    });
    client.subscribe({ moduleId: ptModule, callback() { state.asServer++; } });
  },

  received() {
    const byCommand = {};
    const senderTypes = new Set();
    const senderIDs = new Set();
    let badInfo = 0;
    for (const g of state.got) {
      (byCommand[g.command] ||= []).push(g.n);
      senderTypes.add(g.senderType);
      senderIDs.add(g.senderID);
      if (g.infoType !== 'client' || g.infoModule !== ptModule) badInfo++;
    }
    return {
      byCommand,
      senderTypes: [...senderTypes],
      senderIDs: [...senderIDs],
      badInfo,
      asServer: state.asServer,
      commandCalls: state.commandCalls,
    };
  },

  // burst publishes spec.count messages {n: 1…count} of spec.command, one every spec.spacing ms,
  // without waiting for the previous one to settle: to spec.users with sendMessage, or to the page's
  // channel named spec.channel with sendMessageToChannels (odd n as the string, even n as
  // {publicId, signature}). spec.expiry is passed as given.
  burst(tag, spec) {
    const client = mt.client();
    const run = { sent: 0, settled: 0, outcomes: [] };
    state.runs[tag] = run;
    const one = (n) => {
      const params = { n };
      if (spec.users) return client.sendMessage(spec.users, ptModule, spec.command, params, spec.expiry);
      const channel = state.channels[spec.channel];
      let ref = channel;
      if (n % 2 === 0) {
        const dot = channel.indexOf('.');
        ref = { publicId: channel.slice(0, dot), signature: channel.slice(dot + 1) };
      }
      return client.sendMessageToChannels([ref], ptModule, spec.command, params, spec.expiry);
    };
    (async () => {
      for (let n = 1; n <= spec.count; n++) {
        const started = performance.now();
        const settle = (outcome) => {
          run.outcomes.push({ n, ms: Math.round(performance.now() - started), ...outcome });
          run.settled++;
        };
        try {
          one(n).then(
            (value) => settle({ settled: 'resolved', value: describe(value) }),
            (err) => settle(rejection(err)),
          );
        } catch (err) {
          settle({ ...rejection(err), settled: 'threw' });
        }
        run.sent++;
        if (n < spec.count) await sleep(spec.spacing);
      }
    })();
  },
  progress: (tag) => ({ sent: state.runs[tag].sent, settled: state.runs[tag].settled }),
  outcomes: (tag) => state.runs[tag].outcomes.slice().sort((a, b) => a.n - b.n),

  // outcome runs fn(client) and reports how it settled, with what it resolved with (only for calls
  // whose answer holds no secret); a synchronous throw is reported as 'threw'.
  async outcome(fn) {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    let promise;
    try {
      promise = fn(mt.client());
    } catch (err) {
      return { ...rejection(err), settled: 'threw', ms: ms() };
    }
    if (!promise || typeof promise.then !== 'function') return { settled: 'returned', value: describe(promise), ms: ms() };
    try {
      const value = await promise;
      return {
        settled: 'resolved',
        value: describe(value),
        result: value === undefined ? null : JSON.parse(JSON.stringify(value)),
        ms: ms(),
      };
    } catch (err) {
      return { ...rejection(err), ms: ms() };
    }
  },

  // ---- public channels, kept in the page ----

  setChannel(name, value) { state.channels[name] = value; },
  // heldChannels lists the channels the page holds, for the test's secrets check only.
  heldChannels: () => Object.values(state.channels),
  sameChannel: (a, b) => typeof state.channels[a] === 'string' && state.channels[a] === state.channels[b],
  // ownPublicChannel is the config's channels.private.public_id (version 4): the app channel this
  // tab reads, as the page can hand it to another user's tab.
  async ownPublicChannel() {
    const config = await mt.client().getConfig();
    const priv = config && config.channels && config.channels.private;
    return (priv && priv.public_id) || '';
  },
  // appPublicChannel asks the portal for the app channel of user (pull.channel.public.list with
  // APPLICATION=Y) and keeps it as name; it reports only whether that worked.
  async appPublicChannel(name, user) {
    const result = await restCall('pull.channel.public.list', { USERS: [user], APPLICATION: 'Y' });
    if (result.error()) return { ok: false, error: String(result.error()) };
    const entry = (result.data() || {})[String(user)];
    if (!entry || !entry.public_id || !entry.signature) return { ok: false, error: 'no entry for the user' };
    state.channels[name] = `${entry.public_id}.${entry.signature}`;
    return { ok: true };
  },

  // ---- presence (version 5) ----

  async presence(ids) {
    const client = mt.client();
    const out = {};
    try {
      out.ping = { settled: 'resolved', value: describe(await client.ping(3)) };
    } catch (err) {
      out.ping = rejection(err);
    }
    try {
      // The ids of the channels are secrets: only their number and types leave the page.
      const list = await client.listChannels();
      const channels = (list && Array.isArray(list.channels)) ? list.channels : null;
      out.listChannels = {
        settled: 'resolved',
        value: describe(list),
        count: channels ? channels.length : -1,
        types: channels ? channels.map((c) => c.type) : [],
      };
    } catch (err) {
      out.listChannels = rejection(err);
    }
    try {
      out.lastSeen = { settled: 'resolved', result: await client.getUsersLastSeen(ids) };
    } catch (err) {
      out.lastSeen = rejection(err);
    }
    return out;
  },

  async watchStatus(userId) {
    const callback = (event) => state.statusEvents.push(JSON.parse(JSON.stringify(event)));
    state.statusCallbacks[userId] = callback;
    await mt.client().subscribeUserStatusChange(userId, callback);
  },
  async unwatchStatus(userId) {
    await mt.client().unsubscribeUserStatusChange(userId, state.statusCallbacks[userId]);
    delete state.statusCallbacks[userId];
  },
  statusEvents: () => state.statusEvents,
};

window.pt = pt;

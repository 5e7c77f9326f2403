// A stand-in for the Go client object (what __b24pull.newClient returns), for the test pages that
// check the wrapper alone: it records every call and answers as the bridge's contract says
// (bridge/api_js.go newClient). installFake() makes createPullClient build clients over it.
import { createPullClient } from '../b24pull.mjs';

// A config result object in the portal's shape (docs/protocol.md §2.3), with made-up ids.
export const CONFIG = {
  server: {
    version: 4, server_enabled: true, mode: 'personal', websocket_enabled: true,
    websocket_secure: 'wss://portal.example.test/bitrix/subws/', publish_enabled: true,
    publish_secure: 'https://portal.example.test/bitrix/pubweb/', config_timestamp: 1747000000,
  },
  api: { revision_web: 19, revision_mobile: 3 },
  channels: {
    private: {
      id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562',
      public_id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0.38cdc8da33eb1639e59ace48b468e17fe48b8746',
      start: '2025-05-14T09:30:00+02:00', end: '2025-05-14T21:30:05+02:00', type: 'private',
    },
    shared: {
      id: '5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e',
      start: '2025-05-14T09:30:00+02:00', end: '2025-05-14T21:30:05+02:00', type: 'shared',
    },
  },
  publicChannels: {
    7: {
      user_id: 7, public_id: '9e107d9d372bb6826bd81d3542a419d6', signature: '5556aaa079ea8105050d4d68b5f921968c8e53a2',
      start: '2025-05-14T09:30:00+02:00', end: '2025-05-14T21:30:05+02:00',
    },
  },
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg',
};

// SECRETS are the strings of CONFIG no log line and no storage may hold.
export const SECRETS = [
  'a1b2c3d4e5f60718293a4b5c6d7e8f90', '0f1e2d3c4b5a69788796a5b4c3d2e1f0', '58ed701edf98cdbba959bbf4d595a03e19fd8562',
  '38cdc8da33eb1639e59ace48b468e17fe48b8746', '5d41402abc4b2a76b9719d911017c592', '0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e',
  '9e107d9d372bb6826bd81d3542a419d6', '5556aaa079ea8105050d4d68b5f921968c8e53a2', 'c2lnbmF0dXJlLW9mLXRoZS10b2tlbg',
];

// FACTS are what the fake's facts() answers once it has a config.
export const FACTS = {
  serverVersion: 4, serverMode: 'personal', revision: 19, jsonRpc: false, sharedMode: false,
  webSocketEnabled: true, webSocketAllowed: true, connected: true,
  connectionPath: `wss://portal.example.test/bitrix/subws/?CHANNEL_ID=${CONFIG.channels.private.id}/${CONFIG.channels.shared.id}&binaryMode=true&revision=19`,
  publicationPath: `https://portal.example.test/bitrix/pubweb/?CHANNEL_ID=${CONFIG.channels.private.id}/${CONFIG.channels.shared.id}`,
};

// fakeInner builds one stand-in; state.calls records [name, ...args] of every call but the getters
// listed in QUIET, which are counted in state.reads.
const QUIET = new Set(['getStatus', 'getStats', 'facts', 'configValue']);

export function fakeInner(goOptions, state) {
  const answer = (name, value) => (...args) => {
    if (QUIET.has(name)) state.reads[name] = (state.reads[name] || 0) + 1;
    else state.calls.push([name, ...args]);
    return typeof value === 'function' ? value(...args) : value;
  };
  const resolved = (value) => () => Promise.resolve(value);
  return {
    loadConfig: answer('loadConfig', resolved(CONFIG)),
    configValue: answer('configValue', () => (state.config ? JSON.parse(JSON.stringify(state.config)) : null)),
    facts: answer('facts', () => ({ ...state.facts })),
    start: answer('start', () => (state.startError ? Promise.reject(state.startError) : Promise.resolve(true))),
    stop: answer('stop', resolved(undefined)),
    restart: answer('restart', resolved(undefined)),
    reconnect: answer('reconnect', resolved(undefined)),
    setLastMessageId: answer('setLastMessageId', undefined),
    network: answer('network', undefined),
    destroy: answer('destroy', resolved(undefined)),
    getStatus: answer('getStatus', () => state.status),
    getStats: answer('getStats', () => ({ lastMid: state.lastMid, status: state.status })),
    getDebugInfo: answer('getDebugInfo', () => ({})),
    sendMessage: answer('sendMessage', resolved(undefined)),
    sendMessageToChannels: answer('sendMessageToChannels', resolved(undefined)),
    isPublishingEnabled: answer('isPublishingEnabled', false),
    isPublishingSupported: answer('isPublishingSupported', false),
    getUsersLastSeen: answer('getUsersLastSeen', resolved({})),
    listChannels: answer('listChannels', resolved([])),
    ping: answer('ping', resolved(undefined)),
    subscribeUserStatusChange: answer('subscribeUserStatusChange', resolved(undefined)),
    unsubscribeUserStatusChange: answer('unsubscribeUserStatusChange', resolved(undefined)),
  };
}

// fakeClient creates a client over a fresh stand-in and returns it with the stand-in's state: the
// calls, the options the wrapper gave (onBatch, onLog, …) and knobs (status, lastMid, config, facts,
// startError) a test may set.
export async function fakeClient(options = {}) {
  const rest = () => Promise.resolve({ result: {} });
  // The first client loads the runtime; its own newClient is then swapped for the stand-in's.
  if (!globalThis.__b24pull) await (await createPullClient({ rest, prefetchConfig: false })).destroy();
  const api = globalThis.__b24pull;
  const original = api.newClient;
  const state = {
    calls: [], reads: {}, goOptions: null, status: 'offline', lastMid: '', config: null,
    facts: {
      serverVersion: 0, serverMode: null, revision: null, jsonRpc: false, sharedMode: false,
      webSocketEnabled: false, webSocketAllowed: false, connected: false, connectionPath: '', publicationPath: '',
    },
    startError: null,
  };
  api.newClient = (goOptions) => {
    state.goOptions = goOptions;
    return fakeInner(goOptions, state);
  };
  try {
    const pull = await createPullClient({ rest, prefetchConfig: false, ...options });
    const batch = (events) => state.goOptions.onBatch(JSON.stringify(events));
    return { pull, state, batch };
  } finally {
    api.newClient = original;
  }
}

// trackListeners counts the window listeners added and not removed, by event type.
export function trackListeners() {
  const live = new Map();
  const add = globalThis.addEventListener;
  const remove = globalThis.removeEventListener;
  globalThis.addEventListener = function tracked(type, fn, ...rest) {
    if (!live.has(type)) live.set(type, new Set());
    live.get(type).add(fn);
    return add.call(this, type, fn, ...rest);
  };
  globalThis.removeEventListener = function untracked(type, fn, ...rest) {
    if (live.has(type)) live.get(type).delete(fn);
    return remove.call(this, type, fn, ...rest);
  };
  return {
    count: (type) => (live.has(type) ? live.get(type).size : 0),
    counts: (...types) => types.map((type) => (live.has(type) ? live.get(type).size : 0)),
  };
}

// recordingLogger is a LoggerInterface that records [level, message, context] lines.
export function recordingLogger() {
  const lines = [];
  const logger = { lines };
  for (const level of ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    logger[level] = (message, context) => {
      lines.push([level, message, context]);
      return Promise.resolve();
    };
  }
  logger.log = (level, message, context) => {
    lines.push([level, message, context]);
    return Promise.resolve();
  };
  return logger;
}

// Typings of b24pull (b24pull.mjs, and globalThis.B24Pull from the classic script b24pull.js).

/** Codes of errors raised by b24pull itself; Bitrix REST codes (WRONG_AUTH_TYPE, …) pass through. */
export type PullErrorCode =
  | 'LOAD_FAILED' // b24pull.wasm could not be fetched, compiled or started (the message names the URL and the fix)
  | 'CRASHED' // the Go runtime exited; every call of every client rejects with this
  | 'DESTROYED' // the client was destroyed
  | 'STOPPED' // stop() or destroy() ended start() before the client went online
  | 'TIMEOUT' // a REST call, or the server's answer to a publish or a call, ran out of time
  | 'NOT_CONNECTED' // not started, or no connection opened within sendTimeout: the message was not sent
  | 'CONNECTION_LOST' // the connection closed after the message was sent and before the server's answer: it may or may not have been delivered
  | 'PUBLISHING_UNAVAILABLE' // server version 3, long polling, or publish_enabled false in version 4
  | 'JSON_RPC_REQUIRED' // presence calls need server version 5 (JSON-RPC)
  | 'NO_PUBLIC_ID' // the portal gave no public channel for a user
  | 'RPC_ERROR' // the server answered with a JSON-RPC error (see rpcCode)
  | 'CANCELED' // the wait was abandoned because its owner stopped
  | 'INVALID_ARGUMENT' // an unusable option (rest of the wrong kind, no BX24 loaded)
  | 'REST_FAILED' // the REST library threw, failed without a Bitrix code, or answered nonsense
  | 'FAILED' // any other failure (the message says which)
  | 'INTERNAL'; // a bug in b24pull

/** Every rejection of b24pull is a real Error with a code and a description. */
export interface PullError extends Error {
  /** One of PullErrorCode, or a Bitrix REST error code such as 'WRONG_AUTH_TYPE' or 'expired_token'. */
  code: PullErrorCode | (string & {});
  description: string;
  /** The HTTP status of a Bitrix REST error, when known. */
  status?: number;
  /** The JSON-RPC error code of an RPC_ERROR (-32602 invalid params, …). */
  rpcCode?: number;
}

/** The classic BX24 library (api.bitrix24.com/api/v1/), as far as b24pull uses it. */
export interface BX24Like {
  init?(callback: () => void): void;
  callMethod(method: string, params: object, callback: (result: unknown) => void): unknown;
  refreshAuth?(callback: (auth: object | false) => void): void;
}

/** A b24jssdk B24Frame, as far as b24pull uses it. */
export interface B24FrameLike {
  auth: { refreshAuth(): Promise<unknown> };
  actions?: { v2: { call: { make(options: { method: string; params: object }): Promise<unknown> } } };
  callMethod?(method: string, params: object): Promise<unknown>;
}

/** A function calling a REST method; it resolves with the whole answer {result: …}. */
export type RestFunction = (method: string, params: Record<string, unknown>) => unknown | Promise<unknown>;

export interface PullClientOptions {
  /** How REST is called. Default: globalThis.BX24. */
  rest?: BX24Like | B24FrameLike | RestFunction;
  /**
   * URL of b24pull.wasm, absolute or relative to the page. Default: the package's own, where the
   * bundler emitted it (or next to b24pull.js). Only the first load of the page uses it.
   */
  wasmUrl?: string | URL;
  /** Print the client's log lines (secrets removed) with console.debug, and subscriber errors. */
  debug?: boolean;
  /** Pick the *_secure URLs of the config. Default: true when the page is served over https. */
  secure?: boolean;
  /** Use long polling only. */
  disableWebSocket?: boolean;
  /** Time limit of one REST attempt, in milliseconds. Default: 30000. */
  restTimeout?: number;
  /**
   * How long a publish or a presence call made while no connection is open waits for one, in
   * milliseconds, before it rejects with NOT_CONNECTED (never sent). Default: 10000.
   */
  sendTimeout?: number;
  /**
   * Start pull.application.config.get ({CACHE: 'N'}) through `rest` as soon as createPullClient is
   * called, while the module loads, so that start() finds the config already there. The first config
   * load of the client uses that answer when start() comes within 30 seconds; a failed answer gets
   * the same token refresh and retries as the client's own call, and an unused one is dropped
   * (destroy() drops it at once). Nothing of it is ever thrown or logged. Default: true.
   */
  prefetchConfig?: boolean;
  /**
   * Overrides of the protocol's delays, in milliseconds (tests and demos shorten them). Unknown keys
   * and values of the wrong shape make createPullClient throw an Error with code INVALID_ARGUMENT.
   */
  timing?: PullTiming;
}

/** Delays of the session, in milliseconds; every key is optional. */
export interface PullTiming {
  /** Reconnect delay by attempt: 0, 1–2, 3–4, 5–9, 10 and more (plus 0–20 % jitter). Default [500, 5000, 25000, 45000, 60000]. */
  backoff?: [number, number, number, number, number];
  /** Random delay range after config_expire and server_restart. Default [10000, 120000]. */
  restartDelay?: [number, number];
  /** Random delay range before reloading the config after close code 4010. Default [6000, 35000]. */
  wrongChannelDelay?: [number, number];
  /** Random delay range after the earliest channel expiry before reloading the config. Default [1000, 5000]. */
  renewJitter?: [number, number];
  /** Delays before asking again for a config whose channels are still expired. Default [5000, 15000, 30000, 60000]. */
  renewRetry?: number[];
  /** Delay before reconnecting with the channel from channel_expire. Default 1000. */
  channelExpireReconnect?: number;
  /** How long "offline" waits before it is reported. Default 5000. */
  offlineDebounce?: number;
  /** JSON-RPC: longest silence between server pings, and before the first one. Defaults 20000 and 40000. */
  pingTimeout?: number;
  firstPingTimeout?: number;
  /** How long long polling is used before websocket is tried again. Default 1800000. */
  restoreWebSocket?: number;
  /** How long a pending long-polling request takes to count as online. Default 5000. */
  longPollOpen?: number;
  /** How long start() waits to be online. Default 60000. */
  startTimeout?: number;
  /** Period of the backstop expiry check. Default 60000. */
  safetyTick?: number;
  /** Age under which a connection closing before any message counts as refused. Default 1000. */
  shortLived?: number;
}

export type PullStatus = 'online' | 'offline' | 'connect';
export type SubscriptionType = 'server' | 'client' | 'online' | 'status' | 'revision';

/** What arrives with a message; see the Push & Pull documentation for the fields of extra. */
export interface PullExtra {
  server_time?: string;
  server_time_unix?: number;
  server_time_ago?: number;
  server_name?: string;
  revision_web?: number;
  revision_mobile?: number;
  sender?: { type: number; id?: string | number };
  [key: string]: unknown;
}

/** A message of a module. Subscribers of the same message share these objects: treat them as read-only. */
export interface PullMessage<P = Record<string, unknown>> {
  command: string;
  params: P;
  extra: PullExtra;
}

export interface ModuleInfo {
  type: 'server' | 'client';
  moduleId: string;
}

/** server/client subscription to one command: callback(params, extra, command, info). */
export interface CommandSubscription<P = Record<string, unknown>> {
  type?: 'server' | 'client';
  /** Matched without regard to case (module ids arrive lower-cased). */
  moduleId: string;
  command: string;
  callback: (params: P, extra: PullExtra, command: string, info: ModuleInfo) => void;
}

/** server/client subscription to every command of a module: callback({command, params, extra}, info). */
export interface ModuleSubscription {
  type?: 'server' | 'client';
  /** Matched without regard to case (module ids arrive lower-cased). */
  moduleId: string;
  command?: undefined;
  callback: (message: PullMessage, info: ModuleInfo) => void;
}

export interface OnlineSubscription {
  type: 'online';
  command?: string;
  callback: (message: PullMessage, info: { type: 'online' }) => void;
}

export interface StatusSubscription {
  type: 'status';
  callback: (event: { status: PullStatus }, info: { type: 'status' }) => void;
}

export interface RevisionSubscription {
  type: 'revision';
  callback: (event: { server: number; client: number }, info: { type: 'revision' }) => void;
}

export type SubscribeParams =
  | CommandSubscription
  | ModuleSubscription
  | OnlineSubscription
  | StatusSubscription
  | RevisionSubscription;

/**
 * A command handler object: getModuleId() is required; methods come from getMap() (command → function
 * or method name) or are named handle<Command>, and are called as (params, extra, command).
 */
export interface CommandHandler {
  getModuleId(): string;
  getSubscriptionType?(): 'server' | 'client' | 'online';
  getMap?(): Record<string, string | ((params: Record<string, unknown>, extra: PullExtra, command: string) => void)>;
}

/** A public channel: "<publicId>.<signature>" or the two parts. */
export type PublicChannel = string | { publicId: string; signature: string };

/** What subscribeUserStatusChange callbacks receive. */
export interface UserStatusEvent {
  userId: number;
  isOnline: boolean;
}

/** Counters of the client and of the module. */
export interface PullStats {
  messages: number;
  duplicatesSkipped: number;
  garbageFrames: number;
  frames: number;
  connects: number;
  reconnects: number;
  renewals: number;
  configLoads: number;
  staleOnline: number;
  lastMid: string;
  lastCloseCode: number;
  lastError?: string;
  status: PullStatus;
  transport: string;
  wire: string;
  /** Goroutines the client owns right now: 0 once stopped (leak checks). */
  goroutines: number;
  /** js.Func values of the whole module not yet released (leak checks). */
  jsFuncs: number;
  /** Goroutines of the whole Go program. */
  runtimeGoroutines: number;
}

export interface PullClient {
  /** Makes one pull.application.config.get call and resolves with its result (the config). */
  getConfig(options?: { cache?: boolean; reopen?: boolean }): Promise<Record<string, unknown>>;
  /** Connects; resolves with true once online, rejects with a PullError. */
  start(): Promise<true>;
  /** Disconnects and cancels every timer; resolves once the client's goroutines ended. start() may follow. */
  stop(): Promise<void>;
  /** Stops for good and releases everything; later getConfig() and start() reject with DESTROYED. */
  destroy(): Promise<void>;
  getStatus(): PullStatus;
  getStats(): PullStats;
  /** Connection facts with every secret removed. */
  getDebugInfo(): Record<string, unknown>;
  /**
   * Subscribes; returns the function that unsubscribes. Callbacks run in order, asynchronously after
   * the frame that carried them arrived; one that throws does not stop the others.
   * @throws TypeError for an unknown type, a missing callback, or a missing moduleId (server, client).
   */
  subscribe<P = Record<string, unknown>>(params: CommandSubscription<P>): () => void;
  subscribe(params: ModuleSubscription): () => void;
  subscribe(params: OnlineSubscription): () => void;
  subscribe(params: StatusSubscription): () => void;
  subscribe(params: RevisionSubscription): () => void;
  subscribe(handler: CommandHandler): () => void;

  /**
   * Publishes a message to users' instances of this app; they receive it as a `client` message with
   * extra.sender {type: 1, id}. Version 5: resolves with the server's answer to the publish call.
   * Version 4: the receivers are named by the public ids of their app channels (asked of the portal
   * with pull.channel.public.list, cached until their end), and it resolves with undefined once the
   * push server acknowledged the frame. expiry (seconds, default 0) lets the server keep the message
   * for a receiver that is reconnecting; 0 delivers it live only.
   * Made while disconnected, it waits for a connection up to sendTimeout; it is sent once.
   * Rejects with NOT_CONNECTED, CONNECTION_LOST, TIMEOUT, PUBLISHING_UNAVAILABLE, NO_PUBLIC_ID,
   * RPC_ERROR, INVALID_ARGUMENT, or the Bitrix error of the public id lookup.
   */
  sendMessage(users: number[], moduleId: string, command: string, params?: Record<string, unknown>, expiry?: number): Promise<unknown>;
  /** Publishes a message to public channels; answers as sendMessage. */
  sendMessageToChannels(publicChannels: PublicChannel[], moduleId: string, command: string, params?: Record<string, unknown>, expiry?: number): Promise<unknown>;
  /** Server version 4 or later (false before a config is loaded). */
  isPublishingSupported(): boolean;
  /** Supported, and the config's server.publish_enabled. */
  isPublishingEnabled(): boolean;
  /**
   * Seconds since each user was last connected (0: connected now); users never seen are left out.
   * The push server answers first, the portal (pull.api.user.getLastSeen) for the users it does not
   * know. Version 5 only (JSON_RPC_REQUIRED otherwise).
   */
  getUsersLastSeen(userIds: number[]): Promise<Record<number, number>>;
  /** The channels this connection reads, as the server lists them. Version 5 only. */
  listChannels(): Promise<unknown>;
  /** Asks the server for an answer within timeout seconds (default 5); rejects with TIMEOUT. Version 5 only. */
  ping(timeout?: number): Promise<unknown>;
  /**
   * Follows a user's status: callback gets {userId, isOnline} on each change. The subscription is made
   * again on every new connection. Version 5 only.
   */
  subscribeUserStatusChange(userId: number, callback: (event: UserStatusEvent) => void): Promise<void>;
  /** Drops callback; the server is told when it was the user's last one. */
  unsubscribeUserStatusChange(userId: number, callback: (event: UserStatusEvent) => void): Promise<void>;
}

/** The package version. */
export const version: string;

/** Loads the module (once per page) and creates a client. Rejects with a PullError. */
export function createPullClient(options?: PullClientOptions): Promise<PullClient>;

declare global {
  /** Set by the classic script b24pull.js. */
  // eslint-disable-next-line no-var
  var B24Pull: { createPullClient: typeof createPullClient; version: string } | undefined;
}

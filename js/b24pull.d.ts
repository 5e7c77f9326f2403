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
  /**
   * Start with logging on, as enableLogging(true) does: the default logger prints the client's lines
   * (secrets removed) and the problems (a subscriber that threw, a failed start) to the console.
   */
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
   * How long start() waits to be online, in milliseconds, config retries included; then it rejects
   * (with the last config error when the config load kept failing). Default: 60000
   * (timing.startTimeout).
   */
  startTimeout?: number;
  /**
   * The sessionStorage key under which the last message id and its time are kept when the page goes
   * away (pagehide), so that a client of the reloaded page started within
   * 20 s resumes after it and nothing sent during the reload is lost. Nothing else is ever stored.
   * Give each client of one page a key of its own; null keeps nothing. Default: 'b24pull:resume'.
   */
  resumeKey?: string | null;
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

// The runtime enums: values with the keys and values of @bitrix24/b24jssdk's enums (a numeric one also
// maps each value back to its name), and types of the same names that take the enum members and the
// plain literals alike ('online' and PullStatus.Online, also the SDK's own PullStatus.Online).

/** The connection status, as getStatus(), the status getter and status subscribers tell it. */
export declare const PullStatus: { readonly Online: 'online'; readonly Offline: 'offline'; readonly Connecting: 'connect' };
export type PullStatus = (typeof PullStatus)[keyof typeof PullStatus];

/** The official subscription types; b24pull's subscribe also takes 'retry' (RetrySubscription). */
export declare const SubscriptionType: {
  readonly Server: 'server';
  readonly Client: 'client';
  readonly Online: 'online';
  readonly Status: 'status';
  readonly Revision: 'revision';
};
export type SubscriptionType = (typeof SubscriptionType)[keyof typeof SubscriptionType];

/** extra.sender.type: 1 when another client published the message, 2 when the portal did. */
export declare const SenderType: {
  readonly Unknown: 0;
  readonly Client: 1;
  readonly Backend: 2;
  readonly [value: number]: string;
};
export type SenderType = 0 | 1 | 2;

/** Close codes; stop(), restart() and reconnect() take them. */
export declare const CloseReasons: {
  readonly NORMAL_CLOSURE: 1000;
  readonly SERVER_DIE: 1001;
  readonly CONFIG_REPLACED: 3000;
  readonly CHANNEL_EXPIRED: 3001;
  readonly SERVER_RESTARTED: 3002;
  readonly CONFIG_EXPIRED: 3003;
  readonly MANUAL: 3004;
  readonly STUCK: 3005;
  readonly WRONG_CHANNEL_ID: 4010;
  readonly [code: number]: string;
};
export type CloseReasons = 1000 | 1001 | 3000 | 3001 | 3002 | 3003 | 3004 | 3005 | 4010;

/** server.mode of the config: the portal's own push server, or Bitrix24's shared one. */
export declare const ServerMode: { readonly Shared: 'shared'; readonly Personal: 'personal' };
export type ServerMode = (typeof ServerMode)[keyof typeof ServerMode];

/** What the official getConnectionPath() takes; b24pull answers with the connection in use. */
export declare const ConnectionType: { readonly Undefined: 'undefined'; readonly WebSocket: 'webSocket'; readonly LongPolling: 'longPolling' };
export type ConnectionType = (typeof ConnectionType)[keyof typeof ConnectionType];

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

/**
 * A message of a module. Every subscriber of a message gets params and extra of its own: one may
 * change them, and no other subscriber sees the change.
 */
export interface PullMessage<P = Record<string, unknown>> {
  command: string;
  params: P;
  extra: PullExtra;
}

export interface ModuleInfo {
  type: 'server' | 'client';
  moduleId: string;
}

/**
 * server/client subscription to one command: callback(params, extra, command, info). A module's
 * command subscribers are called after its whole-module subscribers (handler objects included).
 */
export interface CommandSubscription<P = Record<string, unknown>> {
  type?: 'server' | 'client';
  /** Matched without regard to case (module ids arrive lower-cased; info.moduleId is lower case). */
  moduleId: string;
  command: string;
  callback: (params: P, extra: PullExtra, command: string, info: ModuleInfo) => void;
}

/** server/client subscription to every command of a module: callback({command, params, extra}, info). */
export interface ModuleSubscription {
  type?: 'server' | 'client';
  /** Matched without regard to case (module ids arrive lower-cased; info.moduleId is lower case). */
  moduleId: string;
  command?: undefined;
  callback: (message: PullMessage, info: ModuleInfo) => void;
}

export interface OnlineSubscription {
  type: 'online';
  /** Taken, as by the official client, and not a filter: every online message arrives. */
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

/** A config load failed and is tried again in retryIn seconds (the status stays connect). */
export interface PullRetryEvent {
  /** The Bitrix REST code (INTERNAL_SERVER_ERROR, …), or b24pull's (REST_FAILED, …). */
  code: string;
  /** What failed, with every secret removed. */
  description: string;
  /** Seconds until the next try. */
  retryIn: number;
}

/** A b24pull extension (the official client has no such type): the retries of the config load. */
export interface RetrySubscription {
  type: 'retry';
  callback: (event: PullRetryEvent, info: { type: 'retry' }) => void;
}

export type SubscribeParams =
  | CommandSubscription
  | ModuleSubscription
  | OnlineSubscription
  | StatusSubscription
  | RevisionSubscription
  | RetrySubscription;

/**
 * A command handler object (a class instance or a plain object): getModuleId() is required; the
 * method for a command is getMap()[command] (a function or a method name), else the method named
 * handle<Command> (first letter upper-cased); it is called as (params, extra, command) with the
 * handler as this. A handler subscribes to its whole module.
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

/** A channel of the config. `id` is a secret of the connection. */
export interface PullConfigChannel {
  id: string;
  public_id?: string;
  start: string;
  end: string;
  type: string;
}

/**
 * The config (the result of pull.application.config.get), in the portal's shape. It holds the
 * connection's secrets (channel ids, the JWT): b24pull never logs or stores it.
 */
export interface PullConfig {
  server: {
    version: number;
    mode: ServerMode;
    websocket_enabled?: boolean;
    publish_enabled?: boolean;
    config_timestamp?: number;
    [key: string]: unknown;
  };
  api?: { revision_web?: number; revision_mobile?: number };
  channels: { private?: PullConfigChannel; shared?: PullConfigChannel };
  publicChannels?: Record<string, { user_id: number; public_id: string; signature: string; start: string; end: string }> | false;
  jwt?: string | null;
  exp?: number;
  clientId?: string | null;
  [key: string]: unknown;
}

/**
 * What setLogger takes: b24jssdk's LoggerInterface (its Logger and LoggerFactory's loggers) fits.
 * Each line is a message and a context object with no secret in it; a level the logger lacks falls
 * back to console's name for it (warning → warn, notice → info, critical and above → error), so an
 * object with console's methods works too. What a logger throws or rejects with is ignored.
 */
export interface PullLogger {
  debug(message: string, context?: Record<string, any>): unknown;
  info(message: string, context?: Record<string, any>): unknown;
  warning(message: string, context?: Record<string, any>): unknown;
  error(message: string, context?: Record<string, any>): unknown;
  notice?(message: string, context?: Record<string, any>): unknown;
  critical?(message: string, context?: Record<string, any>): unknown;
  alert?(message: string, context?: Record<string, any>): unknown;
  emergency?(message: string, context?: Record<string, any>): unknown;
  log?(level: number, message: string, context?: Record<string, any>): unknown;
}

/** start()'s config: the app's config, and the official flag that skips the resume after a reload. */
export type PullStartConfig = (PullConfig & { skipReconnectToLastSession?: boolean }) | { skipReconnectToLastSession: boolean };

export interface PullClient {
  // -- the config and the official getters

  /** The config in use, or null before one is loaded (as the official getConfig()). */
  getConfig(): PullConfig | null;
  /**
   * Makes one pull.application.config.get call (CACHE and REOPEN from the options, default Y and N)
   * and resolves with its result. The official client has no such call; its getConfig() is ours.
   */
  loadConfig(options?: { cache?: boolean; reopen?: boolean }): Promise<PullConfig>;
  getStatus(): PullStatus;
  /** The same as getStatus(). */
  readonly status: PullStatus;
  /** Online: a connection is open. */
  isConnected(): boolean;
  /** server.version of the config; 0 before one. */
  getServerVersion(): number;
  /** server.mode of the config; null before one. */
  getServerMode(): ServerMode | null;
  /** api.revision_web of the config; null before one. */
  getRevision(): number | null;
  /** Server version 5 or later: JSON-RPC over the websocket. */
  isJsonRpc(): boolean;
  /** server.mode is shared. */
  isSharedMode(): boolean;
  /** The browser has WebSocket. */
  isWebSocketSupported(): boolean;
  /** The config enables websockets. */
  isWebSocketEnabled(): boolean;
  /** Enabled, not turned off by disableWebSocket, and not given up for long polling. */
  isWebSocketAllowed(): boolean;
  /**
   * The URL of the connection in use or the next one ('' before a config). It holds the channel ids
   * or the token: for the app that asks; b24pull never logs it. The official argument is taken and
   * not used.
   */
  getConnectionPath(connectionType?: ConnectionType): string;
  /** The publish URL with the channel ids ('' when the config has none). Secret, as above. */
  getPublicationPath(): string;
  getStats(): PullStats;
  /** Connection facts with every secret removed. */
  getDebugInfo(): Record<string, unknown>;

  // -- lifecycle

  /**
   * Connects; resolves with true once online, rejects with a PullError. With a config (what
   * pull.application.config.get gave the app) the first connection uses it instead of asking. A
   * portal hiccup (a 5xx, a network error, an answer that is not JSON) is retried with the backoff
   * while the status says connect, and 'retry' subscribers hear of each try; errors that retrying
   * cannot mend (auth, permission, not configured) reject at once, and startTimeout bounds the wait.
   * Unless skipReconnectToLastSession is true, a message id kept across a reload (resumeKey) within
   * the last 20 s is resumed after. The client listens to the window's online and offline events
   * until stop() or destroy().
   */
  start(config?: PullStartConfig | null): Promise<true>;
  /** Closes the connection, loads the config again and connects. A stopped client starts. Defaults: 1000, 'manual restart'. */
  restart(code?: CloseReasons | number, reason?: string): Promise<void>;
  /** Closes the connection and connects again after delay seconds (default 1) with the config in use. Nothing for a stopped client. */
  reconnect(code?: CloseReasons | number, reason?: string, delay?: number): Promise<void>;
  /**
   * Disconnects with code and reason (defaults: 1000, 'manual stop') and cancels every timer and
   * window listener; resolves once the client's goroutines ended. start() may follow.
   */
  stop(code?: CloseReasons | number, reason?: string): Promise<void>;
  /**
   * Stops for good and releases everything, every window listener included. It keeps no resume
   * point: a client created next in the same page would replay what this one delivered. Later
   * loadConfig() and start() reject with DESTROYED.
   */
  destroy(): Promise<void>;
  /** The message id the next connection resumes after (null: none). */
  setLastMessageId(mid: string | null): void;

  // -- logging

  /** Sets the logger; null puts back the default one (the console, silent while logging is off). */
  setLogger(logger: PullLogger | null): void;
  getLogger(): PullLogger;
  /**
   * Logging on (default true) or off. On: the client's own lines (what it connects to, why it
   * reconnects; secrets removed) reach the logger at debug, and the default logger prints. A logger
   * of the app's gets the problems (warning, error) either way.
   */
  enableLogging(flag?: boolean): void;
  /**
   * Logs every message received (default true), at info, as 'b24pull: event' with {type, moduleId,
   * command, params, extra}: values of secret keys (token, signature, auth, …), secret query
   * parameters and every channel id, signature and token of the configs in use are replaced by ***.
   */
  capturePullEvent(flag?: boolean): void;

  /**
   * Subscribes; returns the function that unsubscribes. Callbacks run asynchronously after the frame
   * that carried them arrived: for a server or client message the whole-module subscribers (handler
   * objects included) first, then the command's, each in the order they subscribed; one that throws
   * does not stop the others (its error is logged as a warning). An unsubscribed callback is not
   * called again, not even later in the event being delivered.
   * @throws TypeError for an unknown type, a missing callback, a missing moduleId (server, client),
   * or a handler whose getModuleId() gives no module id or whose type is not server, client or online.
   */
  subscribe<P = Record<string, unknown>>(params: CommandSubscription<P>): () => void;
  subscribe(params: ModuleSubscription): () => void;
  subscribe(params: OnlineSubscription): () => void;
  subscribe(params: StatusSubscription): () => void;
  subscribe(params: RevisionSubscription): () => void;
  subscribe(params: RetrySubscription): () => void;
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
  var B24Pull:
    | {
        createPullClient: typeof createPullClient;
        version: string;
        PullStatus: typeof PullStatus;
        SubscriptionType: typeof SubscriptionType;
        SenderType: typeof SenderType;
        CloseReasons: typeof CloseReasons;
        ServerMode: typeof ServerMode;
        ConnectionType: typeof ConnectionType;
      }
    | undefined;
}

// Every part of b24pull's API, as an app written in TypeScript uses it. `npm run check` compiles it
// with tsc --strict against the typings the package ships; the @ts-expect-error lines are uses the
// typings must refuse.
import { initializeB24Frame, LoggerFactory, PullStatus as SdkPullStatus, SubscriptionType as SdkSubscriptionType } from '@bitrix24/b24jssdk';
import {
  CloseReasons,
  ConnectionType,
  createPullClient,
  PullStatus,
  SenderType,
  ServerMode,
  SubscriptionType,
  version,
  type CommandHandler,
  type PullClient,
  type PullConfig,
  type PullError,
  type PullExtra,
  type PullLogger,
  type PullMessage,
  type PullRetryEvent,
  type PullStats,
  type UserStatusEvent,
} from 'b24pull';

interface Hello {
  n: number;
}

export async function withFrame(): Promise<PullClient> {
  // A b24jssdk B24Frame is a REST library b24pull takes as it is.
  const $b24 = await initializeB24Frame();
  return createPullClient({ rest: $b24, debug: false });
}

export async function everything(): Promise<void> {
  const label: string = version;
  const pull = await createPullClient({
    rest: (method, params) => fetch(`/rest/${method}.json`, { method: 'POST', body: JSON.stringify(params) }).then((r) => r.json()),
    wasmUrl: new URL('/assets/b24pull.wasm', location.href),
    secure: true,
    disableWebSocket: false,
    restTimeout: 30_000,
    sendTimeout: 10_000,
    prefetchConfig: true,
    startTimeout: 30_000,
    resumeKey: 'my-app:pull',
    timing: { backoff: [500, 5000, 25000, 45000, 60000], renewRetry: [5000], startTimeout: 60_000 },
  });

  const unsubscribers: Array<() => void> = [
    pull.subscribe<Hello>({
      moduleId: 'application',
      command: 'hello',
      callback: (params, extra, command, info) => {
        const n: number = params.n;
        const ago: number | undefined = extra.server_time_ago;
        console.log(label, n, ago, command, info.moduleId, info.type);
      },
    }),
    pull.subscribe({
      moduleId: 'application',
      callback: (message: PullMessage, info) => console.log(message.command, message.params, info.type),
    }),
    pull.subscribe({ type: 'client', moduleId: 'application', callback: ({ command }) => console.log(command) }),
    pull.subscribe({ type: 'online', command: 'list', callback: ({ params }) => console.log(params) }),
    pull.subscribe({ type: 'status', callback: ({ status }) => console.log(status satisfies PullStatus) }),
    pull.subscribe({ type: 'revision', callback: ({ server, client }) => console.log(server - client) }),
    pull.subscribe({ type: 'retry', callback: (event: PullRetryEvent, info) => console.log(event.code, event.retryIn, info.type) }),
    // The enums, ours and the official client's, name the types as the literals do.
    pull.subscribe({ type: SubscriptionType.Status, callback: ({ status }) => console.log(status === PullStatus.Online) }),
    pull.subscribe({ type: SdkSubscriptionType.Client, moduleId: 'application', callback: ({ extra }) => console.log(extra.sender?.type === SenderType.Client) }),
  ];

  const handler: CommandHandler = {
    getModuleId: () => 'application',
    getSubscriptionType: () => 'server',
    getMap: () => ({ hello: 'onHello', bye: (params: Record<string, unknown>, extra: PullExtra) => console.log(params, extra) }),
  };
  unsubscribers.push(pull.subscribe(handler));

  try {
    const online: true = await pull.start();
    console.log(online);
  } catch (err) {
    const e = err as PullError;
    console.error(e.code, e.description, e.status);
  }
  const config: PullConfig = await pull.loadConfig({ cache: false, reopen: false });
  const inUse: PullConfig | null = pull.getConfig();
  const status: PullStatus = pull.getStatus();
  const same: PullStatus = pull.status;
  const sdkStatus: PullStatus = SdkPullStatus.Online;
  const stats: PullStats = pull.getStats();
  const info: Record<string, unknown> = pull.getDebugInfo();
  console.log(config.server.version, inUse?.channels.private?.end, status, same, sdkStatus, stats.messages, stats.lastMid, info);

  // The official getters.
  const facts: [boolean, number, ServerMode | null, number | null, boolean, boolean, boolean, boolean, boolean, string, string] = [
    pull.isConnected(), pull.getServerVersion(), pull.getServerMode(), pull.getRevision(), pull.isJsonRpc(), pull.isSharedMode(),
    pull.isWebSocketSupported(), pull.isWebSocketEnabled(), pull.isWebSocketAllowed(),
    pull.getConnectionPath(ConnectionType.WebSocket), pull.getPublicationPath(),
  ];
  console.log(facts, pull.getServerMode() === ServerMode.Shared);

  // Lifecycle with the official arguments.
  await pull.restart();
  await pull.restart(CloseReasons.CONFIG_EXPIRED, 'config expired');
  await pull.reconnect(CloseReasons.CONFIG_REPLACED, 'new channel', 1);
  pull.setLastMessageId(stats.lastMid);
  pull.setLastMessageId(null);
  await pull.stop(CloseReasons.NORMAL_CLOSURE, 'leaving');
  if (inUse) await pull.start({ ...inUse, skipReconnectToLastSession: true });
  await pull.start({ skipReconnectToLastSession: true });
  const closeName: string | undefined = CloseReasons[3005];
  console.log(closeName);

  // Logging: b24jssdk's loggers fit, and so does one of the app's own.
  pull.setLogger(LoggerFactory.createForBrowser('pull', true));
  const mine: PullLogger = {
    debug: (message, context) => console.debug(message, context),
    info: (message, context) => console.info(message, context),
    warning: (message, context) => console.warn(message, context),
    error: (message, context) => console.error(message, context),
  };
  pull.setLogger(mine);
  pull.getLogger().info('b24pull: hello', { n: 1 });
  pull.enableLogging();
  pull.enableLogging(false);
  pull.capturePullEvent(true);
  pull.setLogger(null);

  // Publishing, and presence (server version 5).
  if (pull.isPublishingSupported() && pull.isPublishingEnabled()) {
    const answer: unknown = await pull.sendMessage([7, 9], 'application', 'hello', { n: 1 }, 60);
    await pull.sendMessageToChannels(['0f1e2d3c4b5a69788796a5b4c3d2e1f0.00ff', { publicId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', signature: '00ff' }], 'application', 'hello');
    console.log(answer);
  }
  const seen: Record<number, number> = await pull.getUsersLastSeen([7, 9]);
  const channels: unknown = await pull.listChannels();
  await pull.ping(2);
  const onStatus = (event: UserStatusEvent) => console.log(event.userId, event.isOnline);
  await pull.subscribeUserStatusChange(9, onStatus);
  await pull.unsubscribeUserStatusChange(9, onStatus);
  try {
    await pull.sendMessage([7], 'application', 'hello', {});
  } catch (err) {
    const e = err as PullError;
    if (e.code === 'RPC_ERROR') console.error(e.rpcCode);
    if (e.code === 'CONNECTION_LOST' || e.code === 'NOT_CONNECTED') console.error(e.description);
  }
  console.log(seen[7], channels);

  unsubscribers.forEach((off) => off());
  await pull.stop();
  await pull.destroy();

  // The classic script's global.
  const classic = globalThis.B24Pull;
  if (classic) console.log(classic.version, typeof classic.createPullClient, classic.PullStatus.Online, classic.CloseReasons.STUCK);
}

export async function refused(pull: PullClient): Promise<void> {
  // @ts-expect-error a server subscription needs a moduleId
  pull.subscribe({ callback: () => {} });
  // @ts-expect-error status is not a subscription type of its own name
  pull.subscribe({ type: 'statuses', callback: () => {} });
  // @ts-expect-error the REST library must be callable or an object with callMethod / auth
  await createPullClient({ rest: 42 });
  // @ts-expect-error backoff has exactly five steps
  await createPullClient({ timing: { backoff: [1, 2] } });
  // @ts-expect-error users are numbers
  await pull.sendMessage('7', 'application', 'hello');
  // @ts-expect-error a public channel is a string or {publicId, signature}
  await pull.sendMessageToChannels([{ id: 'x' }], 'application', 'hello');
  // @ts-expect-error a status callback takes one event
  await pull.subscribeUserStatusChange(9, (a: number, b: number) => console.log(a, b));
  // @ts-expect-error getStatus returns a PullStatus, not a number
  const n: number = pull.getStatus();
  console.log(n);
  // @ts-expect-error getConfig() is synchronous: loadConfig() is the REST call
  await pull.getConfig().then(() => {});
  // @ts-expect-error a close code is a number
  await pull.stop('1000');
  // @ts-expect-error status is read-only
  pull.status = 'online';
  // @ts-expect-error retry callbacks get the retry event
  pull.subscribe({ type: 'retry', callback: (event: { status: string }) => console.log(event) });
  // @ts-expect-error a logger needs at least debug, info, warning and error
  pull.setLogger({ debug: () => {} });
  // @ts-expect-error not a status
  const s: PullStatus = 'connecting';
  console.log(s);
}

import { createHash } from 'node:crypto';
import type { RequestListener, Server } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { App, LogLevel, SocketModeReceiver, webApi, type Installation, type InstallationQuery, type Logger as BoltLogger } from '@slack/bolt';
import type { CommandContext, CommandServices, CommandSpec } from '../../src/commands/command-spec.ts';
import { runAction, runCommand } from '../../src/commands/command-runner.ts';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { resolveTypedChannel, splitCommandText } from '../../src/commands/command-options.ts';
import { textReply } from '../../src/commands/reply.ts';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform, Destination, SendOptions as PlatformSendOptions } from '../../src/platform/chat-platform.ts';
import type { InstallationStore } from '../../src/storage/installation-store.ts';
import { createMemoryInteractionReceipts, type InteractionReceipts } from '../../src/storage/interaction-receipts.ts';
import { connectRetryDelayMs, DEFAULT_CONNECT_RETRY, PlatformAuthError } from '../../src/platform/platform-connection.ts';
import { slackErrorCode, toDeliveryError } from './slack-errors.ts';
import { createHistoryBudget, createSharedHistoryGate, HISTORY_TIERS, type ReserveSlot, type SlackHistoryTier } from './slack-history-budget.ts';
import { deliveryPayload, replyPayload, threadReplyPayload } from './slack-render.ts';

/** Who may change subscriptions: workspace admins/owners, plus the channel's creator by default. */
export type ManagePolicy = 'admins-and-creator' | 'admins' | 'everyone';

export interface SlackAdapterOptions {
  signingSecret: string;
  /** A single workspace's bot token; or `oauth` for a multi-workspace install. */
  botToken?: string;
  oauth?: { clientId: string; clientSecret: string; stateSecret: string; installations: InstallationStore; now: () => Date };
  /** The bot was uninstalled from a workspace (or its tokens revoked): forget its subscriptions. */
  onWorkspaceRemoved?: (teamId: string) => Promise<void>;
  /** Socket Mode when set (xapp-…); HTTP mode otherwise. */
  appToken?: string;
  /** HTTP mode: its own port when set; else the caller mounts `handle` on its server (one port for all). */
  port?: number;
  host?: string;
  apiUrl?: string;
  commandPrefix: string;
  managePolicy: ManagePolicy;
  commands: readonly CommandSpec[];
  services: CommandServices;
  logger: Logger;
  /** Seconds between two messages to one channel (Slack allows about one per second). */
  channelPacingMs?: number;
  /** How long one Web API call may take before its outcome counts as unknown (default 15 s). */
  requestTimeoutMs?: number;
  /**
   * The rate tier of conversations.history / conversations.replies (see `SlackHistoryTier`). Default: an
   * OAuth (distributed) install `limited`, a single-workspace token `tier3`.
   */
  historyTier?: SlackHistoryTier;
  /**
   * Tests only: how much shorter Slack's time runs (0.01: a minute is 600 ms). Scales the history budget,
   * every Retry-After and the default channel pacing; the fake Slack must run on the same scale. Default 1.
   */
  timeScale?: number;
  /** How far before and after an uncertain request a look-up searches (clock differences with Slack; default 60 s). */
  lookupMarginMs?: number;
  /**
   * Where several instances share one database (the store's `SendBudget.reserve`): each history call also
   * takes a slot of its workspace's shared bucket, so the instances together stay within the tier.
   */
  reserveShared?: ReserveSlot;
  /**
   * Events (by event_id) and commands and buttons (by trigger_id) already taken (the store's, shared by every
   * instance on the database): Slack's retry of an event, or a replayed request, runs nothing. Default: this
   * process's memory.
   */
  receipts?: InteractionReceipts;
}

/** One attempt's send options with whether its earlier unknown outcome was settled by a look-up. */
type SendOptions = PlatformSendOptions & { resolved: boolean };

export interface SlackAdapter extends ChatPlatform {
  readonly app: App;
  /** The HTTP server in HTTP mode with its own `port` (0 picks a free one). */
  readonly server: Server | null;
  /** HTTP mode without its own port: serves `/slack/events`, `/slack/install`, `/slack/oauth_redirect`. */
  readonly handle: RequestListener | null;
  stop(): Promise<void>;
}

/**
 * How long an event_id or trigger_id is remembered: Slack retries an event about 1 minute and again about
 * 5 minutes after the first attempt, and each attempt's signed request is accepted for 5 minutes; 15 minutes
 * covers the last retry's window with a margin for the clocks of instances sharing the receipts.
 */
export const SLACK_RECEIPT_TTL_MS = 15 * 60 * 1000;

/**
 * What makes one request from Slack the same as another: an event's `event_id` (the same on every retry,
 * over HTTP or Socket Mode), a command's or a button's `trigger_id`. Null for what carries neither. A
 * trigger id comes with a digest of the payload: Slack gives every invocation its own trigger_id (and
 * response_url), so for Slack's requests the two agree, and a replay is the same payload byte for byte.
 */
export function slackReceiptId(body: unknown): string | null {
  const b = body as { type?: unknown; event_id?: unknown; trigger_id?: unknown } | null;
  if (b?.type === 'event_callback' && typeof b.event_id === 'string' && b.event_id) return `slack:event:${b.event_id}`;
  if (typeof b?.trigger_id === 'string' && b.trigger_id) {
    return `slack:trigger:${b.trigger_id.slice(0, 200)}:${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22)}`;
  }
  return null;
}

/** How long an admin or channel-creator answer is reused (a demotion takes effect within this). */
const PERMISSION_CACHE_MS = 5 * 60 * 1000;

/**
 * What the app asks for: commands, posting, joining public channels, reading users to find admins, and
 * reading history (channels, private channels, DMs) to find its own message after a lost answer.
 */
export const SLACK_SCOPES = ['commands', 'chat:write', 'channels:join', 'channels:read', 'groups:read', 'users:read', 'channels:history', 'groups:history', 'im:history', 'im:write'];

/** The metadata event type Inkwire's deliveries carry; its payload holds the delivery key. */
export const DELIVERY_METADATA_TYPE = 'inkwire_delivery';

/**
 * Slack sends slash-command text HTML-escaped (`&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`): decoded before
 * parsing, `&amp;` last so a typed `&lt;` stays `&lt;`. Slack's own `<!subteam^S…|@name>`, `<@U…|name>` and
 * `<#C…|name>` forms arrive unescaped and are left for the options that read them. Commands registered with
 * `should_escape: true` (so that a typed `#channel` arrives as `<#C…|name>`) also get links as
 * `<https://…>` or `<https://…|label>`: those become the bare URL, unwrapped before the entities are decoded
 * (Slack escapes a URL's own `&`).
 */
export function decodeSlackText(text: string): string {
  return text
    .replace(/<(https?:\/\/[^|>\s]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack command names are shared by every app in a workspace, hence the prefix; `/help` is Slack's own. */
export function slackCommandName(prefix: string, spec: CommandSpec): string {
  return `/${prefix}${spec.name === 'help' ? 'inkwire-help' : spec.name}`;
}

/** Slack's answers that mean the token itself is wrong (not an outage). */
const AUTH_FAILURES = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired']);

function rethrowAuthFailure(error: unknown): never {
  const code = slackErrorCode(error);
  if (code && AUTH_FAILURES.has(code)) {
    throw new PlatformAuthError(`Slack refused the token (${code}): check SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…) in the app's settings`, { cause: error });
  }
  throw error;
}

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => log.debug({ bolt: m.map(String).join(' ') }, 'bolt'),
    info: (...m: unknown[]) => log.info({ bolt: m.map(String).join(' ') }, 'bolt'),
    warn: (...m: unknown[]) => log.warn({ bolt: m.map(String).join(' ') }, 'bolt'),
    error: (...m: unknown[]) => log.error({ bolt: m.map(String).join(' ') }, 'bolt'),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * Slack through @slack/bolt: slash commands from the shared specs (acknowledged at once, answered through
 * `respond()`), buttons, Block Kit cards, and delivery with per-channel pacing so a 429 on one channel
 * never stalls the others (rate-limited calls are rejected, not queued, and retried by the engine).
 */
export async function startSlackAdapter(options: SlackAdapterOptions): Promise<SlackAdapter> {
  const log = options.logger;
  const oauth = options.oauth;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const clientOptions = {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    // No retries in the client: Slack has no idempotency key, so a client-side repeat of a post whose
    // answer was lost is a visible duplicate. The delivery engine owns retries (and looks first).
    retryConfig: { retries: 0 },
    timeout: requestTimeoutMs,
    rejectRateLimitedCalls: true,
  };
  const oauthSettings = oauth
    ? {
        clientId: oauth.clientId,
        clientSecret: oauth.clientSecret,
        stateSecret: oauth.stateSecret,
        scopes: SLACK_SCOPES,
        installationStore: {
          storeInstallation: async (installation: Installation) => {
            const team = installation.team?.id ?? installation.enterprise?.id;
            if (!team) throw new Error('installation without a team or enterprise id');
            await oauth.installations.save('slack', team, JSON.stringify(installation), oauth.now());
            log.info({ teamId: team }, 'installed in a Slack workspace');
          },
          fetchInstallation: async (query: InstallationQuery<boolean>) => {
            const data = await oauth.installations.get('slack', query.teamId ?? query.enterpriseId ?? '');
            if (!data) throw new Error(`no installation for ${query.teamId ?? query.enterpriseId}`);
            return JSON.parse(data) as never;
          },
          deleteInstallation: async (query: InstallationQuery<boolean>) => void (await oauth.installations.delete('slack', query.teamId ?? query.enterpriseId ?? '')),
        },
        installerOptions: { directInstall: true },
      }
    : null;
  // Socket Mode without bolt's own reconnect: when Slack is unreachable, its reconnect attempt rejects with
  // nobody listening (an unhandled rejection ends the process). Inkwire reconnects instead (below).
  const socketReceiver = options.appToken
    ? new SocketModeReceiver({
        appToken: options.appToken,
        logger: boltLogger(log),
        autoReconnectEnabled: false,
        ...(oauthSettings ? { clientId: oauthSettings.clientId, clientSecret: oauthSettings.clientSecret, stateSecret: oauthSettings.stateSecret, scopes: oauthSettings.scopes, installationStore: oauthSettings.installationStore } : {}),
        installerOptions: { ...(oauthSettings?.installerOptions ?? {}), clientOptions },
      })
    : null;
  const app = new App({
    ...(oauthSettings ?? { token: options.botToken }),
    signingSecret: options.signingSecret,
    ...(socketReceiver ? { socketMode: true, appToken: options.appToken, receiver: socketReceiver } : {}),
    clientOptions,
    logger: boltLogger(log),
    deferInitialization: true,
  });
  // auth.test: a refused token is a misconfiguration (no retry); anything else (unreachable, 5xx) an outage.
  await app.init().catch(rethrowAuthFailure);

  // `client` is the one bolt hands each request: it carries that workspace's token (OAuth or single).
  // Answers are cached for a few minutes: users.info is rate-limited, and a command should not wait on it.
  const cache = new Map<string, { value: boolean | string | undefined; at: number }>();
  const cached = async <T extends boolean | string | undefined>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < PERMISSION_CACHE_MS) return hit.value as T;
    const value = await load();
    cache.set(key, { value, at: Date.now() });
    if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
    return value;
  };
  const isAdmin = (client: App['client'], userId: string) =>
    cached(`admin:${userId}`, async () => {
      const user = await client.users.info({ user: userId });
      return Boolean(user.user?.is_admin || user.user?.is_owner);
    });
  const isManager = async (client: App['client'], userId: string, channelId: string): Promise<boolean> => {
    if (options.managePolicy === 'everyone') return true;
    try {
      if (await isAdmin(client, userId)) return true;
      if (options.managePolicy === 'admins') return false;
      const creator = await cached(`creator:${channelId}`, async () => (await client.conversations.info({ channel: channelId })).channel?.creator);
      return creator === userId;
    } catch (error) {
      log.warn({ err: error }, 'could not check Slack permissions; treating as not a manager');
      return false;
    }
  };

  const contextFor = async (client: App['client'], teamId: string | undefined, channelId: string, userId: string, userName: string, spec?: CommandSpec): Promise<CommandContext> => ({
    invoker: {
      userId,
      displayName: userName,
      canManage: spec && spec.permission === 'everyone' ? false : await isManager(client, userId, channelId),
      // Slack has no "mentionable" flag on user groups: only workspace admins and owners may set one to ping.
      mentions: {
        canMentionAnyRole: async () => isAdmin(client, userId).catch(() => false),
        isMentionable: async () => false,
      },
    },
    place: { platform: 'slack', workspaceId: teamId ?? null, channelId, isDirect: channelId.startsWith('D') },
    // `channel:<#C…|name>` acts there, with the manage policy checked for that channel.
    resolveChannel: async (value) => resolveTypedChannel(value, (target) => isManager(client, userId, target)),
    services: options.services,
    commandLabel: (name) => slackCommandName(options.commandPrefix, options.commands.find((c) => c.name === name) ?? { name } as CommandSpec),
  });

  // Before any listener: an event Slack retries (X-Slack-Retry-Num, or a Socket Mode envelope's
  // retry_attempt) or a replayed command or button is acknowledged (Slack stops retrying) and runs nothing.
  const receipts = options.receipts ?? createMemoryInteractionReceipts();
  app.use(async ({ body, context, next, ...args }) => {
    const id = slackReceiptId(body);
    if (id && !(await receipts.claim(id, new Date(), SLACK_RECEIPT_TTL_MS))) {
      log.info({ receipt: id, retryNum: context.retryNum ?? null, retryReason: context.retryReason ?? null }, 'Slack request already handled; not running it again');
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    await next();
  });

  for (const spec of options.commands) {
    app.command(slackCommandName(options.commandPrefix, spec), async ({ command, ack, respond, client }) => {
      await ack(); // within Slack's 3 seconds, always; the answer follows through response_url
      try {
        const split = splitCommandText(spec, decodeSlackText(command.text ?? ''));
        const context = await contextFor(client, command.team_id, command.channel_id, command.user_id, command.user_name, spec);
        const reply = split.ok ? await runCommand(spec, context, split.value) : textReply('private', split.error.message);
        await respond(replyPayload(reply));
      } catch (error) {
        log.error({ err: error, command: spec.name }, 'slash command failed');
        await respond({ response_type: 'ephemeral', text: 'Something went wrong on our side. It has been logged; please try again.' }).catch(() => {});
      }
    });
  }

  app.action(/.*/, async ({ ack, body, action, respond, client }) => {
    await ack();
    const actionId = (action as { action_id?: string; value?: string }).value ?? (action as { action_id?: string }).action_id ?? '';
    if (actionId.startsWith('open-')) return; // a link button: Slack opens the URL itself
    const b = body as { team?: { id?: string }; channel?: { id?: string }; user: { id: string; name?: string; username?: string } };
    const context = await contextFor(client, b.team?.id, b.channel?.id ?? b.user.id, b.user.id, b.user.username ?? b.user.name ?? 'someone');
    const reply = await runAction(options.commands, context, actionId);
    await respond({ ...replyPayload(reply), replace_original: false });
  });

  // Uninstalled, or tokens revoked: drop the installation and every subscription of that workspace.
  const forget = async (teamId: string | undefined) => {
    if (!teamId) return;
    await oauth?.installations.delete('slack', teamId);
    await options.onWorkspaceRemoved?.(teamId);
    log.info({ teamId }, 'removed from a Slack workspace; its subscriptions were deleted');
  };
  app.event('app_uninstalled', async ({ body }) => forget((body as { team_id?: string }).team_id));
  app.event('tokens_revoked', async ({ body, event }) => {
    if ((event as { tokens?: { bot?: string[] } }).tokens?.bot?.length) await forget((body as { team_id?: string }).team_id);
  });

  let server: Server | null = null;
  let handle: RequestListener | null = null;
  // Socket Mode holds a WebSocket that can drop (the client reconnects on its own): /readyz follows it.
  // HTTP mode has no connection to lose once auth.test has passed.
  let socketUp = true;
  let stopped = false;
  if (socketReceiver) {
    const socket = socketReceiver.client;
    let reconnecting = false;
    // Dropped (Slack's routine refresh, or an outage): reconnect at once, then with capped backoff and jitter.
    const reconnect = async () => {
      if (reconnecting || stopped) return;
      reconnecting = true;
      for (let attempt = 0; !stopped; attempt++) {
        if (attempt > 0) {
          const delayMs = connectRetryDelayMs(attempt, DEFAULT_CONNECT_RETRY);
          log.warn({ attempt, nextDelayMs: delayMs }, `Slack Socket Mode is disconnected; reconnecting in ${(delayMs / 1000).toFixed(1)} s`);
          await sleepFor(delayMs, undefined, { ref: false });
          if (stopped) break;
        }
        try {
          await socket.start();
          log.info({ attempt: attempt + 1 }, 'Slack Socket Mode reconnected');
          break;
        } catch (error) {
          log.debug({ err: error }, 'Slack Socket Mode reconnect failed');
        }
      }
      reconnecting = false;
    };
    socket.on('connected', () => void (socketUp = true));
    socket.on('disconnected', () => {
      socketUp = false;
      void reconnect();
    });
    await app.start().catch(rethrowAuthFailure);
    socketUp = true;
  } else if (options.port !== undefined) {
    server = (await app.start({ port: options.port, host: options.host ?? '127.0.0.1' } as never)) as unknown as Server;
  } else {
    // Bolt's HTTP receiver (signature checks, OAuth pages) without its own server: the caller mounts it.
    // `receiver` is not in bolt's public types, but `requestListener` is the receiver's public handler.
    handle = (app as unknown as { receiver: { requestListener: RequestListener } }).receiver.requestListener;
  }
  log.info({ mode: options.appToken ? 'socket' : 'http', port: options.appToken ? null : (options.port ?? 'shared HTTP_PORT') }, 'connected to Slack');

  const timeScale = options.timeScale ?? 1;
  const nextSlot = new Map<string, number>();
  const pacingMs = options.channelPacingMs ?? 1000 * timeScale;
  /** Every message to a channel (card or thread reply) takes the channel's next slot, about one a second. */
  const pace = async (channel: string, signal?: AbortSignal) => {
    const now = Date.now();
    const at = Math.max(now, nextSlot.get(channel) ?? 0);
    nextSlot.set(channel, at + pacingMs);
    if (at > now) await sleepFor(at - now, undefined, signal ? { signal } : {});
  };
  /** Slack's answer as a delivery error; a Retry-After (Slack's seconds) on this process's time scale. */
  const deliveryErrorOf = (error: unknown, uncertainOnLoss = true): DeliveryError => {
    const translated = toDeliveryError(error, { uncertainOnLoss });
    if (translated.code !== 'delivery/rate-limited' || translated.retryAfterMs === null || timeScale === 1 || error instanceof DeliveryError) return translated;
    return new DeliveryError(translated.code, translated.reason, { retryAfterMs: Math.ceil(translated.retryAfterMs * timeScale), cause: error });
  };
  /** A 429 on a post: nothing else goes to that channel before its Retry-After has passed. */
  const postFailed = (channel: string, error: unknown): DeliveryError => {
    const failure = deliveryErrorOf(error);
    if (failure.code === 'delivery/rate-limited') nextSlot.set(channel, Math.max(nextSlot.get(channel) ?? 0, Date.now() + (failure.retryAfterMs ?? pacingMs)));
    return failure;
  };
  const historyTier: SlackHistoryTier = options.historyTier ?? (oauth ? 'limited' : 'tier3');
  const historyBudget = createHistoryBudget({ perWindow: HISTORY_TIERS[historyTier].perMinute, windowMs: 60_000 * timeScale });
  const sharedHistory = options.reserveShared ? createSharedHistoryGate({ reserve: options.reserveShared, perWindow: HISTORY_TIERS[historyTier].perMinute, windowMs: 60_000 * timeScale }) : null;
  const lookupMarginMs = options.lookupMarginMs ?? 60_000;
  /** Where a look-up cut short by the budget (more than one page in its window) goes on, by key and part. */
  const cursors = new Map<string, string>();
  /**
   * The Web API client for one delivery attempt: the WebClient takes no per-call AbortSignal, so a send
   * that may be abandoned (shutdown, lost lease) gets its own client whose fetch also listens to that
   * signal; aborting it cancels the HTTP request. (Only the request's own bytes: one Slack has already
   * read may still be posted, which is why the engine waits out the request timeout before retrying.)
   */
  const clientFor = (signal: AbortSignal | undefined): App['client'] => {
    if (!signal) return app.client;
    const fetchWith: webApi.FetchFunction = (url, init) =>
      globalThis.fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new webApi.WebClient(undefined, { ...clientOptions, logger: boltLogger(log), fetch: fetchWith });
  };
  const joined = new Set<string>();

  /** The bot token for a workspace: the single configured one, or that workspace's OAuth installation. */
  const tokenFor = async (destination: Destination): Promise<string | undefined> => {
    if (!oauth) return options.botToken;
    const data = destination.workspaceId ? await oauth.installations.get('slack', destination.workspaceId) : null;
    const token = data ? (JSON.parse(data) as { bot?: { token?: string } }).bot?.token : undefined;
    if (!token) throw new DeliveryError('delivery/auth-failed', 'Inkwire is not installed in this workspace any more');
    return token;
  };

  /**
   * One message of a delivery: paced with every other message to the channel, recorded as started in the
   * outbox just before the request (`sending`), and carrying the delivery key (and which part it is) in
   * its metadata so a later attempt can find it.
   */
  async function post(destination: Destination, payload: Record<string, unknown>, metadata: { key: string; part?: 'reply' }, send: SendOptions): Promise<string> {
    const token = await tokenFor(destination);
    await send.reserveRequest?.(metadata.part === 'reply' ? 'reply' : 'post');
    await pace(destination.channelId, send.signal);
    send.signal?.throwIfAborted();
    await send.sending?.({ resolved: send.resolved });
    const result = await clientFor(send.signal).chat.postMessage({
      ...(token ? { token } : {}),
      channel: destination.channelId,
      ...(payload as { text: string }),
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: DELIVERY_METADATA_TYPE, event_payload: metadata },
    });
    return String(result.ts);
  }

  /**
   * After a request whose outcome is unknown: the message (or thread reply, under `threadTs`) Inkwire
   * posted with this delivery key inside the window of that request — from a margin before the first
   * uncertain request began to its request timeout plus the margin after the last — or null when the
   * complete window has none. The window keeps it to one 15-message page in practice, however busy the
   * channel is since. Every page is one call of the workspace's history budget; when the budget has no
   * call free, or Slack answers 429, the delivery is handed back to the engine to retry after the wait
   * (a rate-limited error, not an attempt), and the look-up goes on from the page it reached.
   */
  async function findDelivered(destination: Destination, key: string, part: 'message' | 'reply', window: { oldest: string; latest: string }, threadTs: string | null, signal?: AbortSignal): Promise<string | null> {
    const token = await tokenFor(destination);
    const auth = token ? { token } : {};
    const client = clientFor(signal);
    const workspace = destination.workspaceId ?? '-';
    let channel = destination.channelId;
    if (destination.direct) {
      const opened = await client.conversations.open({ ...auth, users: destination.channelId });
      channel = opened.channel?.id ?? channel;
    }
    const lookup = `${key}:${part}`;
    for (;;) {
      // The workspace's slot across every instance first (kept by key while the delivery waits), then this
      // process's own budget (which also honours a 429's Retry-After).
      const sharedWait = (await sharedHistory?.ready(workspace, lookup)) ?? 0;
      const wait = sharedWait > 0 ? sharedWait : historyBudget.take(workspace, lookup);
      if (wait > 0) {
        throw new DeliveryError('delivery/rate-limited', `waiting for this workspace's Slack history budget (${historyTier} tier) to look for an earlier copy`, { retryAfterMs: wait });
      }
      sharedHistory?.used(lookup);
      const cursor = cursors.get(lookup);
      const args = { ...auth, channel, oldest: window.oldest, latest: window.latest, inclusive: true, include_all_metadata: true, limit: HISTORY_TIERS[historyTier].pageSize, ...(cursor ? { cursor } : {}) };
      let page: { messages?: Array<{ ts?: string; metadata?: unknown }>; has_more?: boolean; response_metadata?: { next_cursor?: string } };
      try {
        page = threadTs ? await client.conversations.replies({ ...args, ts: threadTs }) : await client.conversations.history(args);
      } catch (error) {
        historyBudget.answered(workspace);
        if (slackErrorCode(error) === 'missing_scope') throw error;
        const failure = deliveryErrorOf(error, false);
        if (failure.code === 'delivery/rate-limited') historyBudget.blocked(workspace, failure.retryAfterMs ?? historyBudget.intervalMs);
        throw failure;
      }
      historyBudget.answered(workspace);
      for (const message of page.messages ?? []) {
        const metadata = message.metadata as { event_type?: string; event_payload?: { key?: unknown; part?: unknown } } | undefined;
        const partOf = metadata?.event_payload?.part === 'reply' ? 'reply' : 'message';
        if (metadata?.event_type === DELIVERY_METADATA_TYPE && metadata.event_payload?.key === key && partOf === part && message.ts) {
          cursors.delete(lookup);
          return message.ts;
        }
      }
      const next = page.response_metadata?.next_cursor || undefined;
      if (!page.has_more || !next) {
        cursors.delete(lookup);
        return null;
      }
      cursors.set(lookup, next);
    }
  }

  /** Looks for an earlier copy before re-sending; a history scope an older install lacks means sending blind. */
  async function alreadyDelivered(destination: Destination, key: string, part: 'message' | 'reply', window: { oldest: string; latest: string }, threadTs: string | null, signal?: AbortSignal): Promise<string | null> {
    try {
      return await findDelivered(destination, key, part, window, threadTs, signal);
    } catch (error) {
      if (slackErrorCode(error) === 'missing_scope') {
        log.warn({ channel: destination.channelId }, 'cannot read history to check for an earlier copy (reinstall the app for the history scopes); sending again');
        return null;
      }
      throw deliveryErrorOf(error, false);
    }
  }

  /** Posts the card, joining a public channel once if Inkwire is not in it yet. */
  async function postCard(destination: Destination, payload: Record<string, unknown>, key: string, send: SendOptions): Promise<string> {
    try {
      return await post(destination, payload, { key }, send);
    } catch (error) {
      // Not in a public channel yet: join it once (chat:write.public is not assumed), then try again.
      if (slackErrorCode(error) === 'not_in_channel' && !joined.has(destination.channelId)) {
        joined.add(destination.channelId);
        try {
          const token = await tokenFor(destination);
          await send.reserveRequest?.('channel-join');
          await clientFor(send.signal).conversations.join({ ...(token ? { token } : {}), channel: destination.channelId });
          return await post(destination, payload, { key }, send);
        } catch (retry) {
          // A private channel cannot be joined: the original "not in channel" is the reason to give.
          throw postFailed(destination.channelId, slackErrorCode(retry) === 'method_not_supported_for_channel_type' ? error : retry);
        }
      }
      throw postFailed(destination.channelId, error);
    }
  }

  /** `reserveRequest` for one send: its first request uses the engine's slot, each further one reserves its own. */
  const afterTheFirst = (reserveRequest: PlatformSendOptions['reserveRequest']): PlatformSendOptions['reserveRequest'] => {
    if (!reserveRequest) return undefined;
    let first = true;
    return async (kind) => {
      if (first) {
        first = false;
        return;
      }
      await reserveRequest(kind);
    };
  };

  return {
    name: 'slack',
    isConnected: () => socketUp,
    // The WebClient gives up after its timeout and never retries (retries: 0): an abandoned post lands within it.
    requestTimeoutMs,
    reportsSends: true,
    app,
    server,
    handle,
    /**
     * A delivery is its card and, with `thread`, the discussion thread's first reply: both exactly once.
     * The card's ts is recorded (`posted`) before the reply starts, so a retry sends only what is missing;
     * a part whose outcome is unknown is looked for (card: conversations.history, reply:
     * conversations.replies) inside its request's window before it is sent again.
     */
    async send(destination, message, platformOptions) {
      // The card, a join and the thread reply each take a slot of the token's send budget (when one is set):
      // the first goes on the slot the engine reserved before calling send. (History look-ups have their own
      // budget, per workspace.)
      const sendOptions = { ...platformOptions, reserveRequest: afterTheFirst(platformOptions.reserveRequest) };
      const { idempotencyKey: key, signal } = sendOptions;
      const payload = deliveryPayload(message);
      const thread = message.kind === 'post' && message.thread === true;
      const since = sendOptions.uncertainSince ?? null;
      const window = since && {
        oldest: ((since.getTime() - lookupMarginMs) / 1000).toFixed(6),
        latest: (((sendOptions.uncertainLastAt ?? since).getTime() + requestTimeoutMs + lookupMarginMs) / 1000).toFixed(6),
      };
      let ts = sendOptions.messageId ?? null;
      let resolved = false;
      if (ts === null) {
        if (window) {
          const found = await alreadyDelivered(destination, key, 'message', window, null, signal);
          resolved = true;
          if (found) log.info({ channel: destination.channelId, key }, 'an earlier attempt had posted this delivery; not posting it again');
          ts = found;
          if (found && thread) await sendOptions.posted?.(found);
        }
        if (ts === null) {
          ts = await postCard(destination, payload, key, { ...sendOptions, resolved });
          resolved = false;
          if (thread) await sendOptions.posted?.(ts);
        }
        if (!thread) return { messageId: ts };
        resolved = false; // recording the card settled any earlier uncertainty
      } else if (window && thread) {
        const found = await alreadyDelivered(destination, key, 'reply', window, ts, signal);
        if (found) {
          log.info({ channel: destination.channelId, key }, 'an earlier attempt had posted the thread reply; not posting it again');
          return { messageId: ts };
        }
        resolved = true;
      }
      if (!thread || message.kind !== 'post') return { messageId: ts };
      try {
        await post(destination, { thread_ts: ts, ...threadReplyPayload(message.card) }, { key, part: 'reply' }, { ...sendOptions, resolved });
      } catch (error) {
        const failure = postFailed(destination.channelId, error);
        if (failure.effect !== 'reject') throw failure;
        // Slack refuses this reply's body: the card stands, the thread is not started.
        log.warn({ err: error, channel: destination.channelId }, 'Slack refused the discussion thread reply; the card is delivered without it');
      }
      return { messageId: ts };
    },
    async edit(destination, messageId, message) {
      try {
        const token = await tokenFor(destination);
        await app.client.chat.update({ ...(token ? { token } : {}), channel: destination.channelId, ts: messageId, ...deliveryPayload(message) });
      } catch (error) {
        throw toDeliveryError(error);
      }
    },
    async stop() {
      // A mounted receiver was never started on its own (the caller's server stops it).
      stopped = true;
      if (!handle) await app.stop();
    },
  };
}

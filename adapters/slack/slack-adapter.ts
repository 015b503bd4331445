import type { RequestListener, Server } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { App, LogLevel, webApi, type Logger as BoltLogger } from '@slack/bolt';
import type { CommandContext, CommandServices, CommandSpec } from '../../src/commands/command-spec.ts';
import { runAction, runCommand } from '../../src/commands/command-runner.ts';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { splitCommandText } from '../../src/commands/command-options.ts';
import { textReply } from '../../src/commands/reply.ts';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform, Destination } from '../../src/platform/chat-platform.ts';
import type { InstallationStore } from '../../src/storage/installation-store.ts';
import { slackErrorCode, toDeliveryError } from './slack-errors.ts';
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
}

export interface SlackAdapter extends ChatPlatform {
  readonly app: App;
  /** The HTTP server in HTTP mode with its own `port` (0 picks a free one). */
  readonly server: Server | null;
  /** HTTP mode without its own port: serves `/slack/events`, `/slack/install`, `/slack/oauth_redirect`. */
  readonly handle: RequestListener | null;
  stop(): Promise<void>;
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
 * `<#C…|name>` forms arrive unescaped and are left for the options that read them.
 */
export function decodeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack command names are shared by every app in a workspace, hence the prefix; `/help` is Slack's own. */
export function slackCommandName(prefix: string, spec: CommandSpec): string {
  return `/${prefix}${spec.name === 'help' ? 'inkwire-help' : spec.name}`;
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
  const app = new App({
    ...(oauth
      ? {
          clientId: oauth.clientId,
          clientSecret: oauth.clientSecret,
          stateSecret: oauth.stateSecret,
          scopes: SLACK_SCOPES,
          installationStore: {
            storeInstallation: async (installation) => {
              const team = installation.team?.id ?? installation.enterprise?.id;
              if (!team) throw new Error('installation without a team or enterprise id');
              await oauth.installations.save('slack', team, JSON.stringify(installation), oauth.now());
              log.info({ teamId: team }, 'installed in a Slack workspace');
            },
            fetchInstallation: async (query) => {
              const data = await oauth.installations.get('slack', query.teamId ?? query.enterpriseId ?? '');
              if (!data) throw new Error(`no installation for ${query.teamId ?? query.enterpriseId}`);
              return JSON.parse(data) as never;
            },
            deleteInstallation: async (query) => void (await oauth.installations.delete('slack', query.teamId ?? query.enterpriseId ?? '')),
          },
          installerOptions: { directInstall: true },
        }
      : { token: options.botToken }),
    signingSecret: options.signingSecret,
    ...(options.appToken ? { socketMode: true, appToken: options.appToken } : {}),
    clientOptions,
    logger: boltLogger(log),
    deferInitialization: true,
  });
  await app.init();

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
    services: options.services,
    commandLabel: (name) => slackCommandName(options.commandPrefix, options.commands.find((c) => c.name === name) ?? { name } as CommandSpec),
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
  if (options.appToken) {
    await app.start();
  } else if (options.port !== undefined) {
    server = (await app.start({ port: options.port, host: options.host ?? '127.0.0.1' } as never)) as unknown as Server;
  } else {
    // Bolt's HTTP receiver (signature checks, OAuth pages) without its own server: the caller mounts it.
    // `receiver` is not in bolt's public types, but `requestListener` is the receiver's public handler.
    handle = (app as unknown as { receiver: { requestListener: RequestListener } }).receiver.requestListener;
  }
  log.info({ mode: options.appToken ? 'socket' : 'http', port: options.appToken ? null : (options.port ?? 'shared HTTP_PORT') }, 'connected to Slack');

  const nextSlot = new Map<string, number>();
  const pacingMs = options.channelPacingMs ?? 1000;
  const pace = async (channel: string, signal?: AbortSignal) => {
    const now = Date.now();
    const at = Math.max(now, nextSlot.get(channel) ?? 0);
    nextSlot.set(channel, at + pacingMs);
    if (at > now) await sleepFor(at - now, undefined, signal ? { signal } : {});
  };
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

  async function post(destination: Destination, payload: ReturnType<typeof deliveryPayload>, key: string, signal?: AbortSignal): Promise<string> {
    const token = await tokenFor(destination);
    await pace(destination.channelId, signal);
    signal?.throwIfAborted();
    const result = await clientFor(signal).chat.postMessage({
      ...(token ? { token } : {}),
      channel: destination.channelId,
      ...payload,
      unfurl_links: false,
      unfurl_media: false,
      // The delivery key travels with the message, so a later attempt can find it (see findDelivered).
      metadata: { event_type: DELIVERY_METADATA_TYPE, event_payload: { key } },
    });
    return String(result.ts);
  }

  /**
   * After an attempt whose outcome is unknown: the message Inkwire posted since then with this delivery
   * key, if any (newest 1,000 messages since a minute before the attempt, enough for any real channel).
   */
  async function findDelivered(destination: Destination, key: string, since: Date, signal?: AbortSignal): Promise<string | null> {
    const token = await tokenFor(destination);
    const auth = token ? { token } : {};
    const client = clientFor(signal);
    let channel = destination.channelId;
    if (destination.direct) {
      const opened = await client.conversations.open({ ...auth, users: destination.channelId });
      channel = opened.channel?.id ?? channel;
    }
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const history = await client.conversations.history({
        ...auth,
        channel,
        oldest: String((since.getTime() - 60_000) / 1000),
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const message of history.messages ?? []) {
        const metadata = message.metadata as { event_type?: string; event_payload?: { key?: unknown } } | undefined;
        if (metadata?.event_type === DELIVERY_METADATA_TYPE && metadata.event_payload?.key === key && message.ts) return message.ts;
      }
      cursor = history.response_metadata?.next_cursor || undefined;
      if (!history.has_more || !cursor) break;
    }
    return null;
  }

  /** Looks for an earlier copy before re-sending; a history scope an older install lacks means sending blind. */
  async function alreadyDelivered(destination: Destination, key: string, since: Date, signal?: AbortSignal): Promise<string | null> {
    try {
      return await findDelivered(destination, key, since, signal);
    } catch (error) {
      if (slackErrorCode(error) === 'missing_scope') {
        log.warn({ channel: destination.channelId }, 'cannot read history to check for an earlier copy (reinstall the app for the history scopes); sending again');
        return null;
      }
      throw toDeliveryError(error, { uncertainOnLoss: false });
    }
  }

  /** The card is delivered; its thread's first reply is best effort (a failure is logged, never a resend). */
  async function startThread(destination: Destination, ts: string, card: Parameters<typeof threadReplyPayload>[0]): Promise<void> {
    try {
      const token = await tokenFor(destination);
      await app.client.chat.postMessage({ ...(token ? { token } : {}), channel: destination.channelId, thread_ts: ts, ...threadReplyPayload(card), unfurl_links: false, unfurl_media: false });
    } catch (error) {
      log.warn({ err: error, channel: destination.channelId }, 'could not start the discussion thread');
    }
  }

  return {
    name: 'slack',
    // The WebClient gives up after its timeout and never retries (retries: 0): an abandoned post lands within it.
    requestTimeoutMs,
    app,
    server,
    handle,
    async send(destination, message, { idempotencyKey, uncertainSince, signal }) {
      const payload = deliveryPayload(message);
      if (uncertainSince) {
        const found = await alreadyDelivered(destination, idempotencyKey, uncertainSince, signal);
        if (found) {
          log.info({ channel: destination.channelId, key: idempotencyKey }, 'an earlier attempt had posted this delivery; not posting it again');
          return { messageId: found };
        }
      }
      try {
        const ts = await post(destination, payload, idempotencyKey, signal);
        if (message.kind === 'post' && message.thread) await startThread(destination, ts, message.card);
        return { messageId: ts };
      } catch (error) {
        // Not in a public channel yet: join it once (chat:write.public is not assumed), then try again.
        if (slackErrorCode(error) === 'not_in_channel' && !joined.has(destination.channelId)) {
          joined.add(destination.channelId);
          try {
            const token = await tokenFor(destination);
            await clientFor(signal).conversations.join({ ...(token ? { token } : {}), channel: destination.channelId });
            return { messageId: await post(destination, payload, idempotencyKey, signal) };
          } catch (retry) {
            // A private channel cannot be joined: the original "not in channel" is the reason to give.
            throw toDeliveryError(slackErrorCode(retry) === 'method_not_supported_for_channel_type' ? error : retry);
          }
        }
        throw toDeliveryError(error);
      }
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
      if (!handle) await app.stop();
    },
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { DiscordAPIError, REST, Routes } from 'discord.js';
import type { CommandContext, CommandServices, CommandSpec } from '../../src/commands/command-spec.ts';
import { GENERIC_FAILURE, refusePressIfTooFast, runAction, runAutocomplete, runCommand } from '../../src/commands/command-runner.ts';
import type { Reply } from '../../src/commands/reply.ts';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import { PlatformAuthError } from '../../src/platform/platform-connection.ts';
import { putApplicationCommands } from './discord-commands.ts';
import { isTokenRejected } from './discord-token.ts';
import { createDiscordDelivery, DISCORD_REQUEST_TIMEOUT_MS, type DiscordChannelInfo } from './discord-delivery.ts';
import { replyData } from './discord-render.ts';
import { resolveChannelOption, threadParentTarget, type InteractionChannel } from './discord-command-target.ts';
import { parseDiscordPublicKey, REPLAY_WINDOW_MS, verifyDiscordRequest } from './discord-signature.ts';
import { createMemoryInteractionReceipts, type InteractionReceipts } from '../../src/storage/interaction-receipts.ts';

/** Where Discord posts interactions (the "Interactions Endpoint URL" in the Developer Portal). */
export const DISCORD_INTERACTIONS_PATH = '/discord/interactions';

export interface DiscordHttpAdapterOptions {
  token: string;
  appId: string;
  /** The application's Ed25519 public key (hex), from the Developer Portal. */
  publicKey: string;
  apiUrl?: string;
  commands: readonly CommandSpec[];
  services: CommandServices;
  logger: Logger;
  /** Milliseconds since the epoch, for the signature's freshness (injected in tests). */
  now?: () => number;
  globalRequestsPerSecond?: number;
  /**
   * Interaction ids already taken (the store's, shared by every instance on the database); a replay of a
   * command or button within the signature window is refused with 409. Default: this process's memory.
   */
  receipts?: InteractionReceipts;
}

export interface DiscordHttpAdapter extends ChatPlatform {
  /** Serves `POST /discord/interactions`; mounted on the operations server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  registerCommands(guildId?: string): Promise<number>;
  stop(): Promise<void>;
}

/** The raw interaction Discord posts (the parts Inkwire reads). */
interface RawUser { id: string; username: string; global_name?: string | null }
interface RawInteraction {
  id: string;
  type: number;
  token: string;
  guild_id?: string;
  channel_id?: string;
  member?: { user: RawUser; permissions: string };
  user?: RawUser;
  channel?: InteractionChannel;
  data?: { name?: string; options?: Array<{ name: string; value?: string | number | boolean; focused?: boolean }>; custom_id?: string; resolved?: { channels?: Record<string, InteractionChannel> } };
  message?: { embeds?: unknown[] };
}

/** Writes the HTTP answer to the interaction; resolves once it has gone out. */
type Respond = (body: unknown) => Promise<void>;

const INTERACTION = { ping: 1, command: 2, component: 3, autocomplete: 4 } as const;
const RESPONSE = { pong: 1, message: 4, deferred: 5, choices: 8 } as const;
const EPHEMERAL = 64;
const PERMISSION = { administrator: 1n << 3n, manageChannels: 1n << 4n, mentionEveryone: 1n << 17n } as const;
/** Discord wants the HTTP answer within 3 s; work that takes longer is deferred at 2 s and edited in. */
const DEFER_AFTER_MS = 2000;
/**
 * Discord processes the deferral a moment after the HTTP answer reaches it; an edit that beats it is answered
 * Unknown interaction (10062). Such an edit is tried again after these pauses (milliseconds).
 */
export const DEFERRED_EDIT_RETRY_MS = [250, 500, 1000, 2000] as const;
const UNKNOWN_INTERACTION = 10062;
/** The kinds of interaction that run something, and so are claimed once; a PING or an autocomplete only reads. */
const CLAIMED: ReadonlySet<number> = new Set([INTERACTION.command, INTERACTION.component]);
/** Interactions are small; anything bigger is not one. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Channel kinds remembered (forums found by a failed post); bounded so memory stays flat at any scale. */
const CHANNEL_CACHE_MAX = 5000;

/**
 * Discord over HTTP interactions: no gateway connection and no cache of servers. Discord posts each
 * interaction to `/discord/interactions`, signed with Ed25519; Inkwire verifies it, answers in the HTTP
 * response (PONG, a message, autocomplete choices, or a deferral edited in later through the webhook), and
 * sends deliveries over REST. Without gateway events Inkwire never hears that a channel was deleted, so it
 * does not announce removals: the engine prunes a channel at its first "unknown channel" answer.
 */
export async function startDiscordHttpAdapter(options: DiscordHttpAdapterOptions): Promise<DiscordHttpAdapter> {
  const log = options.logger;
  const key = parseDiscordPublicKey(options.publicKey);
  const now = options.now ?? Date.now;
  const receipts = options.receipts ?? createMemoryInteractionReceipts();
  const rest = new REST({
    ...(options.apiUrl ? { api: options.apiUrl } : {}),
    timeout: DISCORD_REQUEST_TIMEOUT_MS,
    ...(options.globalRequestsPerSecond ? { globalRequestsPerSecond: options.globalRequestsPerSecond } : {}),
  }).setToken(options.token);
  // A wrong token should stop the start, not the first delivery hours later.
  let me: { id: string; username: string };
  try {
    me = (await rest.get(Routes.user('@me'))) as { id: string; username: string };
  } catch (error) {
    if (isTokenRejected(error)) throw new PlatformAuthError('Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again from the Developer Portal (Bot → Reset Token)', { cause: error });
    throw error;
  }
  log.info({ user: me.username }, 'Discord over HTTP interactions (REST only, no gateway)');

  const channels = new Map<string, DiscordChannelInfo>();
  const delivery = createDiscordDelivery({
    rest,
    logger: log,
    selfId: () => me.id,
    channelInfo: (channelId) => channels.get(channelId) ?? null,
    lookUp: async (channelId) => {
      const channel = (await rest.get(Routes.channel(channelId))) as { type: number; available_tags?: Array<{ id: string; name: string }> };
      const info = { forum: channel.type === 15, tags: channel.available_tags ?? [] };
      if (channels.size >= CHANNEL_CACHE_MAX) channels.delete(channels.keys().next().value!);
      channels.set(channelId, info);
      return info;
    },
  });

  const contextOf = (interaction: RawInteraction): CommandContext => {
    const user = interaction.member?.user ?? interaction.user ?? { id: '0', username: 'someone' };
    const permissions = BigInt(interaction.member?.permissions ?? '0');
    const has = (bit: bigint) => (permissions & PERMISSION.administrator) !== 0n || (permissions & bit) !== 0n;
    const guildId = interaction.guild_id ?? null;
    // Typed in a thread: acts on its parent, whose kind is known when delivery has looked it up already.
    const target = threadParentTarget(interaction.channel, (parentId) => (channels.get(parentId)?.forum ? 'forum' : null));
    const raw = { ...(interaction.channel ? { channel: interaction.channel } : {}), ...(interaction.data?.resolved?.channels ? { resolvedChannels: interaction.data.resolved.channels } : {}) };
    return {
      invoker: {
        userId: user.id,
        displayName: user.global_name ?? user.username,
        canManage: guildId !== null && has(PERMISSION.manageChannels),
        mentions: {
          canMentionAnyRole: async () => guildId !== null && has(PERMISSION.mentionEveryone),
          isMentionable: async (roleId) => {
            if (!guildId) return null;
            const roles = (await rest.get(Routes.guildRoles(guildId))) as Array<{ id: string; mentionable: boolean }>;
            return roles.find((r) => r.id === roleId)?.mentionable ?? null;
          },
        },
      },
      place: { platform: 'discord', workspaceId: guildId, channelId: target?.channelId ?? interaction.channel_id ?? user.id, isDirect: !guildId },
      ...(target ? { target } : {}),
      resolveChannel: async (value, option) => resolveChannelOption(raw, value, option.channelTypes ?? ['text', 'announcement', 'forum']),
      services: options.services,
    };
  };

  const webhook = (interaction: RawInteraction, message = '@original') => Routes.webhookMessage(options.appId, interaction.token, message);
  const withoutFlags = ({ flags: _flags, ...data }: ReturnType<typeof replyData>) => data;

  /**
   * Answers in the HTTP response when the work is done within 2 s; else answers "thinking…" (deferred, with
   * the visibility guessed) and edits the reply in through the webhook. An answer of the other visibility
   * replaces the deferred one (deleted, then a follow-up), as a deferred reply's visibility is fixed.
   */
  /**
   * A webhook request for a deferred reply: sent only once the deferral has gone out, and repeated briefly
   * while Discord answers 10062 (it has not processed the deferral yet).
   */
  async function afterDeferral<T>(deferral: Promise<void>, request: () => Promise<T>): Promise<T> {
    await deferral;
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        const pause = DEFERRED_EDIT_RETRY_MS[attempt];
        if (!(error instanceof DiscordAPIError && error.code === UNKNOWN_INTERACTION) || pause === undefined) throw error;
        log.debug({ attempt: attempt + 1 }, 'the deferral is not processed yet (10062); editing again shortly');
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async function answer(interaction: RawInteraction, work: Promise<Reply>, ephemeralHint: boolean, respond: Respond) {
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([
      work.then((reply) => ({ reply })),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), DEFER_AFTER_MS))),
    ]).finally(() => clearTimeout(timer));
    if (early) return respond({ type: RESPONSE.message, data: replyData(early.reply) });
    // The webhook knows the interaction only once Discord has the deferral: edits wait until it is written.
    const deferral = respond({ type: RESPONSE.deferred, data: { flags: ephemeralHint ? EPHEMERAL : 0 } });
    let reply: Reply;
    try {
      reply = await work;
    } catch (error) {
      log.error({ err: error }, 'interaction failed');
      await afterDeferral(deferral, () => rest.patch(webhook(interaction), { body: { content: GENERIC_FAILURE, allowed_mentions: { parse: [] } }, auth: false })).catch(() => {});
      return;
    }
    const data = replyData(reply);
    if ((reply.visibility === 'private') === ephemeralHint) {
      await afterDeferral(deferral, () => rest.patch(webhook(interaction), { body: withoutFlags(data), auth: false }));
      return;
    }
    await afterDeferral(deferral, () => rest.delete(webhook(interaction), { auth: false })).catch((error: unknown) => log.warn({ err: error }, 'could not remove the deferred reply'));
    await rest.post(Routes.webhook(options.appId, interaction.token), { body: data, auth: false });
  }

  async function dispatch(interaction: RawInteraction, respond: Respond): Promise<void> {
    const name = interaction.data?.name;
    const spec = options.commands.find((s) => s.name === name);
    switch (interaction.type) {
      case INTERACTION.ping:
        return void respond({ type: RESPONSE.pong });
      case INTERACTION.autocomplete: {
        const focused = interaction.data?.options?.find((o) => o.focused);
        const choices = spec && focused ? await runAutocomplete(spec, contextOf(interaction), focused.name, String(focused.value ?? '')) : [];
        return void respond({ type: RESPONSE.choices, data: { choices: choices.map((c) => ({ name: c.label, value: c.value })) } });
      }
      case INTERACTION.command: {
        if (!spec) {
          return void respond({ type: RESPONSE.message, data: { content: 'That command is not one Inkwire knows (yet). Try /help.', flags: EPHEMERAL, allowed_mentions: { parse: [] } } });
        }
        const raw: Record<string, string | number | boolean> = {};
        for (const option of interaction.data?.options ?? []) if (option.value !== undefined) raw[option.name] = option.value;
        return answer(interaction, runCommand(spec, contextOf(interaction), raw), raw.share !== true, respond);
      }
      case INTERACTION.component: {
        const customId = interaction.data?.custom_id ?? '';
        if (customId === 'share' || customId.startsWith('share:')) {
          const tooFast = refusePressIfTooFast(options.commands, contextOf(interaction), customId);
          if (tooFast) return answer(interaction, Promise.resolve(tooFast), true, respond);
          // "Share in channel": post what this person saw, for everyone, without pinging anyone.
          const user = interaction.member?.user ?? interaction.user;
          return void respond({ type: RESPONSE.message, data: { content: `Shared by ${user?.username ?? 'someone'}:`, embeds: interaction.message?.embeds ?? [], allowed_mentions: { parse: [] } } });
        }
        return answer(interaction, runAction(options.commands, contextOf(interaction), customId), true, respond);
      }
      default:
        return void respond({ type: RESPONSE.message, data: { content: 'Inkwire does not handle that kind of interaction.', flags: EPHEMERAL, allowed_mentions: { parse: [] } } });
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const plain = (status: number, text: string) => void res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES && !refused) {
        refused = true;
        plain(413, 'an interaction is never this large');
        req.destroy();
      } else if (!refused) chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = Buffer.concat(chunks);
      const signed = verifyDiscordRequest(key, { signature: header(req, 'x-signature-ed25519'), timestamp: header(req, 'x-signature-timestamp') }, body, now());
      // Discord checks that a bad signature gets 401 before it accepts the endpoint URL.
      if (!signed) {
        log.warn({ remote: req.socket.remoteAddress }, 'interaction refused: missing or invalid signature');
        return plain(401, 'invalid request signature');
      }
      let interaction: RawInteraction;
      try {
        interaction = JSON.parse(body.toString('utf8')) as RawInteraction;
      } catch {
        return plain(400, 'the body is not JSON');
      }
      let answered: Promise<void> | null = null;
      const respond: Respond = (payload) => {
        // Resolves once the answer is written out (flushed to the connection), never rejects.
        answered ??= new Promise<void>((resolve) => {
          res.once('close', resolve);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload), resolve);
        });
        return answered;
      };
      // A command or button runs once: Discord never sends an interaction twice, so a second sight of its id
      // is a replay of the signed request (or a proxy's retry), refused before anything runs.
      const claimed = CLAIMED.has(interaction.type) && typeof interaction.id === 'string' && /^\d{1,20}$/.test(interaction.id)
        ? receipts.claim(`discord:${interaction.id}`, new Date(now()), REPLAY_WINDOW_MS)
        : Promise.resolve(CLAIMED.has(interaction.type) ? null : true);
      claimed.then((first) => {
        if (first === null) return plain(400, 'the interaction has no id');
        if (!first) {
          log.warn({ interactionId: interaction.id, type: interaction.type, remote: req.socket.remoteAddress }, 'interaction refused: already handled (a replay)');
          return plain(409, 'interaction already handled');
        }
        return dispatch(interaction, respond);
      }).catch((error: unknown) => {
        log.error({ err: error, type: interaction.type }, 'interaction failed');
        // Never leave someone looking at "thinking…": the HTTP answer, or the deferred reply, says so.
        if (!answered) void respond({ type: RESPONSE.message, data: { content: GENERIC_FAILURE, flags: EPHEMERAL, allowed_mentions: { parse: [] } } });
        else void afterDeferral(answered, () => rest.patch(webhook(interaction), { body: { content: GENERIC_FAILURE, allowed_mentions: { parse: [] } }, auth: false })).catch(() => {});
      });
    });
  }

  return {
    name: 'discord',
    announcesRemovals: false,
    isConnected: () => true,
    send: delivery.send,
    requestTimeoutMs: delivery.requestTimeoutMs,
    edit: delivery.edit,
    handle,
    registerCommands: (guildId) => putApplicationCommands(rest, options.appId, options.commands, guildId ?? null),
    async stop() {
      // Nothing to close: REST requests finish on their own, and the HTTP server belongs to the caller.
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

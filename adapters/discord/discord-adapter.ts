import {
  ChannelType,
  Status,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Options,
  PermissionFlagsBits,
  type Interaction,
} from 'discord.js';
import type { CommandContext, CommandServices, CommandSpec } from '../../src/commands/command-spec.ts';
import { refusePressIfTooFast, runAction, runAutocomplete, runCommand, GENERIC_FAILURE } from '../../src/commands/command-runner.ts';
import type { Reply } from '../../src/commands/reply.ts';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import { PlatformAuthError } from '../../src/platform/platform-connection.ts';
import { putApplicationCommands } from './discord-commands.ts';
import { isTokenRejected } from './discord-token.ts';
import { createDiscordDelivery, DISCORD_REQUEST_TIMEOUT_MS } from './discord-delivery.ts';
import { replyData } from './discord-render.ts';
import { channelKind, resolveChannelOption, threadParentTarget, type InteractionChannel, type InteractionPlace } from './discord-command-target.ts';

export interface DiscordAdapterOptions {
  token: string;
  appId: string;
  /** REST base (`https://discord.com/api`); tests point it at the fake. The gateway URL comes from GET /gateway/bot. */
  apiUrl?: string;
  commands: readonly CommandSpec[];
  services: CommandServices;
  logger: Logger;
  /** A server removed the bot, or a channel was deleted: its subscriptions go. */
  onWorkspaceRemoved: (guildId: string) => Promise<void>;
  onChannelRemoved: (channelId: string) => Promise<void>;
  /** discord.js's client-side global limit (Discord's is 50/s). */
  globalRequestsPerSecond?: number;
  /** The gateway shards to run here: every one (absent), Discord's recommended count, or these ids of `count`. */
  shards?: 'auto' | { ids: readonly number[]; count: number } | null;
}

export interface DiscordAdapter extends ChatPlatform {
  readonly client: Client;
  registerCommands(guildId?: string): Promise<number>;
  stop(): Promise<void>;
}

/** Replies that could take longer than this are deferred first: Discord wants an answer within 3 s. */
const DEFER_AFTER_MS = 2000;

/**
 * Discord through discord.js v14: `Guilds` intent only, caches cut to what permission checks need,
 * interactions dispatched to the shared command specs, and delivery through REST with a nonce.
 */
export async function startDiscordAdapter(options: DiscordAdapterOptions): Promise<DiscordAdapter> {
  const log = options.logger;
  const shards = options.shards;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    // Several instances each run some shards; a guild's interactions arrive on its shard's connection, and any
    // instance may send its deliveries (REST needs no gateway).
    ...(shards === 'auto' ? { shards: 'auto' as const } : shards ? { shards: [...shards.ids], shardCount: shards.count } : {}),
    rest: {
      ...(options.apiUrl ? { api: options.apiUrl } : {}),
      timeout: DISCORD_REQUEST_TIMEOUT_MS,
      ...(options.globalRequestsPerSecond ? { globalRequestsPerSecond: options.globalRequestsPerSecond } : {}),
    },
    // Guilds, channels, roles and overwrites stay (permission checks need them); everything else is not cached.
    makeCache: Options.cacheWithLimits({
      ...Options.DefaultMakeCacheSettings,
      MessageManager: 0,
      ReactionManager: 0,
      ReactionUserManager: 0,
      GuildEmojiManager: 0,
      BaseGuildEmojiManager: 0,
      GuildStickerManager: 0,
      ThreadManager: 0,
      ThreadMemberManager: 0,
      PresenceManager: 0,
      VoiceStateManager: 0,
      GuildInviteManager: 0,
      GuildScheduledEventManager: 0,
      StageInstanceManager: 0,
      GuildBanManager: 0,
      ApplicationCommandManager: 0,
      AutoModerationRuleManager: 0,
      EntitlementManager: 0,
      GuildMemberManager: { maxSize: 1, keepOverLimit: (member) => member.id === member.client.user.id },
      UserManager: { maxSize: 1, keepOverLimit: (user) => user.id === user.client.user.id },
    }),
    sweepers: Options.DefaultSweeperSettings,
    allowedMentions: { parse: [] },
  });

  // What discord.js does not keep of an interaction: its channel's kind and parent (threads are not cached)
  // and the resolved `channel:` option with the member's permissions there. Taken from the raw event.
  const places = new Map<string, InteractionPlace>();
  client.on(Events.Raw, (packet: { t?: string | null; d?: { id?: string; channel?: InteractionChannel; data?: { resolved?: { channels?: Record<string, InteractionChannel> } } } }) => {
    if (packet.t !== 'INTERACTION_CREATE' || !packet.d?.id) return;
    places.set(packet.d.id, { ...(packet.d.channel ? { channel: packet.d.channel } : {}), ...(packet.d.data?.resolved?.channels ? { resolvedChannels: packet.d.data.resolved.channels } : {}) });
    if (places.size > 1000) places.delete(places.keys().next().value!);
  });
  const parentKind = (parentId: string) => channelKind(client.channels.cache.get(parentId)?.type);

  const contextOf = (interaction: Interaction): CommandContext => {
    const raw = places.get(interaction.id) ?? {};
    const target = threadParentTarget(raw.channel, parentKind);
    return {
      invoker: {
        userId: interaction.user.id,
        displayName: interaction.user.globalName ?? interaction.user.username,
        canManage: interaction.memberPermissions?.has(PermissionFlagsBits.ManageChannels) ?? false,
        mentions: {
          canMentionAnyRole: async () => interaction.memberPermissions?.has(PermissionFlagsBits.MentionEveryone) ?? false,
          isMentionable: async (roleId) => {
            const role = interaction.guild?.roles.cache.get(roleId) ?? null;
            return role ? role.mentionable : null;
          },
        },
      },
      place: { platform: 'discord', workspaceId: interaction.guildId, channelId: target?.channelId ?? interaction.channelId ?? interaction.user.id, isDirect: !interaction.guildId },
      ...(target ? { target } : {}),
      resolveChannel: async (value, option) => resolveChannelOption(raw, value, option.channelTypes ?? ['text', 'announcement', 'forum']),
      services: options.services,
    };
  };

  /**
   * Answers within Discord's 3 s: replies directly when the work is quick, else defers after 2 s and edits
   * the deferred reply. The defer is awaited before editing (discord.js marks the interaction deferred only
   * when its request returns). A deferred reply's visibility is fixed when it is deferred, so an answer of
   * the other visibility replaces it: the deferred one is deleted and the answer follows up.
   */
  async function answer(interaction: Interaction & { deferred: boolean; replied: boolean }, work: Promise<Reply>, ephemeralHint: boolean) {
    if (!interaction.isRepliable()) return;
    let deferring: Promise<boolean> | null = null;
    const timer = setTimeout(() => {
      deferring = interaction
        .deferReply(ephemeralHint ? { flags: MessageFlags.Ephemeral } : {})
        .then(() => true)
        .catch((error: unknown) => {
          log.warn({ err: error }, 'could not defer');
          return false;
        });
    }, DEFER_AFTER_MS);
    let reply: Reply;
    try {
      reply = await work;
    } finally {
      clearTimeout(timer);
    }
    const deferred = deferring ? await deferring : false;
    const data = replyData(reply);
    if (!deferred && !interaction.deferred) {
      await interaction.reply(data as never);
      return;
    }
    if ((reply.visibility === 'private') === ephemeralHint) {
      const { flags: _flags, ...edit } = data;
      await interaction.editReply(edit as never);
      return;
    }
    await interaction.deleteReply().catch((error: unknown) => log.warn({ err: error }, 'could not remove the deferred reply'));
    await interaction.followUp(data as never);
  }

  client.on(Events.InteractionCreate, (interaction) => {
    void (async () => {
      try {
        await handleInteraction(interaction);
      } finally {
        places.delete(interaction.id);
      }
    })();
  });
  async function handleInteraction(interaction: Interaction) {
    try {
      if (interaction.isAutocomplete()) {
        const spec = options.commands.find((s) => s.name === interaction.commandName);
        const focused = interaction.options.getFocused(true);
        const choices = spec ? await runAutocomplete(spec, contextOf(interaction), focused.name, String(focused.value)) : [];
        await interaction.respond(choices.map((c) => ({ name: c.label, value: c.value })));
        return;
      }
      if (interaction.isChatInputCommand()) {
        const spec = options.commands.find((s) => s.name === interaction.commandName);
        if (!spec) {
          await interaction.reply({ content: 'That command is not one Inkwire knows (yet). Try /help.', flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
          return;
        }
        const raw: Record<string, string | number | boolean> = {};
        for (const option of interaction.options.data) if (option.value !== undefined) raw[option.name] = option.value;
        await answer(interaction, runCommand(spec, contextOf(interaction), raw), raw.share !== true);
        return;
      }
      if (interaction.isButton()) {
        if (interaction.customId === 'share' || interaction.customId.startsWith('share:')) {
          const tooFast = refusePressIfTooFast(options.commands, contextOf(interaction), interaction.customId);
          if (tooFast) return void (await answer(interaction, Promise.resolve(tooFast), true));
          // "Share in channel": post what this person saw, for everyone, without pinging anyone. (Discord
          // keeps the message, and a custom_id holds only 100 characters of the query.)
          await interaction.reply({ content: `Shared by ${interaction.user.username}:`, embeds: interaction.message.embeds.map((e) => e.toJSON()), allowedMentions: { parse: [] } });
          return;
        }
        await answer(interaction, runAction(options.commands, contextOf(interaction), interaction.customId), true);
      }
    } catch (error) {
      log.error({ err: error }, 'interaction failed');
      if (interaction.isRepliable() && !interaction.replied) {
        // Never leave someone looking at "thinking…": answer the deferred reply too.
        const failure = interaction.deferred
          ? interaction.editReply({ content: GENERIC_FAILURE, allowedMentions: { parse: [] } })
          : interaction.reply({ content: GENERIC_FAILURE, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
        await failure.catch(() => {});
      }
    }
  }
  client.on(Events.GuildDelete, (guild) => {
    if (guild.available === false) return; // an outage, not a removal
    void options.onWorkspaceRemoved(guild.id).catch((error: unknown) => log.error({ err: error }, 'removing a server failed'));
  });
  client.on(Events.ChannelDelete, (channel) => {
    void options.onChannelRemoved(channel.id).catch((error: unknown) => log.error({ err: error }, 'removing a channel failed'));
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardResume, () => log.info('gateway resumed'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(options.token);
  } catch (error) {
    await client.destroy().catch(() => {});
    // A refused token is a misconfiguration (no retry); anything else (unreachable, 5xx) is an outage.
    if (isTokenRejected(error)) throw new PlatformAuthError('Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again from the Developer Portal (Bot → Reset Token)', { cause: error });
    throw error;
  }
  await ready;
  log.info({ guilds: client.guilds.cache.size, shards: client.ws.shards.map((shard) => shard.id), shardCount: client.options.shardCount }, 'connected to Discord');

  const delivery = createDiscordDelivery({
    rest: client.rest,
    logger: log,
    selfId: () => client.user?.id ?? null,
    channelInfo: (channelId) => {
      const channel = client.channels.cache.get(channelId);
      return channel?.type === ChannelType.GuildForum ? { forum: true, tags: channel.availableTags } : { forum: false, tags: [] };
    },
  });

  return {
    name: 'discord',
    client,
    announcesRemovals: true,
    isConnected: () => client.isReady() && client.ws.status === Status.Ready,
    send: delivery.send,
    requestTimeoutMs: delivery.requestTimeoutMs,
    edit: delivery.edit,
    registerCommands: (guildId) => putApplicationCommands(client.rest, options.appId, options.commands, guildId ?? null),
    async stop() {
      await client.destroy();
    },
  };
}

import { DiscordAPIError, HTTPError, Routes, type REST } from 'discord.js';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform, PlatformRequestKind, SendOptions } from '../../src/platform/chat-platform.ts';
import { foldWords } from '../../src/delivery/keyword-filter.ts';
import { mayHavePosted } from '../../src/delivery/network-outcome.ts';
import { toDeliveryError } from './discord-errors.ts';
import { deliveryMessage } from './discord-render.ts';

/** How long one REST request may take before discord.js gives up on it (the REST client's `timeout`). */
export const DISCORD_REQUEST_TIMEOUT_MS = 15_000;

/**
 * How long one send can stay on the wire: discord.js retries a request that timed out or was reset (its
 * `retries`, 3 by default) with no pause, so up to four timeouts. An aborted send stops at once (the retries
 * see the aborted signal); this is the window for a request the platform had already taken.
 */
export const DISCORD_SEND_WINDOW_MS = DISCORD_REQUEST_TIMEOUT_MS * 4;

/**
 * How far before an uncertain attempt's start a forum post found by the look-up may have been created: the
 * thread's id carries Discord's clock, the attempt's start Inkwire's; this absorbs the difference.
 */
export const THREAD_LOOKUP_SKEW_MS = 60_000;

/** Discord's answer when a thread is started on a message that already has one. */
const THREAD_ALREADY_CREATED = 160004;

/** Waits for a slot of the token's request budget before one request; the first call of a send uses the slot the engine reserved. */
type RequestSlot = (kind: PlatformRequestKind) => Promise<void>;

/**
 * The slots of one send: its first request goes on the slot the engine took before calling `send`, each
 * further one (DM channel, look-up, forum post look-up, thread) reserves its own from `reserveRequest`.
 */
function requestSlots(reserveRequest: SendOptions['reserveRequest']): RequestSlot {
  let first = true;
  return async (kind) => {
    if (first) {
      first = false;
      return;
    }
    await reserveRequest?.(kind);
  };
}

const unpaced: RequestSlot = async () => {};

/** Milliseconds since the epoch at which Discord made this snowflake (a thread's id is its creation time). */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + 1420070400000n);
}

/** What delivery needs to know of a channel: whether it is a forum, and then its tags. */
export interface DiscordChannelInfo {
  forum: boolean;
  tags: ReadonlyArray<{ id: string; name: string }>;
}

/** A thread or forum post is named after the post (Discord allows 100 characters). */
export function threadName(title: string): string {
  const clean = title.replace(/\s+/g, ' ').trim() || 'Explainer';
  return clean.length <= 100 ? clean : `${clean.slice(0, 99).trimEnd()}…`;
}

/** The forum's tags whose name occurs in the post (title, subtitle, tl;dr, feed), at most Discord's 5. */
export function forumTagsFor(tags: ReadonlyArray<{ id: string; name: string }>, card: { title: string; subtitle: string | null; tldr: string | null; feedTitle: string | null }): string[] {
  const words = ` ${foldWords(`${card.title} ${card.subtitle ?? ''} ${card.tldr ?? ''} ${card.feedTitle ?? ''}`).join(' ')} `;
  return tags.filter((tag) => {
    const name = foldWords(tag.name).join(' ');
    return name.length > 0 && words.includes(` ${name} `);
  }).slice(0, 5).map((tag) => tag.id);
}

/**
 * Sending and editing explainers over Discord's REST API, the same for the gateway bot and the
 * HTTP-interactions bot: they differ only in how they learn a channel's kind (the gateway's cache, or a
 * REST look-up).
 */
export function createDiscordDelivery(options: {
  rest: REST;
  /** What is known of the channel already; null when unknown (it is then taken for a text channel). */
  channelInfo: (channelId: string) => DiscordChannelInfo | null;
  /**
   * Asks Discord (and remembers): used when a channel taken for a text channel answers "not a text
   * channel", so a forum costs one look-up and a text channel none.
   */
  lookUp?: (channelId: string) => Promise<DiscordChannelInfo>;
  /** The bot's own user id (the owner of the threads it makes), once known. */
  selfId?: () => string | null;
  logger: Logger;
}): Pick<ChatPlatform, 'send'> & Required<Pick<ChatPlatform, 'edit' | 'requestTimeoutMs'>> {
  const { rest, logger: log } = options;
  // A DM channel id never changes for a user; bounded so memory stays flat however many readers subscribe.
  const dmChannels = new Map<string, string>();
  const channelFor = async (destination: Parameters<ChatPlatform['send']>[0], signal?: AbortSignal, slot: RequestSlot = unpaced) => {
    if (!destination.direct) return destination.channelId;
    let id = dmChannels.get(destination.channelId);
    if (!id) {
      await slot('dm-channel');
      id = ((await rest.post(Routes.userChannels(), { body: { recipient_id: destination.channelId }, ...(signal ? { signal } : {}) })) as { id: string }).id;
      if (dmChannels.size >= 10_000) dmChannels.delete(dmChannels.keys().next().value!);
      dmChannels.set(destination.channelId, id);
    }
    return id;
  };
  const forumOf = (destination: Parameters<ChatPlatform['send']>[0], channelId: string) => {
    const info = destination.direct ? null : options.channelInfo(channelId);
    return info?.forum ? info : null;
  };
  type Card = Extract<Parameters<ChatPlatform['send']>[1], { kind: 'post' }>['card'];
  /**
   * The forum post an earlier attempt of this delivery made, if its answer was lost: among the server's
   * active threads, one in this forum, owned by the bot, named after the post, created since the uncertain
   * attempt began (less the clock skew), whose starter message links to the same post.
   */
  const earlierForumPost = async (guildId: string, forumId: string, card: Card, since: Date, slot: RequestSlot, signal?: AbortSignal): Promise<string | null> => {
    await slot('look-up');
    const { threads } = (await rest.get(Routes.guildActiveThreads(guildId), signal ? { signal } : {})) as { threads: Array<{ id: string; parent_id?: string | null; owner_id?: string; name: string }> };
    const self = options.selfId?.() ?? null;
    const name = threadName(card.title);
    const candidates = threads.filter((t) => t.parent_id === forumId && t.name === name && (!self || t.owner_id === self) && snowflakeTime(t.id) >= since.getTime() - THREAD_LOOKUP_SKEW_MS);
    for (const thread of candidates) {
      await slot('look-up');
      const starter = (await rest.get(Routes.channelMessage(thread.id, thread.id), signal ? { signal } : {}).catch(() => null)) as { embeds?: Array<{ url?: string }> } | null;
      if (starter && (starter.embeds?.[0]?.url ?? null) === (card.url || null)) return thread.id;
    }
    return null;
  };
  const postInForum = async (destination: Parameters<ChatPlatform['send']>[0], channelId: string, forum: DiscordChannelInfo, card: Card, body: ReturnType<typeof deliveryMessage>, sendOptions: { signal?: AbortSignal | undefined; uncertainSince?: Date | null | undefined; slot: RequestSlot }) => {
    const { signal, uncertainSince, slot } = sendOptions;
    // A forum post takes no nonce, so Discord cannot absorb a repeat: after an attempt whose outcome is
    // unknown, look for the post it may have made before making one.
    if (uncertainSince && destination.workspaceId) {
      const found = await earlierForumPost(destination.workspaceId, channelId, card, uncertainSince, slot, signal);
      if (found) {
        log.info({ channelId, threadId: found }, 'an earlier attempt had made this forum post; not posting it again');
        return { messageId: found };
      }
    }
    // One forum post per explainer, tagged with the forum's tags the post is about.
    const { nonce: _n, enforce_nonce: _e, ...first } = body;
    const tags = forumTagsFor(forum.tags, card);
    // discord.js repeats a request that timed out at once and blindly; here the repeat must look first, so
    // this request gives up (aborted: no repeat) just before discord.js's own timeout would fire, and the
    // engine's next attempt, marked uncertain, does the look-up.
    await slot('post');
    const timeout = AbortSignal.timeout(DISCORD_REQUEST_TIMEOUT_MS - 1000);
    const thread = (await rest.post(Routes.threads(channelId), {
      body: { name: threadName(card.title), auto_archive_duration: 10080, message: first, ...(tags.length > 0 ? { applied_tags: tags } : {}) },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })) as { id: string };
    return { messageId: thread.id }; // the starter message of a forum post has the thread's id
  };
  /**
   * Starts the card's discussion thread, once: a message has at most one thread, and Discord answers 160004
   * to a second start (an earlier attempt made it; its id is the message's). A start whose answer was lost
   * is asked once more, which either makes it or answers 160004.
   */
  const startThread = async (channelId: string, messageId: string, title: string, slot: RequestSlot) => {
    const create = async () => {
      await slot('thread');
      return rest.post(Routes.threads(channelId, messageId), { body: { name: threadName(title), auto_archive_duration: 1440 } });
    };
    const alreadyThere = (error: unknown) => error instanceof DiscordAPIError && error.code === THREAD_ALREADY_CREATED;
    try {
      await create().catch(async (error: unknown) => {
        if (error instanceof DiscordAPIError || error instanceof HTTPError || !mayHavePosted(error)) throw error;
        await create();
      });
    } catch (error) {
      if (alreadyThere(error)) return;
      // The card is delivered; a thread that cannot be opened (permissions) is logged, never a resend.
      log.warn({ err: error, channelId }, 'could not start the discussion thread (is Create Public Threads allowed?)');
    }
  };

  return {
    requestTimeoutMs: DISCORD_SEND_WINDOW_MS,
    // The signal reaches discord.js's request (its queue wait and the fetch): an abandoned send is cancelled.
    // Every request a send makes takes a slot of the token's budget (`reserveRequest`), not only the first.
    async send(destination, message, { idempotencyKey, signal, uncertainSince, reserveRequest }) {
      const slot = requestSlots(reserveRequest);
      let channelId: string;
      let sent: { id: string };
      try {
        channelId = await channelFor(destination, signal, slot);
        const body = deliveryMessage(message, idempotencyKey);
        const forum = message.kind === 'post' ? forumOf(destination, channelId) : null;
        if (forum && message.kind === 'post') return await postInForum(destination, channelId, forum, message.card, body, { signal, uncertainSince, slot });
        try {
          await slot('post');
          sent = (await rest.post(Routes.channelMessages(channelId), { body, ...(signal ? { signal } : {}) })) as { id: string };
        } catch (error) {
          // 50008 "Cannot send messages in a non-text channel": a forum not known as one yet.
          if (!(error instanceof DiscordAPIError && error.code === 50008 && options.lookUp && message.kind === 'post' && !destination.direct)) throw error;
          await slot('look-up');
          const info = await options.lookUp(channelId);
          if (!info.forum) throw error;
          return await postInForum(destination, channelId, info, message.card, body, { signal, uncertainSince, slot });
        }
      } catch (error) {
        throw toDeliveryError(error);
      }
      if (message.kind === 'post' && message.thread) await startThread(channelId, sent.id, message.card.title, slot);
      return { messageId: sent.id };
    },
    async edit(destination, messageId, message) {
      try {
        const { nonce: _n, enforce_nonce: _e, ...body } = deliveryMessage(message, 'edit');
        const channelId = await channelFor(destination);
        // In a forum the message lives in its own thread, whose id is the message's.
        const forum = destination.direct ? null : (options.channelInfo(channelId) ?? (await options.lookUp?.(channelId)) ?? null);
        await rest.patch(Routes.channelMessage(forum?.forum ? messageId : channelId, messageId), { body });
      } catch (error) {
        throw toDeliveryError(error);
      }
    },
  };
}

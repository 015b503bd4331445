import { DiscordAPIError, Routes, type REST } from 'discord.js';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import { foldWords } from '../../src/delivery/keyword-filter.ts';
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
  logger: Logger;
}): Pick<ChatPlatform, 'send'> & Required<Pick<ChatPlatform, 'edit' | 'requestTimeoutMs'>> {
  const { rest, logger: log } = options;
  // A DM channel id never changes for a user; bounded so memory stays flat however many readers subscribe.
  const dmChannels = new Map<string, string>();
  const channelFor = async (destination: Parameters<ChatPlatform['send']>[0], signal?: AbortSignal) => {
    if (!destination.direct) return destination.channelId;
    let id = dmChannels.get(destination.channelId);
    if (!id) {
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
  const postInForum = async (channelId: string, forum: DiscordChannelInfo, card: Extract<Parameters<ChatPlatform['send']>[1], { kind: 'post' }>['card'], body: ReturnType<typeof deliveryMessage>, signal?: AbortSignal) => {
    // One forum post per explainer, tagged with the forum's tags the post is about. (A forum post takes
    // no nonce: a lost answer retried later can make a second post.)
    const { nonce: _n, enforce_nonce: _e, ...first } = body;
    const tags = forumTagsFor(forum.tags, card);
    const thread = (await rest.post(Routes.threads(channelId), {
      body: { name: threadName(card.title), auto_archive_duration: 10080, message: first, ...(tags.length > 0 ? { applied_tags: tags } : {}) },
      ...(signal ? { signal } : {}),
    })) as { id: string };
    return { messageId: thread.id }; // the starter message of a forum post has the thread's id
  };

  return {
    requestTimeoutMs: DISCORD_SEND_WINDOW_MS,
    // The signal reaches discord.js's request (its queue wait and the fetch): an abandoned send is cancelled.
    async send(destination, message, { idempotencyKey, signal }) {
      let channelId: string;
      let sent: { id: string };
      try {
        channelId = await channelFor(destination, signal);
        const body = deliveryMessage(message, idempotencyKey);
        const forum = message.kind === 'post' ? forumOf(destination, channelId) : null;
        if (forum && message.kind === 'post') return await postInForum(channelId, forum, message.card, body, signal);
        try {
          sent = (await rest.post(Routes.channelMessages(channelId), { body, ...(signal ? { signal } : {}) })) as { id: string };
        } catch (error) {
          // 50008 "Cannot send messages in a non-text channel": a forum not known as one yet.
          if (!(error instanceof DiscordAPIError && error.code === 50008 && options.lookUp && message.kind === 'post' && !destination.direct)) throw error;
          const info = await options.lookUp(channelId);
          if (!info.forum) throw error;
          return await postInForum(channelId, info, message.card, body, signal);
        }
      } catch (error) {
        throw toDeliveryError(error);
      }
      if (message.kind === 'post' && message.thread) {
        // The card is delivered; a thread that cannot be opened (permissions) is logged, never a resend.
        await rest
          .post(Routes.threads(channelId, sent.id), { body: { name: threadName(message.card.title), auto_archive_duration: 1440 } })
          .catch((error: unknown) => log.warn({ err: error, channelId }, 'could not start the discussion thread (is Create Public Threads allowed?)'));
      }
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

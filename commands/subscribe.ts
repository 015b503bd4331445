import { visibleFeeds } from '../src/feeds/feed-visibility.ts';
import { redactUrl } from '../src/feeds/url-secrets.ts';
import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply } from '../src/commands/reply.ts';
import { MAX_KEYWORDS_TEXT } from '../src/delivery/keyword-filter.ts';
import { DELIVERY_MODES, type DeliveryMode } from '../src/delivery/subscription.ts';
import { subscriptionSpans, targetSpans } from './subscription-text.ts';

export const SUBSCRIBE_ACTION = 'sub';

/**
 * `/subscribe [feed] [keywords] [mode] [mention] [thread] [channel]`: this channel (or the one `channel:`
 * names, or a thread's parent) gets new posts (managers of that channel only).
 */
export const subscribeCommand: CommandSpec = {
  name: 'subscribe',
  description: 'Post new explainers in this channel',
  permission: 'manage',
  options: [
    { name: 'feed', description: 'Feed URL or name (default: The Daily Ink)', type: 'string', maxLength: 500, autocomplete: true, rest: true },
    { name: 'keywords', description: 'Only posts mentioning any of these, e.g. "diffusion, RLHF"', type: 'string', maxLength: MAX_KEYWORDS_TEXT, keepQuotes: true },
    { name: 'mode', description: 'instant (default), or a daily or weekly digest', type: 'string', choices: DELIVERY_MODES.map((m) => ({ name: m, value: m })) },
    { name: 'mention', description: 'A role to notify with each post (never everyone)', type: 'string', maxLength: 100 },
    { name: 'thread', description: 'Start a discussion thread under each post (default false)', type: 'boolean' },
    { name: 'channel', description: 'The channel or forum to subscribe (default: this one)', type: 'channel', channelTypes: ['text', 'announcement', 'forum'] },
  ],
  async handle({ services, place, invoker, target }, args) {
    const result = await services.subscriptions.subscribe(place, invoker, {
      ...(typeof args.feed === 'string' ? { feed: args.feed } : {}),
      ...(typeof args.keywords === 'string' ? { keywords: args.keywords } : {}),
      ...(typeof args.mode === 'string' ? { mode: args.mode as DeliveryMode } : {}),
      ...(typeof args.mention === 'string' ? { mention: args.mention } : {}),
      ...(typeof args.thread === 'boolean' ? { thread: args.thread } : {}),
    });
    // Typed elsewhere: the refusal names the channel it is about ("This channel …" would mean the wrong one).
    if (!result.ok) return textReply('private', target ? [...targetSpans(target), text(': '), { text: result.error.message, own: true }] : result.error.message);
    const { subscription, created, released, changed } = result.value;
    // Typed elsewhere (a thread, or with `channel:`): say which channel this was.
    const what = (verb: string) => (target ? [text(`${verb} `), ...targetSpans(target), text(': ')] : [text(`${verb}: `)]);
    if (changed) {
      return {
        visibility: 'public',
        blocks: [
          { kind: 'text', spans: [...what('Updated'), ...subscriptionSpans(subscription, { withChannel: false, withState: false })] },
          { kind: 'text', spans: [text(`Changed: ${changed.join('; ')}.`)] },
        ],
      };
    }
    const when = subscription.mode === 'instant' ? 'as they are published' : subscription.mode === 'daily' ? 'in a daily digest' : 'in a weekly digest';
    const waiting = released ? released.held + released.summarised : 0;
    const heldNote = released && waiting > 0
      ? [{ kind: 'text' as const, spans: [text(`${waiting} post${waiting === 1 ? '' : 's'} published while paused ${waiting === 1 ? 'follows' : 'follow'} now${released.summarised > 0 ? ` (${released.summarised} of them in one summary)` : ''}.`)] }]
      : [];
    return {
      visibility: 'public',
      blocks: [
        { kind: 'text', spans: [...what(created ? 'Subscribed' : 'Resumed'), ...subscriptionSpans(subscription, { withChannel: false, withState: false })] },
        ...heldNote,
        target?.reason === 'named'
          ? { kind: 'text', spans: [text(`New posts will appear there ${when}.`)] }
          : { kind: 'text', spans: [text(`New posts will appear ${target ? 'there' : 'here'} ${when}. Post the latest one now?`)] },
      ],
      // The button acts where it is pressed: only offered when that is the subscribed channel (or its thread).
      ...(target?.reason === 'named' ? {} : { buttons: [
        { label: 'Post the latest now', action: `${SUBSCRIBE_ACTION}:latest:${subscription.id}`, style: 'primary' },
        { label: 'No thanks', action: `${SUBSCRIBE_ACTION}:dismiss:${subscription.id}`, style: 'secondary' },
      ] as const }),
    };
  },
  async autocomplete({ services, place }, option, partial) {
    if (option !== 'feed') return [];
    // The configured feeds and this server's own (ADR 005); matched on what is shown, never on a hidden secret.
    const feeds = await visibleFeeds(services.feeds, place);
    const needle = partial.toLowerCase();
    return feeds
      .filter((f) => `${f.title ?? ''} ${redactUrl(f.url)}`.toLowerCase().includes(needle))
      .map((f) => ({ label: f.title ? `${f.title} (${redactUrl(f.url)})` : redactUrl(f.url), value: redactUrl(f.url) }));
  },
  actions: {
    prefix: SUBSCRIBE_ACTION,
    async handle({ services, place, invoker }, payload) {
      const match = /^(latest|dismiss):(\d{1,12})$/.exec(payload);
      if (!match) return textReply('private', 'That button is not valid; nothing was changed.');
      if (!invoker.canManage) return textReply('private', 'Only people who can manage this channel can use that button.');
      if (match[1] === 'dismiss') return textReply('private', 'OK — new posts will arrive here as they are published.');
      const result = await services.subscriptions.postLatestNow(Number(match[2]), place);
      return textReply('private', result.ok ? result.value : result.error.message);
    },
  },
};

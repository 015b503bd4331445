import { redactUrl } from '../src/feeds/url-secrets.ts';
import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply } from '../src/commands/reply.ts';
import { describeSubscriptionFeed } from '../src/delivery/subscription-service.ts';
import { targetSpans } from './subscription-text.ts';

/** `/unsubscribe [feed] [channel]`: stop posting a feed here, or in the named channel (its managers only); pending posts are cancelled. */
export const unsubscribeCommand: CommandSpec = {
  name: 'unsubscribe',
  description: 'Stop posting a feed in this channel',
  permission: 'manage',
  options: [
    { name: 'feed', description: "Which of this channel's feeds (or all)", type: 'string', maxLength: 500, autocomplete: true, rest: true },
    { name: 'channel', description: 'The channel or forum to unsubscribe (default: this one)', type: 'channel', channelTypes: ['text', 'announcement', 'forum'] },
  ],
  async handle({ services, place, target }, args) {
    const result = await services.subscriptions.unsubscribe(place, typeof args.feed === 'string' ? args.feed : undefined);
    // Typed elsewhere: the refusal names the channel it is about ("This channel …" would mean the wrong one).
    if (!result.ok) return textReply('private', target ? [...targetSpans(target), text(': '), { text: result.error.message, own: true }] : result.error.message);
    return {
      visibility: 'public',
      blocks: [{ kind: 'text', spans: [...(target ? [text('Unsubscribed '), ...targetSpans(target), text(' from ')] : [text('Unsubscribed this channel from ')]), text(result.value.map(describeSubscriptionFeed).join(', '), { bold: true }), text('.')] }],
    };
  },
  async autocomplete({ services, place }, option, partial) {
    if (option !== 'feed') return [];
    const needle = partial.toLowerCase();
    const mine = await services.subscriptions.channelFeeds(place);
    const choices = mine
      .filter((s) => `${s.feedTitle ?? ''} ${s.feedUrl ?? ''}`.toLowerCase().includes(needle))
      .map((s) => ({ label: describeSubscriptionFeed(s), value: s.feedUrl ? redactUrl(s.feedUrl) : '' }));
    return mine.length > 1 ? [...choices, { label: 'All of them', value: 'all' }] : choices;
  },
};

import { redactUrl } from '../src/feeds/url-secrets.ts';
import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply } from '../src/commands/reply.ts';
import { describeSubscriptionFeed } from '../src/delivery/subscription-service.ts';

/** `/unsubscribe [feed]`: stop posting a feed here (managers only); pending posts are cancelled. */
export const unsubscribeCommand: CommandSpec = {
  name: 'unsubscribe',
  description: 'Stop posting a feed in this channel',
  permission: 'manage',
  options: [{ name: 'feed', description: "Which of this channel's feeds (or all)", type: 'string', maxLength: 500, autocomplete: true, rest: true }],
  async handle({ services, place }, args) {
    const result = await services.subscriptions.unsubscribe(place, typeof args.feed === 'string' ? args.feed : undefined);
    if (!result.ok) return textReply('private', result.error.message);
    return {
      visibility: 'public',
      blocks: [{ kind: 'text', spans: [text('Unsubscribed this channel from '), text(result.value.map(describeSubscriptionFeed).join(', '), { bold: true }), text('.')] }],
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

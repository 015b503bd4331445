import { buildPostCard } from '../src/cards/post-card.ts';
import type { CommandSpec } from '../src/commands/command-spec.ts';
import { textReply } from '../src/commands/reply.ts';
import { visibleFeeds } from '../src/feeds/feed-visibility.ts';
import { redactUrl } from '../src/feeds/url-secrets.ts';

export const LATEST_MAX = 10;

/** `/latest [count]`: the newest posts as explainer cards. */
export const latestCommand: CommandSpec = {
  name: 'latest',
  description: 'Show the newest explainers',
  permission: 'everyone',
  options: [
    { name: 'count', description: `How many posts (1-${LATEST_MAX}, default 3)`, type: 'integer', min: 1, max: LATEST_MAX, rest: true },
  ],
  async handle({ services, place }, args) {
    const count = typeof args.count === 'number' ? args.count : 3;
    // Only the feeds this server may see (ADR 005), in the query itself: never another server's posts.
    const visible = await visibleFeeds(services.feeds, place);
    const posts = await services.posts.latest({ limit: count, feedIds: visible.map((f) => f.id) });
    if (posts.length === 0) {
      // Nothing stored: say why when the reason is a feed that cannot be read: a configured one, or one this
      // server follows (never another server's).
      const failing = visible.filter((f) => (services.feedUrls.includes(f.url) || f.addedBy !== null) && f.consecutiveFailures > 0);
      return textReply(
        'private',
        'No posts stored yet. Inkwire polls its feeds every few minutes; the first posts appear after the first successful poll.',
        ...failing.map((f) => `⚠ ${f.title ?? redactUrl(f.url)} cannot be read right now (${f.consecutiveFailures} failed poll${f.consecutiveFailures === 1 ? '' : 's'}${f.lastError ? `: ${f.lastError}` : ''}). Inkwire keeps retrying.`),
      );
    }
    return {
      visibility: 'private',
      summary: `The ${posts.length === 1 ? 'latest explainer' : `${posts.length} latest explainers`}: ${posts.map((p) => p.title).join(' · ')}`,
      moreHint: 'ask for fewer with `count:`',
      blocks: posts.map((post) => ({ kind: 'card', card: buildPostCard(post) })),
    };
  },
};

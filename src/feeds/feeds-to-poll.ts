import type { FeedRecord, FeedStore } from '../storage/feed-store.ts';

/**
 * The feeds worth polling: those the operator configured (FEED_URLS) and those a channel still subscribes
 * to. A feed taken out of FEED_URLS with nobody subscribed stops being fetched; its posts stay searchable.
 */
export function feedsToPoll(feeds: readonly FeedRecord[], configured: readonly string[]): FeedRecord[] {
  const wanted = new Set(configured);
  return feeds.filter((feed) => wanted.has(feed.url) || feed.subscriptionCount > 0);
}

/** A view of the feed store whose `list()` holds only the feeds worth polling (for the poll scheduler). */
export function pollableFeedStore(feeds: FeedStore, configured: readonly string[]): FeedStore {
  return { ...feeds, list: async () => feedsToPoll(await feeds.list(), configured) };
}

import { systemClock } from '../../src/clock.ts';
import type { Destination } from '../../src/platform/chat-platform.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';

/**
 * A database file as a running deployment leaves it: the feed polled once (its items stored as already
 * seen) and these channels subscribed to it. A test then serves a new post and starts the real bot.
 */
export async function seedSubscribedFeed(
  dbPath: string,
  feedUrl: string,
  channels: ReadonlyArray<{ platform: Destination['platform']; workspaceId: string; channelId: string }>,
): Promise<void> {
  const store = openSqliteStore(dbPath);
  try {
    await seedSubscribedStore(store, feedUrl, channels);
  } finally {
    await store.close();
  }
}

/** The same, into any open store (PostgreSQL for the multi-instance tests); the store stays open. */
export async function seedSubscribedStore(
  store: Store,
  feedUrl: string,
  channels: ReadonlyArray<{ platform: Destination['platform']; workspaceId: string; channelId: string }>,
): Promise<void> {
  await createFeedPoller({
    store, clock: systemClock, logger: createSilentLogger(), backoffBaseMs: 1000, backoffMaxMs: 1000,
    fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'inkwire-test', timeoutMs: 5000, maxBytes: 1 << 22, maxRedirects: 0 }),
  })(feedUrl);
  const feed = (await store.feeds.get(feedUrl))!;
  for (const { platform, workspaceId, channelId } of channels) {
    await store.subscriptions.create({
      kind: 'channel', platform, workspaceId, channelId, feedId: feed.id, keywords: [], mode: 'instant',
      mentionId: null, createdBy: 'test', createdAt: new Date(0),
    });
  }
}

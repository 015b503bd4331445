import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { postFingerprint } from '../../src/posts/post-identity.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { startFeedServer, type FeedServer } from '../fakes/feed-server.ts';

interface Item { n: number; guid: string; link: boolean }

/** A plain (non-Substack) RSS feed: keys come from guids, the case guid churn breaks. */
function rss(items: Item[]): string {
  const entries = items.map(({ n, guid, link }) => `
    <item>
      <title>Paper ${n}: what it shows</title>
      ${link ? `<link>https://blog.example/posts/${n}</link>` : ''}
      <guid isPermaLink="false">${guid}</guid>
      <pubDate>${new Date(Date.UTC(2023, 2, n, 9)).toUTCString()}</pubDate>
      <description>Summary of paper ${n}.</description>
    </item>`).join('');
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>${entries}</channel></rss>`;
}

describe('identity beyond the guid: republished items are updates, not new posts', () => {
  let server: FeedServer;
  let store: Store;
  const clock = createManualClock(new Date('2023-03-20T12:00:00Z'));
  const poll = () =>
    createFeedPoller({
      store,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'Inkwire-test/1.0', timeoutMs: 2000, maxBytes: 1024 * 1024, maxRedirects: 5 }),
      clock,
      logger: createSilentLogger(),
      backoffBaseMs: 60_000,
      backoffMaxMs: 3_600_000,
    })(server.url('/feed'));

  beforeEach(async () => {
    server = await startFeedServer();
    store = openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
    await server.close();
  });

  it('GIVEN the same posts under new guids on every one of 5 polls THEN nothing is re-announced, and a new post in the last poll is', async () => {
    // Items 1-5 keep their links; 6-8 have none, so only their (title, date) fingerprint identifies them.
    const items = (round: number, extra: number[] = []) =>
      [...[1, 2, 3, 4, 5, 6, 7, 8], ...extra].map((n) => ({ n, guid: `urn:blog:${n}:rev${round}`, link: n <= 5 || n > 8 }));
    server.serveFeed('/feed', rss(items(0)), { etag: '"r0"' });
    const first = await poll();
    expect(first.status === 'ok' && first.firstSight && first.created.length).toBe(8);
    const announced: string[] = [];
    for (let round = 1; round <= 5; round++) {
      server.serveFeed('/feed', rss(items(round, round === 5 ? [9] : [])), { etag: `"r${round}"` });
      clock.advance(15 * 60_000);
      const outcome = await poll();
      if (outcome.status !== 'ok') throw new Error(`poll ${round} failed`);
      announced.push(...outcome.announced.map((p) => p.title));
      if (round < 5) expect(outcome.created).toEqual([]);
    }
    expect(announced).toEqual(['Paper 9: what it shows']);
    expect(await store.posts.count()).toBe(9);
  });

  it('GIVEN two items that share the feed\'s site URL as their only link THEN both are stored (a shared link identifies nothing)', async () => {
    const body = `<?xml version="1.0"?><rss version="2.0"><channel><title>Notes</title><link>https://notes.example/</link>
      <item><title>Monday note</title><guid isPermaLink="false">a</guid><pubDate>Mon, 13 Mar 2023 09:00:00 GMT</pubDate></item>
      <item><title>Tuesday note</title><guid isPermaLink="false">b</guid><pubDate>Tue, 14 Mar 2023 09:00:00 GMT</pubDate></item>
    </channel></rss>`;
    server.serveFeed('/feed', body);
    const outcome = await poll();
    expect(outcome.status === 'ok' && outcome.created.map((p) => p.title)).toEqual(['Monday note', 'Tuesday note']);
  });

  it('GIVEN fingerprints THEN case, accents and the time of day do not matter; the day and the words do', () => {
    const at = new Date('2023-03-13T09:00:00Z');
    expect(postFingerprint('Attention Is All You Need', at)).toBe(postFingerprint('attention is all you need!', new Date('2023-03-13T22:00:00Z')));
    expect(postFingerprint('Café latte', at)).toBe(postFingerprint('CAFE LATTE', at));
    expect(postFingerprint('Attention Is All You Need', at)).not.toBe(postFingerprint('Attention Is All You Need', new Date('2023-03-14T09:00:00Z')));
    expect(postFingerprint('Weekly links', null)).toBeNull();
  });
});

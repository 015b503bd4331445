import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createWorkerFeedParser } from '../../src/feeds/feed-parse-pool.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { startFeedServer, type FeedServer } from '../fakes/feed-server.ts';

/** An 80,000-item feed just under the 10 MB cap, newest item last (so "newest" is not "first"). */
function hugeFeed(items: number): string {
  const parts: string[] = [];
  for (let i = 0; i < items; i++) {
    parts.push(`<item><title>Paper ${i}</title><link>https://big.example/p/${i}</link><pubDate>${new Date(Date.UTC(2020, 0, 1) + i * 60_000).toUTCString()}</pubDate></item>`);
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>${parts.join('')}</channel></rss>`;
}

describe('one huge feed does not stall the bot', () => {
  let server: FeedServer;
  const body = hugeFeed(80_000);
  beforeAll(async () => {
    server = await startFeedServer();
    server.serveFeed('/big', body);
  });
  afterAll(async () => server.close());

  it('GIVEN an 80,000-item 9 MB feed THEN only the newest 200 are read, the rest counted and logged, and the event loop never stalls > 100 ms', async () => {
    expect(body.length).toBeGreaterThan(9_000_000);
    expect(body.length).toBeLessThan(10 * 1024 * 1024);
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    const store = openSqliteStore(':memory:');
    const parseFeed = createWorkerFeedParser({ maxItems: 200 });
    const poll = createFeedPoller({
      store, clock: createManualClock(new Date('2023-03-09T12:00:00Z')), logger, backoffBaseMs: 60_000, backoffMaxMs: 600_000, maxItems: 200, parseFeed,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 't', timeoutMs: 20_000, maxBytes: 10 * 1024 * 1024, maxRedirects: 0 }),
    });
    // Warm the worker up (its first start loads the parser), then measure a poll of the huge feed.
    await parseFeed('<rss version="2.0"><channel><title>warm</title></channel></rss>');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outcome = await poll(server.url('/big'));
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the histogram see the last stretch
    delay.disable();
    expect(outcome.status === 'ok' && { items: outcome.items, skipped: outcome.skipped }).toEqual({ items: 200, skipped: 79_800 });
    const titles = (await store.posts.latest({ limit: 1000 })).map((p) => p.title);
    expect(titles).toHaveLength(200);
    expect(titles[0]).toBe('Paper 79999');
    expect(titles.at(-1)).toBe('Paper 79800');
    expect(lines.join('')).toMatch(/the feed lists 80000 items; read the newest 200, skipped 79800/);
    console.log(`huge feed: event loop max delay ${(delay.max / 1e6).toFixed(1)} ms`);
    expect(delay.max / 1e6).toBeLessThan(100);
    await parseFeed.close();
    await store.close();
  });

  it('GIVEN the parser idle for idleMs THEN its worker thread ends, and the next feed starts a fresh one', async () => {
    const parseFeed = createWorkerFeedParser({ maxItems: 200, idleMs: 50, inlineBelowChars: 0 });
    const feed = '<rss version="2.0"><channel><title>t</title><item><title>One</title><link>https://x.test/1</link></item></channel></rss>';
    expect((await parseFeed(feed)).ok).toBe(true);
    expect(parseFeed.running).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(parseFeed.running).toBe(false);
    const again = await parseFeed(feed);
    expect(again.ok && again.value.feed.items.map((i) => i.title)).toEqual(['One']);
    await parseFeed.close();
  });

  it('GIVEN a feed under the inline threshold THEN it is parsed without starting a worker thread', async () => {
    const parseFeed = createWorkerFeedParser({ maxItems: 200 });
    const parsed = await parseFeed('<rss version="2.0"><channel><title>t</title><item><title>Small</title><link>https://x.test/1</link></item></channel></rss>');
    expect(parsed.ok && parsed.value.feed.items.map((i) => i.title)).toEqual(['Small']);
    expect(parseFeed.running).toBe(false);
    await parseFeed.close();
  });
});

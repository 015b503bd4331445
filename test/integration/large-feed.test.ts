import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createInlineFeedParser, createWorkerFeedParser, INLINE_BELOW_BYTES, type FeedBody, type FeedParser } from '../../src/feeds/feed-parse-pool.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { fixtureBytes, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';

/** An 80,000-item feed just under the 10 MB cap, newest item last (so "newest" is not "first"). */
function hugeFeed(items: number): string {
  const parts: string[] = [];
  for (let i = 0; i < items; i++) {
    parts.push(`<item><title>Paper ${i}</title><link>https://big.example/p/${i}</link><pubDate>${new Date(Date.UTC(2020, 0, 1) + i * 60_000).toUTCString()}</pubDate></item>`);
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>${parts.join('')}</channel></rss>`;
}

describe('one huge feed is parsed off the main thread', () => {
  let server: FeedServer;
  const body = hugeFeed(80_000);
  beforeAll(async () => {
    server = await startFeedServer();
    server.serveFeed('/big', body);
  });
  afterAll(async () => server.close());

  it('GIVEN an 80,000-item 9 MB feed THEN only the newest 200 are read, the rest counted and logged, and its bytes are moved to the worker, decoded and parsed there — not in the main thread', async () => {
    expect(body.length).toBeGreaterThan(9_000_000);
    expect(body.length).toBeLessThan(10 * 1024 * 1024);
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    const store = openSqliteStore(':memory:');
    const pool = createWorkerFeedParser({ maxItems: 200 });
    // What the poller hands the parser, and where the parser says it parsed it.
    const handed: Array<FeedBody | string> = [];
    const places: string[] = [];
    const parseFeed: FeedParser = async (input) => {
      handed.push(input);
      const parsed = await pool(input);
      if (parsed.ok) places.push(parsed.value.parsedIn);
      return parsed;
    };
    const poll = createFeedPoller({
      store, clock: createManualClock(new Date('2023-03-09T12:00:00Z')), logger, backoffBaseMs: 60_000, backoffMaxMs: 600_000, maxItems: 200, parseFeed,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 't', timeoutMs: 20_000, maxBytes: 10 * 1024 * 1024, maxRedirects: 0 }),
    });
    const outcome = await poll(server.url('/big'));
    expect(outcome.status === 'ok' && { items: outcome.items, skipped: outcome.skipped }).toEqual({ items: 200, skipped: 79_800 });
    const titles = (await store.posts.latest({ limit: 1000 })).map((p) => p.title);
    expect(titles).toHaveLength(200);
    expect(titles[0]).toBe('Paper 79999');
    expect(titles.at(-1)).toBe('Paper 79800');
    expect(lines.join('')).toMatch(/the feed lists 80000 items; read the newest 200, skipped 79800/);
    // The mechanism that keeps the event loop free (its stall is measured by `npm run bench:poll`): the poller
    // passed the undecoded bytes, the parser moved them into the worker (the main thread's view is now empty:
    // transferred, not copied), and the worker decoded and parsed them.
    expect(handed).toHaveLength(1);
    const input = handed[0]!;
    expect(typeof input).toBe('object');
    expect(typeof input === 'object' && input.raw.byteLength).toBe(0);
    expect(places).toEqual(['worker']);
    await pool.close();
    await store.close();
  });

  it('GIVEN feed bytes in a declared charset THEN the worker decodes them by that charset, as the inline parser does', async () => {
    const pool = createWorkerFeedParser({ maxItems: 200, inlineBelowBytes: 0 });
    const inline = createInlineFeedParser(200);
    const read = async (parse: FeedParser) => {
      const parsed = await parse({ raw: new Uint8Array(fixtureBytes('feed-latin1.xml')), contentType: 'application/rss+xml' });
      return parsed.ok && { title: parsed.value.feed.title, items: parsed.value.feed.items.map((i) => i.title), where: parsed.value.parsedIn };
    };
    expect(await read(pool)).toEqual({ title: 'Café naïve', items: ['Résumé'], where: 'worker' });
    expect(await read(inline)).toEqual({ title: 'Café naïve', items: ['Résumé'], where: 'inline' });
    await pool.close();
  });

  it('GIVEN feeds on either side of the inline threshold THEN the small one is parsed in the calling thread and the larger one in the worker', async () => {
    const pool = createWorkerFeedParser({ maxItems: 200 });
    const encode = (text: string) => ({ raw: new TextEncoder().encode(text), contentType: 'application/rss+xml; charset=utf-8' });
    const small = encode(hugeFeed(100));
    const large = encode(hugeFeed(1_000));
    expect(small.raw.byteLength).toBeLessThan(INLINE_BELOW_BYTES);
    expect(large.raw.byteLength).toBeGreaterThanOrEqual(INLINE_BELOW_BYTES);
    const where = async (input: FeedBody) => {
      const parsed = await pool(input);
      return parsed.ok && parsed.value.parsedIn;
    };
    expect(await where(small)).toBe('inline');
    expect(await where(large)).toBe('worker');
    await pool.close();
  });

  it('GIVEN the parser idle for idleMs THEN its worker thread ends, and the next feed starts a fresh one', async () => {
    const parseFeed = createWorkerFeedParser({ maxItems: 200, idleMs: 50, inlineBelowBytes: 0 });
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
    expect(parsed.ok && parsed.value.parsedIn).toBe('inline');
    expect(parseFeed.running).toBe(false);
    await parseFeed.close();
  });
});

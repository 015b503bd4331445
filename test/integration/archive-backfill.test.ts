import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createArchiveBackfill } from '../../src/backfill/archive-backfill.ts';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createSearchService } from '../../src/search/search-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { serveSubstackArchive } from '../fakes/substack-server.ts';

describe('Substack archive backfill', () => {
  let server: FeedServer;
  let store: Store;
  const clock = createManualClock(new Date('2023-03-20T00:00:00Z'));
  const sleeps: number[] = [];
  const fetchFeed = createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'Inkwire-test', timeoutMs: 5000, maxBytes: 1 << 20, maxRedirects: 5 });
  const backfill = (extra: Partial<Parameters<typeof createArchiveBackfill>[0]> = {}) =>
    createArchiveBackfill({
      store,
      fetch: fetchFeed,
      clock,
      logger: createSilentLogger(),
      pageSize: 3,
      sleep: async (ms) => void sleeps.push(ms),
      ...extra,
    });

  beforeEach(async () => {
    server = await startFeedServer();
    store = openSqliteStore(':memory:', { clock });
    sleeps.length = 0;
  });
  afterEach(async () => {
    await store.close();
    await server.close();
  });

  it('GIVEN an empty store THEN pages until the short page, stores all 7 posts as seen, paid ones preview-only', async () => {
    const stats = serveSubstackArchive(server);
    const report = await backfill()(server.url('/feed'));
    expect(report).toMatchObject({ completed: true, listed: 7, stored: 7, skipped: 0, failed: 0, pages: 3 });
    expect(stats.archiveRequests).toEqual(['?sort=new&search=&offset=0&limit=3', '?sort=new&search=&offset=3&limit=3', '?sort=new&search=&offset=6&limit=3']);
    expect(stats.maxInFlight).toBeLessThanOrEqual(2);
    expect(sleeps.filter((ms) => ms === 1000)).toHaveLength(2); // a pause between pages
    const posts = await store.posts.latest({ limit: 10 });
    expect(posts).toHaveLength(7);
    const lora = posts.find((p) => p.key === 'slug:lora-low-rank-adaptation')!;
    expect(lora.previewOnly).toBe(true);
    const flash = posts.find((p) => p.key === 'slug:flashattention-challenges-ml-researchers')!;
    expect(flash.previewOnly).toBe(false);
    expect(flash.text).toContain('SRAM');
    expect(flash.text).not.toMatch(/subscribe/i);
    expect(flash.author).toBe('Arushi Somani');
  });

  it('GIVEN a completed backfill THEN a second run fetches no post and stops at the first page', async () => {
    const stats = serveSubstackArchive(server);
    await backfill()(server.url('/feed'));
    const before = stats.postRequests.length;
    const second = await backfill()(server.url('/feed'));
    expect(second).toMatchObject({ completed: true, stored: 0, pages: 1 });
    expect(stats.postRequests.length).toBe(before);
  });

  it('GIVEN posts already stored from the feed THEN they are one post each and only missing bodies are fetched', async () => {
    const stats = serveSubstackArchive(server);
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml').replaceAll('https://dailyink.substack.com', server.origin));
    const poll = createFeedPoller({ store, fetchFeed, clock, logger: createSilentLogger(), backoffBaseMs: 1000, backoffMaxMs: 2000 });
    await poll(server.url('/feed'));
    const report = await backfill()(server.url('/feed'));
    expect(report).toMatchObject({ stored: 1, skipped: 6, completed: true });
    expect(stats.postRequests).toEqual(['mixture-of-experts-explained']);
    expect(await store.posts.count()).toBe(7);
  });

  it('GIVEN an interrupted run THEN the next run resumes without duplicates or refetching stored posts', async () => {
    const stats = serveSubstackArchive(server);
    const controller = new AbortController();
    const first = await backfill({
      onProgress: (p) => {
        if (p.stored >= 2) controller.abort();
      },
    })(server.url('/feed'), { signal: controller.signal });
    expect(first.completed).toBe(false);
    expect(first.error).toBe('interrupted');
    const storedFirst = await store.posts.count();
    expect(storedFirst).toBeGreaterThanOrEqual(2);
    expect(storedFirst).toBeLessThan(7);
    const storedSlugs = (await store.posts.latest({ limit: 10 })).map((p) => p.key.replace('slug:', ''));
    const requestsBefore = stats.postRequests.length;
    const second = await backfill()(server.url('/feed'));
    expect(second.completed).toBe(true);
    expect(await store.posts.count()).toBe(7);
    const refetched = stats.postRequests.slice(requestsBefore).filter((slug) => storedSlugs.includes(slug));
    expect(refetched).toEqual([]); // nothing already stored is fetched again
  });

  it('GIVEN 429 with Retry-After on the archive THEN waits at least that long and carries on', async () => {
    serveSubstackArchive(server, { rateLimitFirst: { count: 2, retryAfterSeconds: 30 } });
    const report = await backfill()(server.url('/feed'));
    expect(report.completed).toBe(true);
    expect(sleeps.slice(0, 2).every((ms) => ms >= 30_000)).toBe(true);
  });

  it('GIVEN an archive that answers HTML THEN the backfill stops with a clear error and stores nothing', async () => {
    server.route('/api/v1/archive', (_q, r) => void r.writeHead(200, { 'content-type': 'text/html' }).end('<html>nope</html>'));
    const report = await backfill()(server.url('/feed'));
    expect(report.completed).toBe(false);
    expect(report.error).toMatch(/did not return JSON/);
    expect((await store.feeds.get(server.url('/feed')))!.backfillError).toMatch(/did not return JSON/);
  });

  it('GIVEN the backfilled fixtures THEN the shared relevance cases hold', async () => {
    serveSubstackArchive(server);
    await backfill()(server.url('/feed'));
    const service = createSearchService({ index: store.search, logger: createSilentLogger() });
    const cases = (JSON.parse(fixture('search-cases.json')) as { cases: Array<{ query: string; expectTop1?: string; expectAllOf?: string[]; expectNone?: boolean }> }).cases;
    for (const c of cases) {
      const result = await service.search(c.query, { limit: 10 });
      if (!result.ok) throw result.error;
      const slugs = result.value.hits.map((h) => h.post.key.replace('slug:', ''));
      if (c.expectNone) expect(slugs, c.query).toEqual([]);
      if (c.expectTop1) expect(slugs[0], c.query).toBe(c.expectTop1);
      for (const slug of c.expectAllOf ?? []) expect(slugs, c.query).toContain(slug);
    }
  });

  it('GIVEN a feed added from chat THEN its archive requests pass the public-address guard too', async () => {
    const stats = serveSubstackArchive(server);
    const guarded: string[] = [];
    const guardedFetch = createFeedFetcher({
      fetch: globalThis.fetch, userAgent: 'Inkwire-test', timeoutMs: 5000, maxBytes: 1 << 20, maxRedirects: 5,
      guardUrl: async (url) => (guarded.push(url.toString()), `${url.hostname} is a private address`),
    });
    await store.feeds.ensure(server.url('/feed'), clock.now(), { addedBy: 'console:ws1' });
    const report = await backfill({ fetch: guardedFetch })(server.url('/feed'));
    expect(report.completed).toBe(false);
    expect(report.error).toMatch(/private address/);
    expect(guarded[0]).toContain('/api/v1/archive');
    expect(stats.archiveRequests).toEqual([]); // refused before any request left
  });
});

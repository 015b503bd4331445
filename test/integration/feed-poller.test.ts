import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { fixture, fixtureBytes, refusedUrl, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const MINUTE = 60_000;

describe('feed poller against a local feed server and a SQLite file', () => {
  let server: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;
  let store: Store;
  const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));

  const poller = (s: Store = store, overrides: Partial<Parameters<typeof createFeedFetcher>[0]> = {}) =>
    createFeedPoller({
      store: s,
      fetchFeed: createFeedFetcher({
        fetch: globalThis.fetch,
        userAgent: 'Inkwire-test/1.0',
        timeoutMs: 2000,
        maxBytes: 1024 * 1024,
        maxRedirects: 5,
        ...overrides,
      }),
      clock,
      logger: createSilentLogger(),
      backoffBaseMs: 5 * MINUTE,
      backoffMaxMs: 6 * 60 * MINUTE,
    });

  beforeEach(async () => {
    server = await startFeedServer();
    dir = makeTempDir();
    store = openSqliteStore(dir.file('inkwire.db'));
  });
  afterEach(async () => {
    await store.close();
    await server.close();
    dir.remove();
  });

  it('GIVEN a feed seen for the first time THEN stores every item as already seen and announces nothing', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const outcome = await poller()(server.url('/feed'));
    expect(outcome.status).toBe('ok');
    if (outcome.status !== 'ok') return;
    expect(outcome.firstSight).toBe(true);
    expect(outcome.created).toHaveLength(6);
    expect(outcome.announced).toHaveLength(0);
    expect(await store.posts.count()).toBe(6);
  });

  it('GIVEN --announce-existing THEN the first sight announces every item, oldest first', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const outcome = await poller()(server.url('/feed'), { announceExisting: true });
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    const dates = outcome.announced.map((p) => p.publishedAt!.getTime());
    expect(outcome.announced).toHaveLength(6);
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
  });

  it('GIVEN v1 then v2 THEN announces exactly the one new post, and the dropped item is not deleted', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const poll = poller();
    await poll(server.url('/feed'));
    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const outcome = await poll(server.url('/feed'));
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    expect(outcome.announced.map((p) => p.title)).toEqual(['Mixture of Experts, Explained']);
    expect(outcome.updated).toHaveLength(0);
    expect(await store.posts.count()).toBe(7);
  });

  it('GIVEN a rebuilt feed (only lastBuildDate changed) THEN announces and updates nothing', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'), { etag: '"a"' });
    const poll = poller();
    await poll(server.url('/feed'));
    server.serveFeed('/feed', fixture('dailyink-feed-v1-rebuilt.xml'), { etag: '"b"' });
    const outcome = await poll(server.url('/feed'));
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    expect(outcome.created).toHaveLength(0);
    expect(outcome.updated).toHaveLength(0);
  });

  it('GIVEN an empty feed THEN the poll succeeds with no posts', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-empty.xml'));
    const outcome = await poller()(server.url('/feed'));
    expect(outcome).toMatchObject({ status: 'ok', items: 0 });
    const feed = await store.feeds.get(server.url('/feed'));
    expect(feed?.lastError).toBeNull();
    expect(feed?.title).toBe('The Daily Ink');
  });

  it('GIVEN a restart on the same database file THEN nothing is announced again', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'), { etag: '"1"' });
    await poller()(server.url('/feed'));
    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'), { etag: '"2"' });
    const first = await poller()(server.url('/feed'));
    expect(first.status === 'ok' && first.announced).toHaveLength(1);
    await store.close();

    store = openSqliteStore(dir.file('inkwire.db'));
    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'), { etag: '"3"' });
    const again = await poller(store)(server.url('/feed'));
    if (again.status !== 'ok') throw new Error(again.status);
    expect(again.created).toHaveLength(0);
    expect(again.announced).toHaveLength(0);
  });

  it('GIVEN stored validators THEN sends If-None-Match/If-Modified-Since, and a 304 changes nothing', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'), { etag: '"v1"', lastModified: 'Wed, 08 Mar 2023 17:02:11 GMT' });
    await poller()(server.url('/feed'));
    await store.close();
    store = openSqliteStore(dir.file('inkwire.db')); // validators come from the database, not memory
    const outcome = await poller(store)(server.url('/feed'));
    expect(outcome.status).toBe('not-modified');
    const second = server.requestsTo('/feed')[1]!;
    expect(second.headers['if-none-match']).toBe('"v1"');
    expect(second.headers['if-modified-since']).toBe('Wed, 08 Mar 2023 17:02:11 GMT');
    expect(second.headers['user-agent']).toBe('Inkwire-test/1.0');
    expect(await store.posts.count()).toBe(6);
  });

  it('GIVEN an edited post (same slug, new title) THEN it is updated and not announced again', async () => {
    const v1 = fixture('dailyink-feed-v1.xml');
    server.serveFeed('/feed', v1, { etag: '"1"' });
    const poll = poller();
    await poll(server.url('/feed'));
    const edited = v1.replace('Toolformer Teaches Language Models to Call APIs', 'Toolformer Teaches Models to Use Tools');
    server.serveFeed('/feed', edited, { etag: '"2"' });
    const outcome = await poll(server.url('/feed'));
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    expect(outcome.announced).toHaveLength(0);
    expect(outcome.updated.map((p) => p.title)).toEqual(['Toolformer Teaches Models to Use Tools']);
    const titles = (await store.posts.latest({ limit: 10 })).map((p) => p.title);
    expect(titles).toContain('Toolformer Teaches Models to Use Tools');
    expect(titles).not.toContain('Toolformer Teaches Language Models to Call APIs');
  });

  it('GIVEN a post without dc:creator or subtitle THEN it is stored, with the channel author as fallback', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await poller()(server.url('/feed'));
    const posts = await store.posts.latest({ limit: 10 });
    const rlhf = posts.find((p) => p.key === 'slug:rlhf-explained')!;
    expect(rlhf.author).toBe('Arushi Somani');
    const attention = posts.find((p) => p.key === 'slug:attention-is-all-you-need')!;
    expect(attention.subtitle).toBeNull();
    expect(attention.text).toContain('<3 &');
  });

  it('GIVEN a Substack item THEN stores subtitle, cover, clean text, tl;dr, reading time and preview-only flag', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await poller()(server.url('/feed'));
    const posts = await store.posts.latest({ limit: 10 });
    const lora = posts.find((p) => p.key === 'slug:lora-low-rank-adaptation')!;
    expect(lora.previewOnly).toBe(true);
    expect(lora.subtitle).toBe('Low-rank adapters make fine-tuning cheap');
    expect(lora.coverImageUrl).toMatch(/^https:\/\/substackcdn\.com\//);
    const flash = posts.find((p) => p.key === 'slug:flashattention-challenges-ml-researchers')!;
    expect(flash.previewOnly).toBe(false);
    expect(flash.text).not.toMatch(/subscribe/i);
    expect(flash.text).toContain('Figure from the paper.');
    expect(flash.tldr).toBeTruthy();
    expect(flash.readingMinutes).toBeGreaterThanOrEqual(1);
    const chinchilla = posts.find((p) => p.key === 'slug:chinchilla-compute-optimal')!;
    expect(chinchilla.text).toContain('’');
  });

  it('GIVEN the publication moves to a custom domain THEN the same slugs are the same posts', async () => {
    const v1 = fixture('dailyink-feed-v1.xml');
    server.serveFeed('/feed', v1, { etag: '"1"' });
    const poll = poller();
    await poll(server.url('/feed'));
    server.serveFeed('/feed', v1.replaceAll('https://dailyink.substack.com/p/', 'https://www.dailyink.ai/p/'), { etag: '"2"' });
    const outcome = await poll(server.url('/feed'));
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    expect(outcome.created).toHaveLength(0);
    expect(outcome.announced).toHaveLength(0);
    expect(await store.posts.count()).toBe(6);
  });

  describe('failures are stored with backoff and never throw', () => {
    const failureCases: Array<[string, (s: FeedServer) => void, string]> = [
      ['HTTP 500', (s) => s.route('/feed', (_q, r) => void r.writeHead(500).end('boom')), 'feed/http-status'],
      ['an HTML challenge page', (s) => s.route('/feed', (_q, r) => void r.writeHead(200, { 'content-type': 'text/html' }).end(fixture('not-a-feed-cloudflare.html'))), 'feed/not-a-feed'],
      ['malformed XML', (s) => s.route('/feed', (_q, r) => void r.writeHead(200).end('<?xml version="1.0"?><rss><channel><item><title>x</title></chan')), 'feed/malformed'],
      ['a billion-laughs payload', (s) => s.route('/feed', (_q, r) => void r.writeHead(200).end(fixture('billion-laughs.xml'))), 'feed/malformed'],
      ['an XXE payload', (s) => s.route('/feed', (_q, r) => void r.writeHead(200).end(fixture('xxe.xml'))), 'feed/malformed'],
      ['a body over the byte cap', (s) => s.route('/feed', (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/rss+xml' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        for (let i = 0; i < 40; i++) r.write(chunk); // 2.5 MB, no Content-Length: the cap is enforced while streaming
        r.end();
      }), 'feed/too-large'],
      ['a slow-drip server', (s) => s.route('/feed', (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/rss+xml' });
        r.write('<?xml version="1.0"?><rss>');
        const timer = setInterval(() => r.write(' '), 200);
        r.on('close', () => clearInterval(timer));
      }), 'feed/timeout'],
      ['too many redirects', (s) => s.route('/feed', (_q, r) => void r.writeHead(302, { location: '/feed' }).end()), 'feed/too-many-redirects'],
      ['a refused connection', () => {}, 'feed/fetch-failed'],
    ];

    for (const [name, arrange, code] of failureCases) {
      it(`GIVEN ${name} THEN records ${code} and a backoff`, async () => {
        arrange(server);
        const url = name === 'a refused connection' ? await refusedUrl() : server.url('/feed');
        // Each ends by its own mechanism (the fetch timeout for the slow drip: `feed/timeout`), named by its code.
        const outcome = await poller()(url);
        if (outcome.status !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
        expect(outcome.error.code).toBe(code);
        const feed = (await store.feeds.get(url))!;
        expect(feed.lastErrorCode).toBe(code);
        expect(feed.consecutiveFailures).toBe(1);
        expect(feed.nextPollAt!.getTime()).toBe(clock.now().getTime() + 5 * MINUTE);
      });
    }

    it('GIVEN repeated failures THEN the backoff doubles and is capped at the maximum', async () => {
      server.route('/feed', (_q, r) => void r.writeHead(500).end());
      const poll = poller();
      const delays: number[] = [];
      for (let i = 0; i < 9; i++) {
        const outcome = await poll(server.url('/feed'));
        if (outcome.status === 'failed') delays.push((outcome.nextPollAt.getTime() - clock.now().getTime()) / MINUTE);
      }
      expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 360, 360]);
    });

    it('GIVEN 429 with Retry-After THEN waits at least that long', async () => {
      server.route('/feed', (_q, r) => void r.writeHead(429, { 'retry-after': '7200' }).end());
      const outcome = await poller()(server.url('/feed'));
      if (outcome.status !== 'failed') throw new Error('expected failure');
      expect(outcome.error.code).toBe('feed/rate-limited');
      expect(outcome.nextPollAt.getTime() - clock.now().getTime()).toBe(7200 * 1000);
    });

    it('GIVEN a failure then a success THEN the error state is cleared', async () => {
      server.route('/feed', (_q, r) => void r.writeHead(503).end());
      const poll = poller();
      await poll(server.url('/feed'));
      server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
      await poll(server.url('/feed'));
      const feed = (await store.feeds.get(server.url('/feed')))!;
      expect(feed.consecutiveFailures).toBe(0);
      expect(feed.lastError).toBeNull();
      expect(feed.lastSuccessAt).not.toBeNull();
    });
  });

  it('GIVEN a latin-1 feed declared in the XML declaration THEN decodes it correctly', async () => {
    server.route('/feed', (_q, r) => void r.writeHead(200, { 'content-type': 'application/rss+xml' }).end(fixtureBytes('feed-latin1.xml')));
    const outcome = await poller()(server.url('/feed'));
    if (outcome.status !== 'ok') throw new Error(outcome.status);
    expect(outcome.created[0]!.title).toBe('Résumé');
    expect((await store.feeds.get(server.url('/feed')))!.title).toBe('Café naïve');
  });

  it('GIVEN gzip and up to five redirects THEN fetches the feed', async () => {
    const body = gzipSync(fixture('dailyink-feed-v1.xml'));
    for (let i = 1; i <= 5; i++) server.route(`/r${i}`, (_q, r) => void r.writeHead(301, { location: i === 5 ? '/real' : `/r${i + 1}` }).end());
    server.route('/real', (req, r) => {
      expect(req.headers['accept-encoding']).toMatch(/gzip/);
      r.writeHead(200, { 'content-type': 'application/rss+xml', 'content-encoding': 'gzip' }).end(body);
    });
    const outcome = await poller()(server.url('/r1'));
    expect(outcome).toMatchObject({ status: 'ok', items: 6 });
  });
});

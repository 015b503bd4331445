import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { startPollScheduler } from '../../src/feeds/poll-scheduler.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createManualScheduler } from '../../src/scheduling/cron-scheduler.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { admin, channel, createCoreFixture } from '../fakes/core-fixture.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';

const DAILY = 'https://dailyink.substack.com/feed';
const IMPORT = 'https://import.example.com/feed';

describe('subscriptions: the smaller promises on the delivery path', () => {
  let fixture: ReturnType<typeof createCoreFixture>;
  beforeEach(() => {
    fixture = createCoreFixture({ FEED_URLS: `${DAILY},${IMPORT}` });
  });
  afterEach(async () => fixture.store.close());

  const titled = async (url: string, title: string) => {
    const feed = await fixture.store.feeds.ensure(url, fixture.clock.now());
    await fixture.store.posts.ingest({
      feedId: feed.id, at: fixture.clock.now(), drafts: [], announceKeys: new Set(),
      feedUpdate: { title, siteUrl: null, isSubstack: false, validators: { etag: null, lastModified: null }, nextPollAt: fixture.clock.now() },
    });
    return feed;
  };

  it('GIVEN /unsubscribe feed:i THEN it removes no feed whose title merely contains "i"; a whole title or a unique part does', async () => {
    await titled(DAILY, 'The Daily Ink');
    await titled(IMPORT, 'Imported Insights');
    for (const feed of [DAILY, IMPORT]) expect((await fixture.core.subscriptions.subscribe(channel('papers'), admin, { feed })).ok).toBe(true);
    const vague = await fixture.core.subscriptions.unsubscribe(channel('papers'), 'i');
    expect(vague.ok).toBe(false);
    expect(!vague.ok && vague.error.message).toMatch(/matches several feeds here: The Daily Ink, Imported Insights/);
    expect(await fixture.core.subscriptions.channelFeeds(channel('papers'))).toHaveLength(2);
    const exact = await fixture.core.subscriptions.unsubscribe(channel('papers'), 'the daily ink');
    expect(exact.ok && exact.value.map((s) => s.feedTitle)).toEqual(['The Daily Ink']);
    const unique = await fixture.core.subscriptions.unsubscribe(channel('papers'), 'insight');
    expect(unique.ok && unique.value.map((s) => s.feedTitle)).toEqual(['Imported Insights']);
  });

  it('GIVEN "post the latest now" on a keyword subscription THEN the newest matching post is queued, not the newest post', async () => {
    const feed = await fixture.store.feeds.ensure(DAILY, fixture.clock.now());
    await fixture.store.posts.ingest({
      feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(),
      drafts: [
        makeDraft('moe', { title: 'Mixture of Experts', text: 'experts and routers', publishedAt: new Date('2023-03-01T00:00:00Z') }),
        makeDraft('diffusion', { title: 'Diffusion models', text: 'noise and denoising', publishedAt: new Date('2023-03-05T00:00:00Z') }),
      ],
    });
    const sub = await fixture.core.subscriptions.subscribe(channel('papers'), admin, { keywords: 'experts' });
    if (!sub.ok) throw sub.error;
    const queued = await fixture.core.subscriptions.postLatestNow(sub.value.subscription.id, channel('papers'));
    expect(queued.ok && queued.value).toBe('Posting “Mixture of Experts” now.');
    const none = await fixture.core.subscriptions.subscribe(channel('other'), admin, { keywords: 'quantum' });
    if (!none.ok) throw none.error;
    const refused = await fixture.core.subscriptions.postLatestNow(none.value.subscription.id, channel('other'));
    expect(!refused.ok && refused.error.identifier).toBe('subscribe/no-matching-posts');
  });

  it('GIVEN an edited post that went to a personal alert THEN the edit goes to the direct message too', async () => {
    const recorder = createRecordingPlatform();
    const feed = await fixture.store.feeds.ensure(DAILY, fixture.clock.now());
    expect((await fixture.core.subscriptions.addAlert(channel('general'), { ...admin, userId: 'u42' }, 'experts')).ok).toBe(true);
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [makeDraft('moe', { text: 'experts' })], announceKeys: new Set(['slug:moe']) });
    const engine = createDeliveryEngine({
      platform: recorder.platform, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
      concurrency: 2, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000,
    });
    await engine.drain();
    const edited = await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [makeDraft('moe', { text: 'experts, revised' })], announceKeys: new Set() });
    await engine.postsUpdated(edited.updated);
    expect(recorder.edits).toHaveLength(1);
    expect(recorder.edits[0]!.destination).toMatchObject({ channelId: 'u42', direct: true });
  });
});

describe('feeds: Retry-After and long-running polls', () => {
  let server: FeedServer;
  beforeEach(async () => {
    server = await startFeedServer();
  });
  afterEach(async () => server.close());

  it('GIVEN a 429 with a 400-digit Retry-After THEN the failure is stored with the next poll at FEED_MAX_BACKOFF, not a RangeError', async () => {
    server.route('/feed', (_req, res) => void res.writeHead(429, { 'retry-after': '9'.repeat(400) }).end());
    const store = openSqliteStore(':memory:');
    const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));
    const poll = createFeedPoller({
      store, clock, logger: createSilentLogger(), backoffBaseMs: 300_000, backoffMaxMs: 6 * 3600_000,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 't', timeoutMs: 2000, maxBytes: 1 << 20, maxRedirects: 5 }),
    });
    const outcome = await poll(server.url('/feed'));
    expect(outcome.status).toBe('failed');
    const [feed] = await store.feeds.list();
    expect(feed!.nextPollAt).toEqual(new Date(clock.now().getTime() + 6 * 3600_000));
    await store.close();
  });

  it('GIVEN 30 polls with jitter on one long-lived scheduler THEN no abort listener piles up (no MaxListenersExceededWarning)', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const store = openSqliteStore(':memory:');
    const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));
    await store.feeds.ensure(server.url('/feed'), clock.now());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const poll = createFeedPoller({
      store, clock, logger: createSilentLogger(), backoffBaseMs: 300_000, backoffMaxMs: 6 * 3600_000,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 't', timeoutMs: 2000, maxBytes: 1 << 20, maxRedirects: 5 }),
    });
    const scheduler = startPollScheduler({
      cron: createManualScheduler(), expression: '* * * * *', feeds: store.feeds, clock, logger: createSilentLogger(),
      poll: (url, signal) => poll(url, { signal }), onOutcome: async () => {}, jitterMs: 2, concurrency: 1, random: () => 0.5,
    });
    try {
      // Thirty ticks, a minute apart (a feed is polled once per tick).
      for (let i = 0; i < 30; i++) {
        await scheduler.runDue();
        clock.advance(60_000);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(server.requestsTo('/feed').length).toBe(30);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await scheduler.stop();
      await store.close();
    }
  });
});

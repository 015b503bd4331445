import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller, type PollOutcome } from '../../src/feeds/feed-poller.ts';
import { startPollScheduler } from '../../src/feeds/poll-scheduler.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createManualScheduler } from '../../src/scheduling/cron-scheduler.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';

/** How long to wait for something that must happen eventually: a give-up time for a loaded machine, not a speed bound. */
const EVENTUALLY = { timeout: 15_000, interval: 20 };

describe('poll scheduler', () => {
  let server: FeedServer;
  let store: Store;
  const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));

  beforeEach(async () => {
    server = await startFeedServer();
    store = openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
    await server.close();
  });

  const setup = (timeoutMs = 1500) => {
    const cron = createManualScheduler();
    const outcomes: PollOutcome[] = [];
    const poll = createFeedPoller({
      store,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 't', timeoutMs, maxBytes: 1 << 20, maxRedirects: 5 }),
      clock,
      logger: createSilentLogger(),
      backoffBaseMs: 300_000,
      backoffMaxMs: 6 * 3600_000,
    });
    const scheduler = startPollScheduler({
      cron,
      expression: '*/15 * * * *',
      feeds: store.feeds,
      clock,
      logger: createSilentLogger(),
      poll: (url, signal) => poll(url, { signal }),
      onOutcome: async (outcome) => void outcomes.push(outcome),
      jitterMs: 0,
      concurrency: 4,
    });
    return { cron, outcomes, scheduler };
  };

  it('GIVEN one feed that hangs THEN the other feeds are polled without waiting for it', async () => {
    server.route('/slow', () => {}); // never answers
    server.serveFeed('/good', fixture('dailyink-feed-v1.xml'));
    await store.feeds.ensure(server.url('/slow'), clock.now());
    await store.feeds.ensure(server.url('/good'), clock.now());
    // The hung feed's fetch would time out only after 60 s: the good feed's outcome comes while it still hangs.
    const { outcomes, scheduler } = setup(60_000);
    const run = scheduler.runDue();
    await expect.poll(() => outcomes.map((o) => o.feedUrl), EVENTUALLY).toContain(server.url('/good'));
    expect(outcomes.find((o) => o.feedUrl === server.url('/slow'))).toBeUndefined();
    await scheduler.stop(); // aborts the hung poll
    await run;
    expect(outcomes.find((o) => o.feedUrl === server.url('/slow'))?.status).toBe('failed');
  });

  it('GIVEN a poll still running THEN a second tick does not start another poll of that feed', async () => {
    let release: () => void = () => {};
    server.route('/feed', (_req, res) => {
      release = () => res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(fixture('dailyink-feed-v1.xml'));
    });
    await store.feeds.ensure(server.url('/feed'), clock.now());
    const { cron, outcomes, scheduler } = setup(5000);
    cron.tick();
    await expect.poll(() => server.requestsTo('/feed').length, EVENTUALLY).toBe(1);
    cron.tick();
    cron.tick();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.requestsTo('/feed')).toHaveLength(1);
    release();
    await expect.poll(() => outcomes.length, EVENTUALLY).toBe(1);
    await scheduler.stop();
  });

  it('GIVEN a failing feed in backoff THEN ticks skip it until its next poll time', async () => {
    server.route('/feed', (_q, r) => void r.writeHead(500).end());
    await store.feeds.ensure(server.url('/feed'), clock.now());
    const { scheduler } = setup();
    await scheduler.runDue();
    await scheduler.runDue();
    expect(server.requestsTo('/feed')).toHaveLength(1);
    clock.advance(5 * 60_000);
    await scheduler.runDue();
    expect(server.requestsTo('/feed')).toHaveLength(2);
    await scheduler.stop();
  });

  it('GIVEN stop() during a poll THEN the poll is aborted and stop resolves without waiting for the fetch timeout', async () => {
    server.route('/feed', () => {});
    await store.feeds.ensure(server.url('/feed'), clock.now());
    const { scheduler, cron, outcomes } = setup(60_000);
    const run = scheduler.runDue();
    await expect.poll(() => server.requestsTo('/feed').length, EVENTUALLY).toBe(1);
    await scheduler.stop();
    await run;
    // Ended by the abort, not by the 60 s fetch timeout (which would also outlast the test's own timeout).
    const outcome = outcomes.find((o) => o.feedUrl === server.url('/feed'));
    expect(outcome?.status === 'failed' && { code: outcome.error.code, message: outcome.error.message }).toEqual({ code: 'feed/fetch-failed', message: 'aborted (shutting down)' });
    expect(cron.jobs()).toBe(0);
  });
});

// "Send started" in the outbox, the window of an unknown outcome, a delivery's main message kept before
// its follow-up, rate-limited attempts that do not count, and Retry-After honoured in full — on both stores.
import type { Pool } from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import type { Store } from '../../src/storage/store.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { STORE_BACKENDS, type StoreBackend } from '../fakes/store-backends.ts';

const FEED = 'https://dailyink.substack.com/feed';
const T0 = new Date('2025-01-01T00:00:00Z');

describe.each(STORE_BACKENDS)('send started, on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let store: Store;
  const clock = createManualClock(T0);

  beforeEach(async (context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
    clock.set(T0);
    store = await backend.open({ clock });
    const feed = await store.feeds.ensure(FEED, T0);
    await store.subscriptions.create({
      kind: 'channel', platform: 'console', workspaceId: 'ws', channelId: 'c1', feedId: feed.id, keywords: [], mode: 'instant', mentionId: null,
      createdBy: 'test', createdAt: T0,
    });
    await store.posts.ingest({ feedId: feed.id, at: T0, drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });
  });
  afterAll(async () => backend?.cleanup());

  /** Lets a lease run out (PostgreSQL compares with its own clock: the stored times move back instead). */
  const elapse = async (ms: number) => {
    clock.advance(ms);
    const pool = (store as Store & { pool?: Pool }).pool;
    if (pool) await pool.query(`UPDATE deliveries SET next_attempt_at = next_attempt_at - make_interval(secs => $1::float8 / 1000), lease_until = lease_until - make_interval(secs => $1::float8 / 1000)`, [ms]);
  };
  const claim = () => store.deliveries.claimDue({ now: clock.now(), limit: 5, leaseMs: 1000, owner: 'w', platform: 'console' });

  it('GIVEN a worker that died before its request THEN the next claim is not "maybe sent" (nothing to look up)', async () => {
    const [first] = await claim();
    await elapse(1500);
    const [second] = await claim();
    expect(second).toMatchObject({ id: first!.id, uncertainSince: null, uncertainLastAt: null });
  });

  it('GIVEN a worker that died after starting its request THEN the next claim is "maybe sent" with the window of that request', async () => {
    const [first] = await claim();
    const started = new Date(T0.getTime() + 200);
    expect(await store.deliveries.markSending(first!, { at: started, resolved: false })).toBe(true);
    await elapse(1500);
    const [second] = await claim();
    expect(second).toMatchObject({ id: first!.id, uncertainSince: started, uncertainLastAt: started });
    // A complete look-up settles it: the next request starts with nothing uncertain.
    expect(await store.deliveries.markSending(second!, { at: clock.now(), resolved: true })).toBe(true);
    expect(await store.deliveries.retryLater(second!, { error: 'HTTP 500', at: clock.now(), delayMs: 0 })).toBe(true);
    const [third] = await claim();
    expect(third).toMatchObject({ uncertainSince: null });
  });

  it('GIVEN a rate-limited attempt that made no request THEN it is not counted; GIVEN a main message recorded THEN the next claim carries it', async () => {
    const [first] = await claim();
    expect(await store.deliveries.retryLater(first!, { error: 'budget', at: clock.now(), delayMs: 0, refundAttempt: true })).toBe(true);
    const [second] = await claim();
    expect(second).toMatchObject({ attempts: 1, messageId: null });
    expect(await store.deliveries.markSending(second!, { at: clock.now(), resolved: false })).toBe(true);
    expect(await store.deliveries.recordMessage(second!, { messageId: '1700000000.000100' })).toBe(true);
    expect(await store.deliveries.retryLater(second!, { error: 'reply 429', at: clock.now(), delayMs: 0 })).toBe(true);
    const [third] = await claim();
    expect(third).toMatchObject({ attempts: 2, messageId: '1700000000.000100', uncertainSince: null });
    expect(await store.deliveries.recordMessage(first!, { messageId: 'stale' })).toBe(false); // fenced
  });

  it('GIVEN a send whose outcome is unknown, then a 429 with a Retry-After longer than the uncertain-retry cap THEN the wait is the full Retry-After, and past DELIVERY_MAX_ATTEMPTS it is still not given up', async () => {
    let calls = 0;
    const platform: ChatPlatform = {
      name: 'console',
      async send() {
        calls++;
        if (calls === 1) throw new DeliveryError('delivery/ambiguous', 'lost answer');
        throw new DeliveryError('delivery/rate-limited', 'rate limited', { retryAfterMs: 45_000 });
      },
    };
    const engine = createDeliveryEngine({
      platform, deliveries: store.deliveries, clock, logger: createSilentLogger(), concurrency: 1, leaseMs: 60_000,
      maxAttempts: 1, retryBaseMs: 1000, retryMaxMs: 3_600_000, uncertainRetryMaxMs: 30_000,
    });
    await engine.drain();
    const [afterLost] = await store.deliveries.list({ limit: 1 });
    expect(afterLost).toMatchObject({ status: 'pending' }); // maybe sent: not given up at maxAttempts 1
    await elapse(30_000);
    await engine.drain();
    expect(calls).toBe(2);
    const [afterLimit] = await store.deliveries.list({ limit: 1 });
    expect(afterLimit!.status).toBe('pending');
    const due = await store.deliveries.nextDueAt('console', clock.now());
    expect(due!.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(44_000);
  });
});

import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createDeliveryEngine, type DeliveryEngineOptions } from '../../src/delivery/delivery-engine.ts';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { admin, channel, createCoreFixture } from '../fakes/core-fixture.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const FEED = 'https://dailyink.substack.com/feed';

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A store on the real clock with `channels` console subscriptions to one feed, and a way to publish. */
async function realClockStore(store: Store, channels: number) {
  const feed = await store.feeds.ensure(FEED, new Date());
  for (let i = 0; i < channels; i++) {
    await store.subscriptions.create({
      kind: 'channel', platform: 'console', workspaceId: 'ws', channelId: `c${i}`, feedId: feed.id, keywords: [],
      mode: 'instant', mentionId: null, createdBy: 'test', createdAt: new Date(0),
    });
  }
  return {
    publish: (...drafts: PostDraft[]) => store.posts.ingest({ feedId: feed.id, at: new Date(), drafts, announceKeys: new Set(drafts.map((d) => d.key)) }),
  };
}

const engineOn = (store: Store, platform: DeliveryEngineOptions['platform'], overrides: Partial<DeliveryEngineOptions> = {}) =>
  createDeliveryEngine({
    platform, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 4, leaseMs: 60_000,
    maxAttempts: 5, retryBaseMs: 200, retryMaxMs: 1000, idleMs: 200, ...overrides,
  });

describe('fenced claims (the outbox contract)', () => {
  it('GIVEN a claim whose lease ran out and was claimed again THEN the old holder can neither record nor renew', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    const result = await fixture.core.subscriptions.subscribe(channel('c'), admin, {});
    expect(result.ok).toBe(true);
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });
    const claim = { now: fixture.clock.now(), limit: 5, leaseMs: 1000, platform: 'console' };
    const [first] = await fixture.store.deliveries.claimDue({ ...claim, owner: 'a' });
    expect(await fixture.store.deliveries.markSending(first!, { at: fixture.clock.now(), resolved: false })).toBe(true); // its request began
    expect(await fixture.store.deliveries.claimDue({ ...claim, owner: 'b' })).toEqual([]); // one holder at a time
    fixture.clock.advance(1001);
    const [second] = await fixture.store.deliveries.claimDue({ ...claim, now: fixture.clock.now(), owner: 'b' });
    expect(second!.id).toBe(first!.id);
    // The worker that died mid-send may have posted: the new claim says so.
    expect(second!.uncertainSince).not.toBeNull();
    expect(await fixture.store.deliveries.complete(first!, { messageId: 'late', at: fixture.clock.now() })).toBe(false);
    expect(await fixture.store.deliveries.renew([first!], { now: fixture.clock.now(), leaseMs: 5000 })).toEqual(new Set());
    expect(await fixture.store.deliveries.retryLater(first!, { error: 'x', at: fixture.clock.now(), delayMs: 0 })).toBe(false);
    expect(await fixture.store.deliveries.complete(second!, { messageId: 'm1', at: fixture.clock.now() })).toBe(true);
    expect((await fixture.store.deliveries.list({ limit: 1 }))[0]).toMatchObject({ status: 'sent', messageId: 'm1' });
    await fixture.store.close();
  });

  it('GIVEN 1,000 rows waiting behind a head that retries in an hour THEN nothing is due now, and the next due time is the retry', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.core.subscriptions.subscribe(channel('blocked'), admin, {});
    const drafts = Array.from({ length: 1000 }, (_, i) => makeDraft(`p${i}`, { publishedAt: new Date(Date.UTC(2023, 0, 1) + i * 60_000) }));
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts, announceKeys: new Set(drafts.map((d) => d.key)) });
    const [head] = await fixture.store.deliveries.claimDue({ now: fixture.clock.now(), limit: 10, leaseMs: 1000, owner: 'a', platform: 'console' });
    const retryAt = new Date(fixture.clock.now().getTime() + 3600_000);
    await fixture.store.deliveries.retryLater(head!, { error: '503', at: fixture.clock.now(), delayMs: 3600_000 });
    expect(await fixture.store.deliveries.claimDue({ now: fixture.clock.now(), limit: 10, leaseMs: 1000, owner: 'a', platform: 'console' })).toEqual([]);
    // Before: the oldest blocked row's time (now) was reported, so the engine woke every 250 ms.
    expect(await fixture.store.deliveries.nextDueAt('console', fixture.clock.now())).toEqual(retryAt);
    await fixture.store.close();
  });
});

describe('the delivery engine keeps its guarantees', () => {
  const dir = makeTempDir();
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    dir.remove();
  });

  it('GIVEN two engines on one store, a 300 ms lease and 1 s sends THEN every channel gets the post once and no key is sent twice', async () => {
    const store = openSqliteStore(dir.file('two.db'));
    closers.push(() => store.close());
    const recorder = createRecordingPlatform();
    const { publish } = await realClockStore(store, 20);
    for (let i = 0; i < 20; i++) recorder.slowDown(`c${i}`, 1000);
    await publish(makeDraft('moe'));
    const engines = [engineOn(store, recorder.platform, { leaseMs: 300 }), engineOn(store, recorder.platform, { leaseMs: 300 })];
    for (const e of engines) {
      e.start();
      closers.push(() => e.stop());
    }
    await until(async () => (await store.deliveries.list({ status: 'sent', limit: 100 })).length === 20, '20 sent deliveries');
    const keys = recorder.attempts.map((a) => a.key);
    expect(keys).toHaveLength(20); // the lease is renewed while the send is in flight: nobody else takes it
    expect(new Set(keys).size).toBe(20);
    expect(recorder.sends).toHaveLength(20);
  });

  it('GIVEN one channel whose send hangs THEN another channel\'s retry still starts when it is due', async () => {
    const store = openSqliteStore(':memory:');
    closers.push(() => store.close());
    const recorder = createRecordingPlatform();
    const { publish } = await realClockStore(store, 2);
    const release = recorder.hang('c0');
    recorder.failTransiently('c1', 1);
    await publish(makeDraft('moe'));
    const engine = engineOn(store, recorder.platform);
    engine.start();
    closers.push(async () => {
      release();
      await engine.stop();
    });
    // Before: the engine waited for a slot to free up, so c1's retry waited for c0's hung send.
    await until(() => recorder.sendsTo('c1').length === 1, 'the retry of c1 while c0 hangs');
    expect(recorder.attempts.filter((a) => a.channelId === 'c1')).toHaveLength(2);
    expect(recorder.sendsTo('c0')).toHaveLength(0); // still hung
  });

  it('GIVEN the database busy (another process writing) right after a successful send THEN no resend, and the store waits with timers, so the event loop keeps turning while the lock is held', async () => {
    const path = dir.file('busy.db');
    const store = openSqliteStore(path);
    closers.push(() => store.close());
    const { publish } = await realClockStore(store, 1);
    await publish(makeDraft('moe'));
    const recorder = createRecordingPlatform();
    const other = new BetterSqlite3(path);
    closers.push(() => void other.close());
    const send = recorder.platform.send.bind(recorder.platform);
    // Turns of the event loop while the other process holds the write lock: a store that waited for the lock
    // inside SQLite (a long busy_timeout) would hold the thread for the whole 1.5 s, and no turn would come.
    let turnsWhileLocked = 0;
    let locked = false;
    const turn = setInterval(() => {
      if (locked) turnsWhileLocked++;
    }, 10);
    closers.push(() => clearInterval(turn));
    recorder.platform.send = async (...args) => {
      const result = await send(...args);
      // Accepted by the platform; now `inkwire reindex` (say) takes the write lock for 1.5 s.
      other.exec('BEGIN IMMEDIATE');
      locked = true;
      setTimeout(() => {
        locked = false;
        other.exec('COMMIT');
      }, 1500);
      return result;
    };
    const engine = engineOn(store, recorder.platform);
    engine.start();
    closers.push(() => engine.stop());
    await until(async () => (await store.deliveries.list({ status: 'sent', limit: 5 })).length === 1, 'the delivery recorded as sent');
    expect(recorder.attempts).toHaveLength(1);
    expect(recorder.sends).toHaveLength(1);
    expect(locked).toBe(false); // recorded only after the lock was released: the store did wait for it
    // ~150 turns on a quiet machine; at 5× slower, still dozens. Blocking inside SQLite: none or one.
    expect(turnsWhileLocked).toBeGreaterThanOrEqual(10);
  });
});

describe('pauses and refusals lose nothing', () => {
  const draft = (slug: string, day: number) => makeDraft(slug, { title: `Experts ${slug}`, text: 'experts route tokens', publishedAt: new Date(Date.UTC(2023, 2, day)) });

  it('GIVEN a message the platform refuses (50035) THEN that delivery fails with its reason, the subscription stays active and the next post arrives', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const recorder = createRecordingPlatform();
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    const sub = await fixture.core.subscriptions.subscribe(channel('papers'), admin, {});
    if (!sub.ok) throw sub.error;
    const engine = engineOn(fixture.store, recorder.platform, { clock: fixture.clock });
    recorder.failPermanently('papers', new DeliveryError('delivery/invalid-payload', 'Discord rejected the message: Invalid Form Body'));
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [draft('one', 1)], announceKeys: new Set(['slug:one']) });
    await engine.drain();
    expect((await fixture.store.subscriptions.get(sub.value.subscription.id))?.pausedAt).toBeNull();
    expect((await fixture.store.deliveries.list({ status: 'failed', limit: 5 }))[0]?.lastError).toMatch(/Invalid Form Body/);
    recorder.clearFailure('papers');
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [draft('two', 2)], announceKeys: new Set(['slug:two']) });
    await engine.drain();
    expect(recorder.sendsTo('papers').map((s) => (s.message.kind === 'post' ? s.message.card.title : ''))).toEqual(['Experts two']);
    await fixture.store.close();
  });

  it('GIVEN a paused subscription, 3 new posts, then /subscribe again THEN all of them arrive in order and keywords, mode and role are kept', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const recorder = createRecordingPlatform();
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    const sub = await fixture.core.subscriptions.subscribe(channel('papers'), admin, { keywords: 'experts', mention: '@readers' });
    if (!sub.ok) throw sub.error;
    const engine = engineOn(fixture.store, recorder.platform, { clock: fixture.clock });
    recorder.failPermanently('papers'); // the channel cannot receive: pause
    const publish = (d: PostDraft) => fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [d], announceKeys: new Set([d.key]) });
    await publish(draft('first', 1));
    await engine.drain();
    expect((await fixture.store.subscriptions.get(sub.value.subscription.id))?.pausedAt).not.toBeNull();
    for (const [i, slug] of ['second', 'third', 'fourth'].entries()) await publish(draft(slug, i + 2));
    await engine.drain();
    expect(recorder.sends).toHaveLength(0); // held, not sent, not lost
    recorder.clearFailure('papers');
    const resumed = await fixture.core.subscriptions.subscribe(channel('papers'), admin, { thread: true });
    if (!resumed.ok) throw resumed.error;
    expect(resumed.value.released).toEqual({ held: 4, summarised: 0 });
    // Kept what the command did not give; took what it did.
    expect(resumed.value.subscription).toMatchObject({ keywords: ['experts'], mentionId: 'readers', mode: 'instant', thread: true, pausedAt: null });
    await engine.drain();
    expect(recorder.sends.map((s) => (s.message.kind === 'post' ? s.message.card.title : ''))).toEqual(['Experts first', 'Experts second', 'Experts third', 'Experts fourth']);
    await fixture.store.close();
  });

  it('GIVEN posts held longer than DELIVERY_HELD_SUMMARY_HOURS THEN they arrive as one summary, newer ones one by one', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED, DELIVERY_HELD_SUMMARY_HOURS: '24' });
    const recorder = createRecordingPlatform();
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.core.subscriptions.subscribe(channel('papers'), admin, {});
    const engine = engineOn(fixture.store, recorder.platform, { clock: fixture.clock });
    recorder.failPermanently('papers');
    const publish = (d: PostDraft) => fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [d], announceKeys: new Set([d.key]) });
    await publish(draft('a', 1));
    await engine.drain();
    await publish(draft('b', 2));
    fixture.clock.advance(48 * 3600_000);
    await publish(draft('c', 3));
    recorder.clearFailure('papers');
    const resumed = await fixture.core.subscriptions.subscribe(channel('papers'), admin, {});
    expect(resumed.ok && resumed.value.released).toEqual({ held: 1, summarised: 2 });
    await engine.drain();
    expect(recorder.sends.map((s) => (s.message.kind === 'digest' ? `${s.message.title}: ${s.message.cards.map((c) => c.title).join(', ')}` : s.message.card.title))).toEqual([
      'While delivery here was paused: 2 explainers: Experts a, Experts b',
      'Experts c',
    ]);
    await fixture.store.close();
  });
});

import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

const SKEW_MS = 70_000;
/** An instance's clock, `offsetMs` away from the real one (and the database's). */
const skewed = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });
const ahead = skewed(SKEW_MS);
const behind = skewed(-SKEW_MS);
const onTime = skewed(0);

/**
 * Time on PostgreSQL is the database's (ADR 004): every lease, due time and poll lease is set and compared
 * on the database clock, so instances whose clocks disagree by ±70 s never take each other's live claims.
 */
describe.skipIf(!TEST_DATABASE_URL)('instances with skewed clocks on one PostgreSQL database', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  /** Two instances (two pools) on one new schema, with `channels` channels subscribed to one feed. */
  async function twoInstances(channels: number) {
    const schema = uniqueSchema('skew');
    schemas.push(schema);
    const one = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 });
    const two = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 });
    cleanups.push(() => one.close(), () => two.close());
    const feed = await one.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    for (let i = 0; i < channels; i++) {
      await one.subscriptions.create({ kind: 'channel', platform: 'console', workspaceId: 'ws', channelId: `c${i}`, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 't', createdAt: new Date() });
    }
    const publish = (store: Store, clock: Clock, slug: string) =>
      store.posts.ingest({ feedId: feed.id, at: clock.now(), drafts: [makeDraft(slug)], announceKeys: new Set([`slug:${slug}`]) });
    return { one: one as Store & { pool: Pool }, two: two as Store & { pool: Pool }, feedId: feed.id, publish };
  }
  const claimWith = (store: Store, clock: Clock, owner: string, leaseMs = 30_000) =>
    store.deliveries.claimDue({ now: clock.now(), limit: 10, leaseMs, owner, platform: 'console' });

  it('GIVEN a claim renewed a moment ago WHEN an instance 70 s ahead claims THEN it gets nothing', async () => {
    const { one, two, publish } = await twoInstances(1);
    await publish(one, onTime, 'moe');
    const [held] = await claimWith(one, onTime, 'on-time');
    expect(held).toBeDefined();
    expect(await one.deliveries.renew([held!], { now: onTime.now(), leaseMs: 30_000 })).toEqual(new Set([held!.id]));
    expect(await claimWith(two, ahead, 'ahead')).toEqual([]);
    expect(await one.deliveries.complete(held!, { messageId: 'm1', at: onTime.now() })).toBe(true);
  });

  it('GIVEN an instance 70 s behind THEN its claims and renewals hold for their full lease, and its retry waits its full delay', async () => {
    const { one, two, publish } = await twoInstances(2);
    await publish(one, behind, 'moe');
    const claimed = await claimWith(one, behind, 'behind');
    expect(claimed).toHaveLength(2); // due on the database's clock, whatever the instance's says
    expect(await claimWith(two, onTime, 'on-time')).toEqual([]);
    expect(await one.deliveries.renew(claimed, { now: behind.now(), leaseMs: 30_000 })).toEqual(new Set(claimed.map((c) => c.id)));
    expect(await claimWith(two, ahead, 'ahead')).toEqual([]);
    // A retry a minute away, asked for by the instance behind: not due for anyone before that minute.
    expect(await one.deliveries.retryLater(claimed[0]!, { error: '503', at: behind.now(), delayMs: 60_000 })).toBe(true);
    expect(await claimWith(two, onTime, 'on-time')).toEqual([]);
    // Each instance reads the wait on the database's clock and adds it to its own.
    const seenByAhead = await two.deliveries.nextDueAt('console', ahead.now());
    expect(seenByAhead!.getTime() - ahead.now().getTime()).toBeGreaterThan(0);
  });

  it('GIVEN a feed poll lease held by one instance WHEN an instance 70 s ahead asks for it THEN it is refused', async () => {
    const { one, two, feedId } = await twoInstances(0);
    const longAgo = new Date(Date.now() - 3600_000);
    expect(await one.feeds.claimPoll(feedId, { owner: 'on-time', now: onTime.now(), leaseMs: 30_000, notPolledSince: longAgo })).toBe(true);
    expect(await two.feeds.claimPoll(feedId, { owner: 'ahead', now: ahead.now(), leaseMs: 30_000, notPolledSince: longAgo })).toBe(false);
  });

  it('GIVEN two engines whose clocks differ by 140 s on one database THEN each of 12 channels gets the post once and no claim is taken over', async () => {
    const { one, two, publish } = await twoInstances(12);
    await publish(one, behind, 'moe');
    const recording = createRecordingPlatform();
    for (let i = 0; i < 12; i++) recording.slowDown(`c${i}`, 50);
    const lost: string[] = [];
    const logger = createSilentLogger();
    const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
      warn: (...args: unknown[]) => {
        lost.push(JSON.stringify(args));
      },
      child: () => watchingLogger,
    });
    const engines = ([[one, behind, 'behind'], [two, ahead, 'ahead']] as const).map(([store, clock, owner]) =>
      createDeliveryEngine({
        platform: recording.platform, deliveries: store.deliveries, clock, logger: watchingLogger, concurrency: 2, leaseMs: 60_000,
        maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner,
      }),
    );
    await Promise.all(engines.map((engine) => engine.drain()));
    const perChannel = new Map<string, number>();
    for (const sent of recording.sends) perChannel.set(sent.destination.channelId, (perChannel.get(sent.destination.channelId) ?? 0) + 1);
    expect(perChannel.size).toBe(12);
    expect([...perChannel.values()].every((n) => n === 1), JSON.stringify([...perChannel])).toBe(true);
    expect(lost).toEqual([]);
  });
});

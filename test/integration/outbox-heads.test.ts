import type { Pool } from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createPostgresDeliveryStore } from '../../src/storage/postgres/pg-delivery-store.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { ClaimedDelivery } from '../../src/storage/delivery-store.ts';
import type { Store } from '../../src/storage/store.ts';
import type { NewSubscription } from '../../src/storage/subscription-store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { interceptingPool } from '../fakes/intercepting-pool.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { dropSchemas, STORE_BACKENDS, TEST_DATABASE_URL, uniqueSchema, type StoreBackend } from '../fakes/store-backends.ts';

const FEED_A = 'https://dailyink.substack.com/feed';
const FEED_B = 'https://other.substack.com/feed';
const T0 = new Date('2025-01-01T00:00:00Z');

const channelSub = (feedId: number, channelId: string): NewSubscription => ({
  kind: 'channel', platform: 'console', workspaceId: 'ws', channelId, feedId, keywords: [], mode: 'instant', mentionId: null,
  createdBy: 'test', createdAt: T0,
});

/**
 * The head rule (ADR 003): a destination with a delivery in flight yields nothing to any claimer, whatever
 * the dates of the posts queued behind it, and a channel gets its posts in planning order.
 */
describe.each(STORE_BACKENDS)('one send in flight per channel on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let store: Store;
  const clock = createManualClock(T0);

  beforeEach(async (context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
    store = await backend.open({ clock });
  });
  afterAll(async () => backend?.cleanup());

  it('GIVEN a channel mid-send WHEN a post with an earlier date is queued for it (its second feed) THEN no claimer gets anything for it until the send settles, then the posts go in planning order', async () => {
    const a = await store.feeds.ensure(FEED_A, T0);
    const b = await store.feeds.ensure(FEED_B, T0);
    await store.subscriptions.create(channelSub(a.id, 'c1'));
    await store.subscriptions.create(channelSub(b.id, 'c1'));
    await store.posts.ingest({ feedId: a.id, at: clock.now(), drafts: [makeDraft('june', { publishedAt: new Date('2024-06-01T00:00:00Z') })], announceKeys: new Set(['slug:june']) });
    const claim = { now: clock.now(), limit: 10, leaseMs: 60_000, platform: 'console' };
    const [inFlight, ...none] = await store.deliveries.claimDue({ ...claim, owner: 'one' });
    expect(none).toEqual([]);
    expect(inFlight!.posts[0]!.key).toBe('slug:june');

    // A post dated before the one being sent arrives for the same channel from its other feed.
    await store.posts.ingest({ feedId: b.id, at: clock.now(), drafts: [makeDraft('january', { publishedAt: new Date('2024-01-01T00:00:00Z') })], announceKeys: new Set(['slug:january']) });
    expect(await store.deliveries.claimDue({ ...claim, owner: 'two' })).toEqual([]);
    expect(await store.deliveries.claimDue({ ...claim, owner: 'one' })).toEqual([]);
    expect((await store.deliveries.list({ limit: 10, status: 'sending' })).map((d) => d.id)).toEqual([inFlight!.id]);

    expect(await store.deliveries.complete(inFlight!, { messageId: 'm1', at: clock.now() })).toBe(true);
    const [next] = await store.deliveries.claimDue({ ...claim, owner: 'two' });
    expect(next!.posts[0]!.key).toBe('slug:january');
  });

  it('GIVEN a backfilled (older) item planned after newer ones THEN the channel gets them in the order they were planned', async () => {
    const a = await store.feeds.ensure(FEED_A, T0);
    await store.subscriptions.create(channelSub(a.id, 'c1'));
    await store.posts.ingest({ feedId: a.id, at: clock.now(), drafts: [makeDraft('new-1', { publishedAt: new Date('2024-06-01T00:00:00Z') })], announceKeys: new Set(['slug:new-1']) });
    await store.posts.ingest({ feedId: a.id, at: clock.now(), drafts: [makeDraft('old-backfilled', { publishedAt: new Date('2023-01-01T00:00:00Z') })], announceKeys: new Set(['slug:old-backfilled']) });
    const order: string[] = [];
    for (;;) {
      const [next] = await store.deliveries.claimDue({ now: clock.now(), limit: 10, leaseMs: 60_000, platform: 'console', owner: 'o' });
      if (!next) break;
      order.push(next.posts[0]!.key);
      await store.deliveries.complete(next, { messageId: `m-${order.length}`, at: clock.now() });
    }
    expect(order).toEqual(['slug:new-1', 'slug:old-backfilled']);
  });
  it('GIVEN a resumed channel with long-held posts and a newer one THEN the summary goes in the place of the first held post, before the newer one', async () => {
    const a = await store.feeds.ensure(FEED_A, T0);
    const sub = (await store.subscriptions.create(channelSub(a.id, 'c1')))!;
    await store.posts.ingest({ feedId: a.id, at: clock.now(), drafts: [makeDraft('first')], announceKeys: new Set(['slug:first']) });
    const [claimed] = await store.deliveries.claimDue({ now: clock.now(), limit: 5, leaseMs: 60_000, platform: 'console', owner: 'o' });
    expect(await store.deliveries.holdAndPause(claimed!, { error: 'gone', reason: 'the channel is gone', at: clock.now() })).toBe(true);
    await store.posts.ingest({ feedId: a.id, at: clock.now(), drafts: [makeDraft('second')], announceKeys: new Set(['slug:second']) });
    const later = new Date(T0.getTime() + 2 * 3600_000);
    await store.posts.ingest({ feedId: a.id, at: later, drafts: [makeDraft('newer', { publishedAt: new Date('2020-01-01T00:00:00Z') })], announceKeys: new Set(['slug:newer']) });
    await store.subscriptions.resume(sub.id);
    expect(await store.deliveries.releaseHeld(sub.id, { at: later, summariseBefore: new Date(T0.getTime() + 3600_000) })).toEqual({ held: 1, summarised: 2 });
    const order: string[] = [];
    for (;;) {
      const [next] = await store.deliveries.claimDue({ now: later, limit: 5, leaseMs: 60_000, platform: 'console', owner: 'o' });
      if (!next) break;
      order.push(next.label === 'held' ? `summary of ${next.posts.map((p) => p.key).join(', ')}` : next.posts[0]!.key);
      await store.deliveries.complete(next, { messageId: `m${order.length}`, at: later });
    }
    expect(order).toEqual(['summary of slug:first, slug:second', 'slug:newer']);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('the head rule under concurrency on PostgreSQL', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  it('GIVEN three claimers and posts with ever earlier dates arriving for channels mid-send THEN no channel ever has two sends in flight, and each gets its posts in planning order', async () => {
    const schema = uniqueSchema('heads');
    schemas.push(schema);
    const stores = await Promise.all([0, 1, 2, 3].map(() => openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 })));
    cleanups.push(...stores.map((s) => () => s.close()));
    const [writer, ...claimers] = stores as [Store & { pool: Pool }, ...Array<Store & { pool: Pool }>];
    const CHANNELS = 8;
    const FEEDS = 3;
    const POSTS_PER_FEED = 12;
    const feeds = [];
    for (let f = 0; f < FEEDS; f++) feeds.push(await writer.feeds.ensure(`https://f${f}.substack.com/feed`, T0));
    for (const feed of feeds) for (let c = 0; c < CHANNELS; c++) await writer.subscriptions.create(channelSub(feed.id, `c${c}`));

    const inFlight = new Set<string>();
    const violations: string[] = [];
    const sentOrder = new Map<string, number[]>();
    let writing = true;
    // The writer plans posts whose dates go ever further back, on every feed in turn, while the claimers work.
    const write = (async () => {
      for (let i = 0; i < POSTS_PER_FEED; i++) {
        for (const feed of feeds) {
          const slug = `f${feed.id}-p${i}`;
          await writer.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft(slug, { publishedAt: new Date(Date.UTC(2024, 0, 1) - (i * FEEDS + feed.id) * 86_400_000) })], announceKeys: new Set([`slug:${slug}`]) });
        }
      }
      writing = false;
    })();
    const claimLoop = async (store: Store, owner: string) => {
      for (;;) {
        const batch: ClaimedDelivery[] = await store.deliveries.claimDue({ now: new Date(), limit: 4, leaseMs: 60_000, platform: 'console', owner });
        if (batch.length === 0) {
          if (!writing && (await store.deliveries.stats()).pending === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        for (const d of batch) {
          const channel = d.subscription.channelId;
          if (inFlight.has(channel)) violations.push(`${owner} claimed ${d.id} for ${channel} while another send was in flight`);
          inFlight.add(channel);
        }
        await Promise.all(batch.map(async (d) => {
          await new Promise((resolve) => setTimeout(resolve, 2)); // the send
          const channel = d.subscription.channelId;
          sentOrder.set(channel, [...(sentOrder.get(channel) ?? []), d.id]);
          // Out of the set before the outcome is recorded: until it is, the row is still 'sending' and the
          // store must not give the channel to anyone.
          inFlight.delete(channel);
          expect(await store.deliveries.complete(d, { messageId: `m${d.id}`, at: new Date() })).toBe(true);
        }));
      }
    };
    // A watcher reads the table itself: never two rows in 'sending' for one destination.
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const { rows } = await writer.pool.query<{ destination_key: string; n: number }>(
          `SELECT destination_key, count(*)::int AS n FROM deliveries WHERE status = 'sending' GROUP BY 1 HAVING count(*) > 1`,
        );
        for (const row of rows) violations.push(`${row.destination_key} had ${row.n} rows sending at once`);
      }
    })();
    await Promise.all([write, ...claimers.map((s, i) => claimLoop(s, `claimer-${i}`))]);
    watching = false;
    await watch;

    expect(violations).toEqual([]);
    const { rows: planned } = await writer.pool.query<{ destination_key: string; ids: number[] }>(
      `SELECT destination_key, array_agg(id::int ORDER BY id) AS ids FROM deliveries GROUP BY 1`,
    );
    expect(planned).toHaveLength(CHANNELS);
    for (const { destination_key: key, ids } of planned) {
      expect(ids).toHaveLength(FEEDS * POSTS_PER_FEED);
      expect(sentOrder.get(key.split(':')[1]!), key).toEqual(ids); // planning order, each once
    }
  });
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows of `deliveries` a plan read: returned by its scans, or read and thrown away by their filters. */
const deliveryRowsRead = (node: PlanNode): number =>
  (node['Relation Name'] === 'deliveries'
    ? (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * node['Actual Loops']
    : 0) + (node.Plans ?? []).reduce((sum, child) => sum + deliveryRowsRead(child), 0);

describe.skipIf(!TEST_DATABASE_URL)('claims independent of the backlog on PostgreSQL', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  it('GIVEN 20,000 rows blocked behind a head that retries in an hour THEN an empty claim and nextDueAt read no delivery rows (the heads index only)', async () => {
    const schema = uniqueSchema('backlog');
    schemas.push(schema);
    const store = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 });
    cleanups.push(() => store.close());
    const feed = await store.feeds.ensure(FEED_A, T0);
    const sub = (await store.subscriptions.create(channelSub(feed.id, 'blocked')))!;
    await store.pool.query(
      `INSERT INTO posts (feed_id, key, url, title, html, text, word_count, reading_minutes, content_hash, first_seen_at, updated_at)
       SELECT $1, 'slug:p' || g, 'https://x.example/p/' || g, 'Post ' || g, '', '', 0, 0, 'h', now(), now() FROM generate_series(1, 20000) g`,
      [feed.id],
    );
    await store.pool.query(
      `INSERT INTO deliveries (subscription_id, kind, post_id, platform, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
       SELECT $1::bigint, 'post', p.id, 'console', 'console:blocked', 'p' || p.id || '-s' || $1::bigint, p.id, 'pending', now(), now() FROM posts p ORDER BY p.id`,
      [sub.id],
    );
    await store.pool.query(`UPDATE deliveries SET next_attempt_at = now() + interval '1 hour' WHERE id = (SELECT min(id) FROM deliveries)`);
    await store.pool.query('ANALYZE deliveries');

    const statements: Array<{ text: string; values: readonly unknown[] }> = [];
    const recorded = createPostgresDeliveryStore(interceptingPool(store.pool, (text, values) => void statements.push({ text, values })));
    expect(await recorded.claimDue({ now: new Date(), limit: 64, leaseMs: 60_000, owner: 'o', platform: 'console' })).toEqual([]);
    const due = await recorded.nextDueAt('console', new Date());
    expect(due!.getTime() - Date.now()).toBeGreaterThan(3_000_000); // the head's retry, not a blocked row's time

    const reads = statements.filter((s) => /^\s*(WITH|SELECT)/i.test(s.text));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      for (const { text, values } of reads) {
        const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, [...values]);
        expect(deliveryRowsRead(rows[0]!['QUERY PLAN'][0]!.Plan), text).toBeLessThanOrEqual(1);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

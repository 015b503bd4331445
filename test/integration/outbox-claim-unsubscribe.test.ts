import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createPostgresDeliveryStore } from '../../src/storage/postgres/pg-delivery-store.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { interceptingPool } from '../fakes/intercepting-pool.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

describe.skipIf(!TEST_DATABASE_URL)('an /unsubscribe while deliveries are being claimed (PostgreSQL)', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  it('GIVEN a claim of three channels WHEN one channel unsubscribes as the claim reads the subscriptions THEN the batch is not stranded: the other two are sent and nothing stays "sending"', async () => {
    const schema = uniqueSchema('unsub');
    schemas.push(schema);
    const store = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 4 });
    cleanups.push(() => store.close());
    const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    for (const channelId of ['c1', 'c2', 'c3']) {
      await store.subscriptions.create({ kind: 'channel', platform: 'console', workspaceId: 'ws', channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 't', createdAt: new Date() });
    }
    await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });

    // The moment the claim first reads subscriptions, c2 unsubscribes on another connection. The claim goes
    // on once that unsubscribe has either finished or is waiting for a lock the claim holds.
    let fired = false;
    let unsubscribed: Promise<number> | null = null;
    const racing = interceptingPool(store.pool, async (text) => {
      if (fired || !/FROM subscriptions s\b/.test(text)) return;
      fired = true;
      let done = false;
      unsubscribed = store.subscriptions.deleteForChannel('console', 'c2').finally(() => (done = true));
      for (;;) {
        if (done) return;
        const { rows } = await store.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM subscriptions%'`,
        );
        if (rows[0]!.n > 0) return;
        await sleep(5);
      }
    });
    const recording = createRecordingPlatform();
    const engine = createDeliveryEngine({
      platform: recording.platform, deliveries: createPostgresDeliveryStore(racing), clock: systemClock, logger: createSilentLogger(),
      concurrency: 4, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner: 'racer',
    });
    await engine.drain();
    expect(fired).toBe(true);
    expect(await unsubscribed).toBe(1);

    const sentTo = recording.sends.map((s) => s.destination.channelId);
    expect(sentTo).toEqual(expect.arrayContaining(['c1', 'c3']));
    const { rows } = await store.pool.query<{ channel: string; status: string }>(
      `SELECT split_part(destination_key, ':', 2) AS channel, status FROM deliveries ORDER BY 1`,
    );
    // c2's row went with its subscription; the other two were sent, none is left claimed until its lease runs out.
    expect(rows).toEqual([{ channel: 'c1', status: 'sent' }, { channel: 'c3', status: 'sent' }]);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { createSharedHistoryGate } from '../../adapters/slack/slack-history-budget.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

describe.skipIf(!TEST_DATABASE_URL)('a Slack workspace\'s history tier shared by every instance on one database', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  it('GIVEN two instances looking up history in one workspace THEN the second waits for the next slot of the one shared bucket, keeps it while waiting, and another workspace has its own bucket', async () => {
    const schema = uniqueSchema('history_budget');
    schemas.push(schema);
    const [a, b] = await Promise.all([0, 1].map(() => openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 2 })));
    cleanups.push(() => Promise.all([a!.close(), b!.close()]).then(() => {}));
    // The limited tier (one call a minute) with a minute of 60 s: the slots are a minute apart on the database's clock.
    const gate = (store: typeof a) => createSharedHistoryGate({ reserve: (bucket, rate) => store!.sendBudget!.reserve(bucket, rate), perWindow: 1, windowMs: 60_000 });
    const [gateA, gateB] = [gate(a), gate(b)];
    const reservations = async (bucket: string) => (await a!.pool.query<{ next_at: Date }>('SELECT next_at FROM send_budget WHERE platform = $1', [bucket])).rows;

    expect(await gateA.ready('T1', 'k1:message')).toBe(0); // the workspace's first slot is now
    gateA.used('k1:message');
    const wait = await gateB.ready('T1', 'k2:message'); // another instance, same workspace: the next slot
    expect(wait).toBeGreaterThan(30_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    const [row] = await reservations('slack-history:T1');
    // Asking again while its delivery waits keeps the slot it has: no second reservation moves the row on.
    expect(await gateB.ready('T1', 'k2:message')).toBeGreaterThan(0);
    expect(await reservations('slack-history:T1')).toEqual([row]);
    // Another workspace's tier is its own.
    expect(await gateB.ready('T2', 'k3:message')).toBe(0);
  });
});

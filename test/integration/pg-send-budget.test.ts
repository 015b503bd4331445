import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

/**
 * Records every statement that wrote the send-budget row: the slot it started from (the old `next_at`, or
 * the database's clock when that was later) and the new `next_at`, so the slots each one took can be counted.
 */
async function recordBudgetStatements(pool: Pool, schema: string) {
  await pool.query(`
    CREATE TABLE ${schema}.budget_log (old_next_at timestamptz, next_at timestamptz NOT NULL, logged_at timestamptz NOT NULL);
    CREATE FUNCTION ${schema}.log_budget() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ${schema}.budget_log VALUES (CASE WHEN TG_OP = 'UPDATE' THEN OLD.next_at END, NEW.next_at, clock_timestamp());
        RETURN NEW;
      END $$;
    CREATE TRIGGER log_budget AFTER INSERT OR UPDATE ON ${schema}.send_budget FOR EACH ROW EXECUTE FUNCTION ${schema}.log_budget();`);
  return async (spacingMs: number) => {
    const { rows } = await pool.query<{ old_ms: number | null; new_ms: number; logged_ms: number }>(
      `SELECT (extract(epoch FROM old_next_at) * 1000)::float8 AS old_ms, (extract(epoch FROM next_at) * 1000)::float8 AS new_ms,
              (extract(epoch FROM logged_at) * 1000)::float8 AS logged_ms
       FROM ${schema}.budget_log ORDER BY next_at`,
    );
    return rows.map((r) => ({ ...r, slots: Math.round((r.new_ms - Math.max(r.old_ms ?? -Infinity, r.logged_ms)) / spacingMs) }));
  };
}

describe.skipIf(!TEST_DATABASE_URL)('the PostgreSQL send budget', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  async function instances(n: number) {
    const schema = uniqueSchema('budget');
    schemas.push(schema);
    const stores: Array<Awaited<ReturnType<typeof openPostgresStore>>> = [];
    for (let i = 0; i < n; i++) stores.push(await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 4 }));
    cleanups.push(() => Promise.all(stores.map((s) => s.close())));
    return { stores, statements: await recordBudgetStatements(stores[0]!.pool, schema) };
  }

  it('GIVEN 60 sends of one process asking for a slot at once THEN a few statements reserve them all, in consecutive slots 1/rate apart, in the order asked', async () => {
    const { stores: [store], statements } = await instances(1);
    const waits = await Promise.all(Array.from({ length: 60 }, () => store!.sendBudget!.reserve('slack', 20)));
    const written = await statements(50);
    // One statement per send queued every send on the row's lock (each holding a pool connection the outbox
    // then waited for): here the first statement takes one slot, the next the 59 that asked meanwhile.
    expect(written.length).toBeLessThanOrEqual(3);
    expect(written.reduce((n, s) => n + s.slots, 0)).toBe(60);
    // Within one statement's slots, each send waits exactly 50 ms (1/rate) longer than the one that asked before it.
    const steps = waits.slice(1).map((wait, i) => wait - waits[i]!);
    expect(steps.filter((step) => Math.abs(step - 50) < 0.01).length).toBeGreaterThanOrEqual(60 - written.length);
  });

  it('GIVEN three processes reserving at once THEN their statements chain on one row: each starts where the last ended, 120 slots in all, far fewer statements', async () => {
    const { stores, statements } = await instances(3);
    // 20 a second (50 ms slots): the trigger reads the clock a moment after the statement did, and on a loaded
    // machine that moment must stay well under one slot for the count of slots per statement to be exact.
    await Promise.all(stores.map((store) => Promise.all(Array.from({ length: 40 }, () => store.sendBudget!.reserve('slack', 20)))));
    const written = await statements(50);
    expect(written[0]!.old_ms).toBeNull(); // the first statement made the row
    for (let i = 1; i < written.length; i++) expect(written[i]!.old_ms).toBeCloseTo(written[i - 1]!.new_ms, 3);
    expect(written.reduce((n, s) => n + s.slots, 0)).toBe(120);
    expect(written.length).toBeLessThanOrEqual(12);
  });

  it('GIVEN the database refusing a reservation THEN every send waiting on that statement fails with it, and the next reservation works', async () => {
    const { stores: [store] } = await instances(1);
    await store!.pool.query('ALTER TABLE send_budget RENAME TO send_budget_away');
    const failed = await Promise.allSettled(Array.from({ length: 5 }, () => store!.sendBudget!.reserve('slack', 50)));
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    await store!.pool.query('ALTER TABLE send_budget_away RENAME TO send_budget');
    expect(await store!.sendBudget!.reserve('slack', 50)).toBeGreaterThanOrEqual(0);
  });
});

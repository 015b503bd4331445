import type { Pool, PoolClient } from 'pg';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;

/** A timestamp column as epoch milliseconds (a JS number), so rows map exactly as SQLite's do. */
export const ms = (column: string, as?: string) => `(extract(epoch from ${column}) * 1000)::float8${as ? ` AS ${as}` : ''}`;

/** A nullable epoch-milliseconds value as a Date parameter. */
export const at = (value: Date | null | undefined) => value ?? null;

/**
 * Runs `work` in one transaction on one client; rolls back on any error. Serialization failures and
 * deadlocks (which PostgreSQL asks the client to retry) are retried a few times.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      const code = (error as { code?: string }).code;
      if ((code === '40001' || code === '40P01') && attempt < 5) continue;
      throw error;
    } finally {
      client.release();
    }
  }
}

import type { Pool, PoolClient } from 'pg';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;

/** A timestamp column as epoch milliseconds (a JS number), so rows map exactly as SQLite's do. */
export const ms = (column: string, as?: string) => `(extract(epoch from ${column}) * 1000)::float8${as ? ` AS ${as}` : ''}`;

/** A nullable epoch-milliseconds value as a Date parameter. */
export const at = (value: Date | null | undefined) => value ?? null;

/**
 * Checks a client out of the pool for `work` and returns it. While a client is checked out pg-pool does not
 * listen for its 'error' event, so a connection dropped mid-work (a server restart, a reset) would be an
 * unhandled 'error' that ends the process: here it is caught, the query in flight fails on its own, and the
 * broken client is destroyed instead of going back to the pool.
 */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    // An error without a SQLSTATE (a lost connection, a client-side query timeout whose statement may still be
    // running) leaves the connection in an unknown state: it is not reused.
    if (!(error as { code?: string }).code) broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}

/**
 * Runs `work` in one transaction on one client; rolls back on any error. Serialization failures and
 * deadlocks (which PostgreSQL asks the client to retry) are retried a few times. A connection lost
 * mid-transaction fails the call (nothing was committed); the caller retries.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withClient(pool, async (client) => {
        await client.query('BEGIN');
        try {
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code === '40001' || code === '40P01') && attempt < 5) continue;
      throw error;
    }
  }
}

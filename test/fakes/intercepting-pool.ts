import type { Pool, PoolClient } from 'pg';

type QueryConfig = { text: string; values?: unknown[]; name?: string };
type Query = (textOrConfig: string | QueryConfig, values?: unknown[]) => Promise<unknown>;

/**
 * A node-postgres pool that calls `before(text, values)` ahead of every query it or its clients run,
 * wherever the code under test runs it (on the pool, or on a client inside a transaction): to record the
 * statements a store sends, or to make something happen at an exact point of a transaction.
 */
export function interceptingPool(pool: Pool, before: (text: string, values: readonly unknown[]) => Promise<void> | void): Pool {
  const wrap = (query: Query): Query => async (textOrConfig, values) => {
    // A query is text with values, or a config object (named, prepared statements).
    const config = typeof textOrConfig === 'string' ? { text: textOrConfig, values } : textOrConfig;
    await before(config.text, config.values ?? []);
    return query(textOrConfig, values);
  };
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query') return wrap(target.query.bind(target) as Query);
      if (prop === 'connect') {
        return async () => {
          const client = await target.connect();
          return new Proxy(client, { get: (c, p) => (p === 'query' ? wrap(c.query.bind(c) as Query) : Reflect.get(c, p)) }) as PoolClient;
        };
      }
      return Reflect.get(target, prop);
    },
  });
}

import pg from 'pg';
import type { Clock } from '../../clock.ts';
import { systemClock } from '../../clock.ts';
import { planDeliveries, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { InkwireError } from '../../errors.ts';
import type { Store } from '../store.ts';
import { createPostgresDeliveryStore } from './pg-delivery-store.ts';
import { createPostgresFeedStore } from './pg-feed-store.ts';
import { createPostgresInstallationStore } from './pg-installation-store.ts';
import { createPostgresInteractionReceipts } from './pg-interaction-receipts.ts';
import { migratePostgres } from './pg-migrations.ts';
import { createPostgresPostStore } from './pg-post-store.ts';
import { createPostgresSearchIndex } from './pg-search-index.ts';
import { createPostgresSendBudget } from './pg-send-budget.ts';
import { createPostgresSubscriptionStore } from './pg-subscription-store.ts';

export interface PostgresStoreOptions {
  clock?: Clock;
  planDeliveries?: DeliveryPlanner;
  /** A schema to work in (created if missing): tests give each file its own. Default: the server's search_path. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Apply migrations on open (default true; `inkwire migrate` runs them explicitly). */
  migrate?: boolean;
  /**
   * The longest one statement may run (the server cancels it) and, a few seconds later, the longest the
   * client waits for its answer (a hung server or a silent network). 0 turns both off. Migrations are exempt.
   */
  statementTimeoutMs?: number;
}

/** How much longer than the server's statement timeout the client waits before it gives up on an answer. */
const CLIENT_TIMEOUT_MARGIN_MS = 5_000;

/** 64-bit integers (ids, counts) as JS numbers: Inkwire's ids stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The pool the PostgreSQL store and `inkwire migrate` share, with the schema set on every connection. */
export function createPostgresPool(url: string, options: { schema?: string; poolSize?: number; statementTimeoutMs?: number } = {}): pg.Pool {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) throw new Error(`not a schema name: ${options.schema}`);
  const timeoutMs = options.statementTimeoutMs ?? 0;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types,
    // Waiting for a free connection, or for a server that does not answer the connect, fails after this.
    connectionTimeoutMillis: 10_000,
    // A connection whose peer vanished without a reset (a cable, a NAT) is found by TCP keepalives.
    keepAlive: true,
    ...(timeoutMs > 0
      ? { statement_timeout: timeoutMs, query_timeout: timeoutMs + CLIENT_TIMEOUT_MARGIN_MS, idle_in_transaction_session_timeout: timeoutMs + CLIENT_TIMEOUT_MARGIN_MS }
      : {}),
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that loses its connection (a server restart) must not crash the process. Checked-out
  // clients are covered by withClient (pg-sql.ts); the pool's own queries release a failed client themselves.
  pool.on('error', () => {});
  return pool;
}

/** IF NOT EXISTS still races between two sessions (a unique violation): the loser finds it made. */
async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((error: { code?: string }) => {
    if (error.code !== '23505' && error.code !== '42P06') throw error;
  });
}

/**
 * Opens the PostgreSQL store: the same ports as SQLite over one connection pool, migrations applied under
 * an advisory lock (several instances may start at once). Any number of processes may use one database.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store & { readonly pool: pg.Pool }> {
  const pool = createPostgresPool(url, options);
  try {
    if (options.migrate !== false && (options.statementTimeoutMs ?? 0) > 0) {
      // Migrations (and the advisory lock they queue on) may take longer than any statement should: their own
      // connection, without the timeouts.
      const migrations = createPostgresPool(url, { ...(options.schema ? { schema: options.schema } : {}), poolSize: 1 });
      try {
        if (options.schema) await createSchema(migrations, options.schema);
        await migratePostgres(migrations);
      } finally {
        await migrations.end().catch(() => {});
      }
    } else {
      if (options.schema) await createSchema(pool, options.schema);
      if (options.migrate !== false) await migratePostgres(pool);
    }
  } catch (error) {
    await pool.end().catch(() => {});
    const code = (error as { code?: string }).code;
    const why = code === '3F000' || /no schema has been selected/.test(String(error))
      ? 'the schema named in the URL\'s search_path does not exist; create it first (CREATE SCHEMA …)'
      : error instanceof Error ? error.message : String(error);
    throw new InkwireError('store/unopenable', `cannot open the PostgreSQL database: ${why}`);
  }
  const clock = options.clock ?? systemClock;
  return {
    kind: 'postgres',
    pool,
    feeds: createPostgresFeedStore(pool),
    posts: createPostgresPostStore(pool, { planDeliveries: options.planDeliveries ?? planDeliveries }),
    subscriptions: createPostgresSubscriptionStore(pool),
    deliveries: createPostgresDeliveryStore(pool),
    installations: createPostgresInstallationStore(pool),
    interactionReceipts: createPostgresInteractionReceipts(pool),
    sendBudget: createPostgresSendBudget(pool),
    search: createPostgresSearchIndex(pool, { clock }),
    // Many instances share one PostgreSQL database by design: nothing to lock.
    lockWriter() {},
    close: () => pool.end(),
  };
}

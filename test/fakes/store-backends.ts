import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Clock } from '../../src/clock.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';

/** The PostgreSQL server tests use: `.ci/run` sets it; without it the PostgreSQL variants skip, loudly. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? '';

if (!TEST_DATABASE_URL) {
  process.stderr.write(
    '\n*** TEST_DATABASE_URL is not set: the PostgreSQL variants of the store tests are SKIPPED. ***\n' +
      '*** Set it (e.g. postgres://postgres@127.0.0.1:5432/test) to run them; CI always does.  ***\n\n',
  );
}

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store (PostgreSQL: its own schema, dropped by `cleanup`). */
  open(options?: { clock?: Clock }): Promise<Store>;
  cleanup(): Promise<void>;
}

/** A new schema name, unique per call, for one test's own PostgreSQL tables. */
export const uniqueSchema = (prefix = 't') => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

/** Drops the given schemas (the tables of one test file). */
export async function dropSchemas(schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

function sqliteBackend(): StoreBackend {
  const open: Store[] = [];
  return {
    name: 'sqlite',
    async open(options = {}) {
      const store = openSqliteStore(':memory:', options);
      open.push(store);
      return store;
    },
    async cleanup() {
      for (const store of open.splice(0)) await store.close().catch(() => {});
    },
  };
}

function postgresBackend(): StoreBackend {
  const open: Store[] = [];
  const schemas: string[] = [];
  return {
    name: 'postgres',
    async open(options = {}) {
      const schema = uniqueSchema();
      schemas.push(schema);
      const store = await openPostgresStore(TEST_DATABASE_URL, { ...options, schema, poolSize: 4 });
      open.push(store);
      return store;
    },
    async cleanup() {
      for (const store of open.splice(0)) await store.close().catch(() => {});
      await dropSchemas(schemas.splice(0));
    },
  };
}

/** Every backend the store contract runs against here: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const STORE_BACKENDS: ReadonlyArray<[string, () => StoreBackend, boolean]> = [
  ['SQLite', sqliteBackend, false],
  ['PostgreSQL', postgresBackend, !TEST_DATABASE_URL],
];

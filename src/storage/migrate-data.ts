import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { InkwireError } from '../errors.ts';
import { redactUrl } from '../feeds/url-secrets.ts';
import { storableText } from '../posts/stored-text.ts';
import { createPostgresPool } from './postgres/pg-store.ts';
import { migratePostgres } from './postgres/pg-migrations.ts';
import { migrateSqlite } from './sqlite/sqlite-migrations.ts';

/** The tables that hold a deployment, parents first (SQLite-only bookkeeping — queue heads, the writer lock — is rebuilt, not copied). */
const TABLES = ['feeds', 'posts', 'post_papers', 'subscriptions', 'deliveries', 'digest_items', 'digest_queue', 'notices', 'installations'] as const;
const WITH_IDS = new Set<string>(['feeds', 'posts', 'subscriptions', 'deliveries', 'notices']);
const BATCH_ROWS = 500;

/**
 * `inkwire migrate-data`: copies a SQLite deployment into an empty PostgreSQL database in one transaction,
 * ids kept (so idempotency keys, which name post and subscription ids, stay the same and a delivery sent
 * before the move is never sent again), timestamps and flags converted, identity counters moved past the
 * copied ids; then compares every table's row count and id sum on both sides. Nothing is written to the
 * SQLite file beyond its own pending migrations.
 */
export async function copySqliteToPostgres(fromPath: string, toUrl: string, options: { onTable?: (table: string, rows: number) => void; schema?: string } = {}): Promise<{ tables: number; rows: number }> {
  if (!existsSync(fromPath)) throw new InkwireError('store/unopenable', `no SQLite database at ${fromPath}`);
  const sqlite = new BetterSqlite3(fromPath);
  const pool = createPostgresPool(toUrl, { poolSize: 2, ...(options.schema ? { schema: options.schema } : {}) });
  try {
    migrateSqlite(sqlite);
    if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`).catch((error: { code?: string }) => {
      if (error.code !== '23505' && error.code !== '42P06') throw error;
    });
    await migratePostgres(pool);
    const client = await pool.connect();
    let total = 0;
    try {
      await client.query('BEGIN');
      for (const table of TABLES) {
        const { rows: existing } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        if (existing[0]!.n > 0) throw new InkwireError('store/not-empty', `the PostgreSQL database ${redactUrl(toUrl)} already has rows in ${table}; migrate-data copies into an empty one only`);
      }
      for (const table of TABLES) {
        const { rows: pgColumns } = await client.query<{ column_name: string; data_type: string }>(
          `SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
          [table],
        );
        const sqliteColumns = new Set((sqlite.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
        const columns = pgColumns.filter((c) => sqliteColumns.has(c.column_name) || (table === 'deliveries' && c.column_name === 'platform'));
        const convert = columns.map((c) => {
          if (table === 'deliveries' && c.column_name === 'platform') return (row: Record<string, unknown>) => String(row.destination_key).split(':')[0];
          if (table === 'deliveries' && c.column_name === 'status') return (row: Record<string, unknown>) => (row.status === 'cancelled' ? 'failed' : row.status);
          if (c.data_type.startsWith('timestamp')) return (row: Record<string, unknown>) => (row[c.column_name] == null ? null : new Date(Number(row[c.column_name])));
          if (c.data_type === 'boolean') return (row: Record<string, unknown>) => (row[c.column_name] == null ? null : Number(row[c.column_name]) === 1);
          // Rows stored before text was made storable may hold a NUL, which PostgreSQL refuses: the same rule as ingest.
          if (c.data_type === 'text' || c.data_type === 'character varying') {
            return (row: Record<string, unknown>) => (typeof row[c.column_name] === 'string' ? storableText(row[c.column_name] as string) : (row[c.column_name] ?? null));
          }
          return (row: Record<string, unknown>) => row[c.column_name] ?? null;
        });
        const names = columns.map((c) => c.column_name);
        const select = sqlite.prepare(`SELECT * FROM ${table} ${WITH_IDS.has(table) ? 'ORDER BY id' : ''}`);
        let batch: unknown[][] = [];
        let copied = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const placeholders = batch.map((_, r) => `(${names.map((_, c) => `$${r * names.length + c + 1}`).join(', ')})`).join(', ');
          await client.query(`INSERT INTO ${table} (${names.join(', ')}) OVERRIDING SYSTEM VALUE VALUES ${placeholders}`, batch.flat());
          copied += batch.length;
          batch = [];
        };
        for (const row of select.iterate() as Iterable<Record<string, unknown>>) {
          batch.push(convert.map((f) => f(row)));
          if (batch.length >= BATCH_ROWS) await flush();
        }
        await flush();
        if (WITH_IDS.has(table)) {
          await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), greatest((SELECT max(id) FROM ${table}), 1), (SELECT count(*) > 0 FROM ${table}))`);
        }
        // Every row arrived: the same count and, where rows have ids, the same ids.
        const source = sqlite.prepare(`SELECT count(*) AS n${WITH_IDS.has(table) ? ', coalesce(sum(id), 0) AS ids' : ''} FROM ${table}`).get() as { n: number; ids?: number };
        const { rows: target } = await client.query<{ n: number; ids?: number }>(`SELECT count(*)::int AS n${WITH_IDS.has(table) ? ', coalesce(sum(id), 0)::float8 AS ids' : ''} FROM ${table}`);
        if (target[0]!.n !== source.n || (WITH_IDS.has(table) && Number(target[0]!.ids) !== Number(source.ids))) {
          throw new InkwireError('store/copy-mismatch', `${table}: ${source.n} row(s) in SQLite but ${target[0]!.n} copied; nothing was committed`);
        }
        options.onTable?.(table, copied);
        total += copied;
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    return { tables: TABLES.length, rows: total };
  } finally {
    sqlite.close();
    await pool.end();
  }
}

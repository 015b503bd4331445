import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InkwireError } from '../../errors.ts';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../../clock.ts';
import { planDeliveries, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import type { Store } from '../store.ts';
import { busyTolerant, isSqliteBusy, SQLITE_BUSY_TIMEOUT_MS } from './sqlite-busy.ts';
import { createSqliteSearchIndex } from './sqlite-search-index.ts';
import { createSqliteDeliveryStore } from './sqlite-delivery-store.ts';
import { createSqliteSubscriptionStore } from './sqlite-subscription-store.ts';
import { createSqliteInstallationStore } from './sqlite-installation-store.ts';
import { createSqliteInteractionReceipts } from './sqlite-interaction-receipts.ts';
import { createSqliteFeedStore } from './sqlite-feed-store.ts';
import { migrateSqlite } from './sqlite-migrations.ts';
import { createSqlitePostStore } from './sqlite-post-store.ts';
import { acquireWriterLock, type WriterLock } from './sqlite-writer-lock.ts';

export interface SqliteStoreOptions {
  clock?: Clock;
  candidateCap?: number;
  /** Which subscriptions get a new post (the core's pure planner by default). */
  planDeliveries?: DeliveryPlanner;
  /** How long a call keeps retrying while another process holds the write lock (default 15 s). */
  busyMaxWaitMs?: number;
}

const unopenable = (path: string, reason: string) =>
  new InkwireError('store/unopenable', `cannot open the database ${path}: ${reason}`);

/**
 * Checks the database's folder before creating it, so a bad path fails at once with a reason: its nearest
 * existing ancestor must be a writable directory on a real file system. (Node's recursive mkdir loops
 * forever under /proc, so virtual file systems are refused by name.)
 */
function prepareDirectory(path: string): void {
  const folder = resolve(dirname(path));
  if (/^\/(proc|sys|dev)(\/|$)/.test(folder)) throw unopenable(path, `${folder} is a virtual file system; choose a folder on disk`);
  let ancestor = folder;
  while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory()) throw unopenable(path, `${ancestor} is a file, not a folder`);
  try {
    accessSync(ancestor, constants.W_OK);
  } catch {
    throw unopenable(path, `${ancestor} is not writable by this user`);
  }
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw unopenable(path, `cannot create ${folder}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Connects every FTS5 table once, while another opener may still be writing: FTS5 reads its config when a
 * connection first touches the table, and a busy answer there fails `prepare` as "vtable constructor
 * failed" without waiting. Retried here for up to 5 s, so the stores' statements prepare on a connected table.
 */
function connectVirtualTables(db: Database, waitMs = 5000): void {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const table of tables) {
    for (let waited = 0; ; waited += 25) {
      try {
        db.prepare(`SELECT 1 FROM "${table.replaceAll('"', '""')}" LIMIT 0`).all();
        break;
      } catch (error) {
        const transient = isSqliteBusy(error) || (error instanceof Error && error.message.startsWith('vtable constructor failed'));
        if (!transient || waited >= waitMs) throw error;
        Atomics.wait(pause, 0, 0, 25);
      }
    }
  }
}

/**
 * Opens (creating if needed) the SQLite file, applies migrations and returns the stores over it. Every
 * store call that meets another process's write lock waits for it with timers, never blocking the event
 * loop more than `SQLITE_BUSY_TIMEOUT_MS` at a time.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store & { readonly db: Database; lockWriter(now: Date): void } {
  if (path !== ':memory:') prepareDirectory(path);
  let db: Database;
  try {
    db = new BetterSqlite3(path);
    // Set first: switching a new file to WAL takes a lock another opener may hold at that instant.
    // Opening and migrating may wait for another process's write lock, but not forever: 5 s, then a clear error.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db);
    connectVirtualTables(db);
  } catch (error) {
    throw unopenable(path, error instanceof Error ? error.message : String(error));
  }
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const tolerant = <T extends object>(store: T) => busyTolerant(store, { maxWaitMs: options.busyMaxWaitMs ?? 15_000 });
  let writerLock: WriterLock | null = null;
  return {
    kind: 'sqlite',
    db,
    feeds: tolerant(createSqliteFeedStore(db)),
    posts: tolerant(createSqlitePostStore(db, { planDeliveries: options.planDeliveries ?? planDeliveries })),
    subscriptions: tolerant(createSqliteSubscriptionStore(db)),
    deliveries: tolerant(createSqliteDeliveryStore(db)),
    installations: tolerant(createSqliteInstallationStore(db)),
    interactionReceipts: tolerant(createSqliteInteractionReceipts(db)),
    search: tolerant(createSqliteSearchIndex(db, { clock: options.clock ?? systemClock, ...(options.candidateCap ? { candidateCap: options.candidateCap } : {}) })),
    /** Refuses (store/locked) when another process runs the bot on this file. */
    lockWriter(now: Date) {
      if (path === ':memory:' || writerLock) return;
      writerLock = acquireWriterLock(path, db, now);
      // One bot per file: a poll lease left by a process that died is stale now.
      db.prepare('UPDATE feeds SET poll_owner = NULL, poll_lease_until = NULL WHERE poll_owner IS NOT NULL').run();
    },
    close: async () => {
      writerLock?.release();
      writerLock = null;
      if (db.open) {
        try {
          db.pragma('optimize');
        } catch (error) {
          // Best effort: another process's write lock must not stop this one from closing.
          if (!isSqliteBusy(error)) throw error;
        }
        db.close();
      }
    },
  };
}

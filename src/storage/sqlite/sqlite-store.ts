import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../../clock.ts';
import type { Store } from '../store.ts';
import { createSqliteSearchIndex } from './sqlite-search-index.ts';
import { createSqliteDeliveryStore } from './sqlite-delivery-store.ts';
import { createSqliteSubscriptionStore } from './sqlite-subscription-store.ts';
import { createSqliteInstallationStore } from './sqlite-installation-store.ts';
import { createSqliteFeedStore } from './sqlite-feed-store.ts';
import { migrateSqlite } from './sqlite-migrations.ts';
import { createSqlitePostStore } from './sqlite-post-store.ts';

/** Opens (creating if needed) the SQLite file, applies migrations and returns the stores over it. */
export function openSqliteStore(
  path: string,
  options: { clock?: Clock; candidateCap?: number } = {},
): Store & { readonly db: Database } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrateSqlite(db);
  return {
    kind: 'sqlite',
    db,
    feeds: createSqliteFeedStore(db),
    posts: createSqlitePostStore(db),
    subscriptions: createSqliteSubscriptionStore(db),
    deliveries: createSqliteDeliveryStore(db),
    installations: createSqliteInstallationStore(db),
    search: createSqliteSearchIndex(db, { clock: options.clock ?? systemClock, ...(options.candidateCap ? { candidateCap: options.candidateCap } : {}) }),
    close: async () => {
      if (db.open) {
        db.pragma('optimize');
        db.close();
      }
    },
  };
}

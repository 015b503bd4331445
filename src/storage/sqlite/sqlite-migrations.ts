import type { Database } from 'better-sqlite3';
import { postFingerprint } from '../../posts/post-identity.ts';

/**
 * One schema step: SQL, or a function for what SQL alone cannot compute, or a table rebuild that must run
 * with foreign keys off (dropping a parent table with them on would cascade-delete its children's rows).
 */
export type SqliteMigration = string | ((db: Database) => void) | { withoutForeignKeys: (db: Database) => void };

/** The open outbox rows of one destination, oldest first, whose subscription is not paused. */
const queueHead = (key: string) => `
  SELECT d.id, CASE d.status WHEN 'sending' THEN d.lease_until ELSE d.next_attempt_at END AS due
  FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
  WHERE d.destination_key = ${key} AND d.status IN ('pending', 'sending') AND s.paused_at IS NULL
  ORDER BY d.seq, d.id LIMIT 1`;

/** Recomputes one destination's queue row (its head delivery and when it is next due). */
const refreshQueue = (key: string) => `
  INSERT INTO delivery_queues (destination_key, platform, head_id, due_at)
  SELECT ${key}, substr(${key}, 1, instr(${key}, ':') - 1), h.id, h.due
  FROM (SELECT 1) LEFT JOIN (${queueHead(key)}) h WHERE true
  ON CONFLICT (destination_key) DO UPDATE SET head_id = excluded.head_id, due_at = excluded.due_at;`;

const subscriptionKey = (row: 'new' | 'old') =>
  `(CASE ${row}.kind WHEN 'alert' THEN ${row}.platform || ':dm:' || ${row}.channel_id ELSE ${row}.platform || ':' || ${row}.channel_id END)`;

/**
 * Recomputes one destination's queue row by the head rule (ADR 003): a row in 'sending' is the head (due
 * when its lease ends), whatever came after it; otherwise the oldest pending row of an active subscription
 * by id, which is the order the rows were planned. Each lookup reads one row of a partial index.
 */
const refreshHead = (key: string) => `
  INSERT INTO delivery_queues (destination_key, platform, head_id, due_at)
  SELECT ${key}, substr(${key}, 1, instr(${key}, ':') - 1), h.id, CASE h.status WHEN 'sending' THEN h.lease_until ELSE h.next_attempt_at END
  FROM (SELECT 1) LEFT JOIN deliveries h ON h.id = coalesce(
    (SELECT x.id FROM deliveries x WHERE x.destination_key = ${key} AND x.status = 'sending' ORDER BY x.id LIMIT 1),
    (SELECT x.id FROM deliveries x JOIN subscriptions s ON s.id = x.subscription_id
     WHERE x.destination_key = ${key} AND x.status = 'pending' AND s.paused_at IS NULL ORDER BY x.id LIMIT 1))
  WHERE true
  ON CONFLICT (destination_key) DO UPDATE SET head_id = excluded.head_id, due_at = excluded.due_at;`;

/** Ordered schema steps; `PRAGMA user_version` records how many have run. Never edit a shipped step. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  `
  CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    site_url TEXT,
    is_substack INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    last_modified TEXT,
    bootstrapped INTEGER NOT NULL DEFAULT 0,
    last_polled_at INTEGER,
    last_success_at INTEGER,
    last_error_at INTEGER,
    last_error TEXT,
    last_error_code TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    guid TEXT,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    subtitle TEXT,
    author TEXT,
    published_at INTEGER,
    cover_image_url TEXT,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    word_count INTEGER NOT NULL,
    reading_minutes INTEGER NOT NULL,
    tldr TEXT,
    preview_only INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    announce INTEGER NOT NULL DEFAULT 0,
    first_seen_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (feed_id, key)
  );
  CREATE INDEX posts_by_date ON posts (published_at DESC, id DESC);
  CREATE INDEX posts_by_feed_date ON posts (feed_id, published_at DESC);
  CREATE INDEX posts_by_url ON posts (url);
  CREATE TABLE post_papers (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    PRIMARY KEY (kind, ref, post_id)
  ) WITHOUT ROWID;
  `,
  // 2: search. Three FTS5 indexes over the posts table (external content, kept in step by triggers in
  // the same transaction as every write): the full index (porter-stemmed, title weighted highest), a small
  // "head" index (title, subtitle, tl;dr) answered first for common terms, and an unstemmed title index
  // with prefix tables for autocomplete (porter breaks prefix queries: "learnin"* misses "learn").
  `
  ALTER TABLE posts ADD COLUMN search_aka TEXT NOT NULL DEFAULT '';
  ALTER TABLE feeds ADD COLUMN backfill_completed_at INTEGER;
  ALTER TABLE feeds ADD COLUMN backfill_error TEXT;
  CREATE VIRTUAL TABLE posts_fts USING fts5(
    title, subtitle, text, author, search_aka,
    content='posts', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
  );
  CREATE VIRTUAL TABLE posts_head_fts USING fts5(
    title, subtitle, tldr,
    content='posts', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
  );
  CREATE VIRTUAL TABLE posts_title_ac USING fts5(
    title, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
  );
  CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, subtitle, text, author, search_aka)
      VALUES (new.id, new.title, new.subtitle, new.text, new.author, new.search_aka);
    INSERT INTO posts_head_fts (rowid, title, subtitle, tldr) VALUES (new.id, new.title, new.subtitle, new.tldr);
    INSERT INTO posts_title_ac (rowid, title) VALUES (new.id, new.title);
  END;
  CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, subtitle, text, author, search_aka)
      VALUES ('delete', old.id, old.title, old.subtitle, old.text, old.author, old.search_aka);
    INSERT INTO posts_head_fts (posts_head_fts, rowid, title, subtitle, tldr)
      VALUES ('delete', old.id, old.title, old.subtitle, old.tldr);
    INSERT INTO posts_title_ac (posts_title_ac, rowid, title) VALUES ('delete', old.id, old.title);
  END;
  CREATE TRIGGER posts_search_update AFTER UPDATE OF title, subtitle, text, author, search_aka, tldr ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, subtitle, text, author, search_aka)
      VALUES ('delete', old.id, old.title, old.subtitle, old.text, old.author, old.search_aka);
    INSERT INTO posts_fts (rowid, title, subtitle, text, author, search_aka)
      VALUES (new.id, new.title, new.subtitle, new.text, new.author, new.search_aka);
    INSERT INTO posts_head_fts (posts_head_fts, rowid, title, subtitle, tldr)
      VALUES ('delete', old.id, old.title, old.subtitle, old.tldr);
    INSERT INTO posts_head_fts (rowid, title, subtitle, tldr) VALUES (new.id, new.title, new.subtitle, new.tldr);
    INSERT INTO posts_title_ac (posts_title_ac, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO posts_title_ac (rowid, title) VALUES (new.id, new.title);
  END;
  INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
  INSERT INTO posts_head_fts (posts_head_fts) VALUES ('rebuild');
  INSERT INTO posts_title_ac (posts_title_ac) VALUES ('rebuild');
  `,
  // 3: subscriptions and the delivery outbox. A delivery row is written in the same transaction that
  // first stores a post (UNIQUE(subscription, post)); workers claim rows with a lease before sending.
  `
  ALTER TABLE feeds ADD COLUMN added_by TEXT;
  CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('channel', 'alert')),
    platform TEXT NOT NULL,
    workspace_id TEXT,
    channel_id TEXT NOT NULL,
    feed_id INTEGER REFERENCES feeds(id) ON DELETE CASCADE,
    keywords TEXT NOT NULL DEFAULT '[]',
    mode TEXT NOT NULL CHECK (mode IN ('instant', 'daily', 'weekly')),
    mention_id TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    paused_at INTEGER,
    paused_reason TEXT,
    last_delivery_at INTEGER
  );
  CREATE UNIQUE INDEX subscriptions_one_per_channel_feed ON subscriptions (platform, channel_id, feed_id) WHERE kind = 'channel';
  CREATE UNIQUE INDEX subscriptions_one_alert_per_keywords ON subscriptions (platform, channel_id, keywords) WHERE kind = 'alert';
  CREATE INDEX subscriptions_by_feed ON subscriptions (feed_id, mode) WHERE paused_at IS NULL;
  CREATE INDEX subscriptions_by_workspace ON subscriptions (platform, workspace_id);
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('post', 'digest')),
    post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    destination_key TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    claimed_by TEXT,
    message_id TEXT,
    sent_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (subscription_id, post_id)
  );
  CREATE INDEX deliveries_open ON deliveries (destination_key, seq) WHERE status IN ('pending', 'sending');
  CREATE INDEX deliveries_by_status ON deliveries (status, next_attempt_at);
  CREATE INDEX deliveries_by_post ON deliveries (post_id);
  CREATE TABLE digest_items (
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    PRIMARY KEY (delivery_id, post_id)
  ) WITHOUT ROWID;
  CREATE TABLE digest_queue (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    queued_at INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, post_id)
  ) WITHOUT ROWID;
  CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    shown_at INTEGER
  );
  CREATE INDEX notices_unseen ON notices (platform, workspace_id) WHERE shown_at IS NULL;
  `,
  // 4: platform installations (Slack OAuth): one row per workspace, so installs survive restarts.
  `
  CREATE TABLE installations (
    platform TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    data TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    PRIMARY KEY (platform, workspace_id)
  ) WITHOUT ROWID;
  `,
  // 5: exactly once for real. Claims carry a token (only the holder may record an outcome), an attempt
  // whose outcome is unknown leaves `uncertain_since` (the adapter looks before sending again), and each
  // destination's queue row names its head delivery and when it is due, kept by triggers, so claiming and
  // "when is the next thing due" read an index of heads instead of walking rows blocked behind them.
  // `label` names a summary delivery (posts held while paused). The writer lock records who holds it.
  `
  ALTER TABLE deliveries ADD COLUMN claim_token TEXT;
  ALTER TABLE deliveries ADD COLUMN claimed_at INTEGER;
  ALTER TABLE deliveries ADD COLUMN uncertain_since INTEGER;
  ALTER TABLE deliveries ADD COLUMN label TEXT;
  ALTER TABLE posts ADD COLUMN fingerprint TEXT;
  CREATE INDEX posts_by_feed_fingerprint ON posts (feed_id, fingerprint) WHERE fingerprint IS NOT NULL;
  CREATE INDEX posts_by_feed_url ON posts (feed_id, url);
  CREATE TABLE delivery_queues (
    destination_key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    head_id INTEGER,
    due_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX delivery_queues_due ON delivery_queues (platform, due_at) WHERE head_id IS NOT NULL;
  CREATE TRIGGER deliveries_queue_insert AFTER INSERT ON deliveries BEGIN
    ${refreshQueue('new.destination_key')}
  END;
  CREATE TRIGGER deliveries_queue_update AFTER UPDATE OF status, next_attempt_at, lease_until, seq ON deliveries BEGIN
    ${refreshQueue('new.destination_key')}
  END;
  CREATE TRIGGER deliveries_queue_delete AFTER DELETE ON deliveries BEGIN
    ${refreshQueue('old.destination_key')}
  END;
  CREATE TRIGGER subscriptions_queue_pause AFTER UPDATE OF paused_at ON subscriptions BEGIN
    ${refreshQueue(subscriptionKey('new'))}
  END;
  CREATE TRIGGER subscriptions_queue_delete AFTER DELETE ON subscriptions BEGIN
    ${refreshQueue(subscriptionKey('old'))}
  END;
  CREATE TABLE writer_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at INTEGER NOT NULL
  );
  `,
  (db) => {
    const refresh = db.prepare(refreshQueue('@key'));
    for (const { key } of db.prepare(`SELECT DISTINCT destination_key AS key FROM deliveries WHERE status IN ('pending', 'sending')`).all() as Array<{ key: string }>) {
      refresh.run({ key });
    }
    const rows = db.prepare('SELECT id, title, published_at FROM posts').all() as Array<{ id: number; title: string; published_at: number | null }>;
    const set = db.prepare('UPDATE posts SET fingerprint = ? WHERE id = ?');
    for (const row of rows) set.run(postFingerprint(row.title, row.published_at === null ? null : new Date(row.published_at)), row.id);
  },
  // 6: a subscription may start a discussion thread under each card it posts.
  `ALTER TABLE subscriptions ADD COLUMN thread INTEGER NOT NULL DEFAULT 0;`,
  // 7: the title of a paper, when the post names it.
  `ALTER TABLE post_papers ADD COLUMN title TEXT;`,
  // 8: who polls a feed now, and until when (the same rule as on PostgreSQL, where instances share feeds).
  `ALTER TABLE feeds ADD COLUMN poll_owner TEXT;
   ALTER TABLE feeds ADD COLUMN poll_lease_until INTEGER;`,
  // 9: a feed's claimed date when it lay in the future (the post keeps the time it was first fetched;
  // rows stored before this rule are clamped the same way), and the items a feed's latest poll had to skip.
  `ALTER TABLE posts ADD COLUMN claimed_published_at INTEGER;
   UPDATE posts SET claimed_published_at = published_at, published_at = first_seen_at WHERE published_at > first_seen_at + 600000;
   ALTER TABLE feeds ADD COLUMN ingest_skipped INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE feeds ADD COLUMN ingest_error TEXT;
   ALTER TABLE feeds ADD COLUMN ingest_error_at INTEGER;`,
  // 10: one send in flight per destination, in planning order (ADR 003). A row in 'sending' heads its
  // destination until it is settled or its lease is taken over, so a row queued behind it (an earlier-dated
  // post from a second feed, a backfilled item) waits; the order is the rows' ids (planning order), not the
  // posts' dates. The queue triggers are rebuilt with that rule and every queue row recomputed.
  (db) => {
    db.exec(`
      DROP TRIGGER deliveries_queue_insert;
      DROP TRIGGER deliveries_queue_update;
      DROP TRIGGER deliveries_queue_delete;
      DROP TRIGGER subscriptions_queue_pause;
      DROP TRIGGER subscriptions_queue_delete;
      DROP INDEX deliveries_open;
      CREATE INDEX deliveries_sending ON deliveries (destination_key, id) WHERE status = 'sending';
      CREATE INDEX deliveries_pending ON deliveries (destination_key, id) WHERE status = 'pending';
      CREATE TRIGGER deliveries_queue_insert AFTER INSERT ON deliveries BEGIN
        ${refreshHead('new.destination_key')}
      END;
      CREATE TRIGGER deliveries_queue_update AFTER UPDATE OF status, next_attempt_at, lease_until ON deliveries BEGIN
        ${refreshHead('new.destination_key')}
      END;
      CREATE TRIGGER deliveries_queue_delete AFTER DELETE ON deliveries BEGIN
        ${refreshHead('old.destination_key')}
      END;
      CREATE TRIGGER subscriptions_queue_pause AFTER UPDATE OF paused_at ON subscriptions BEGIN
        ${refreshHead(subscriptionKey('new'))}
      END;
      CREATE TRIGGER subscriptions_queue_delete AFTER DELETE ON subscriptions BEGIN
        ${refreshHead(subscriptionKey('old'))}
      END;
    `);
    const refresh = db.prepare(refreshHead('@key'));
    const keys = db.prepare(`SELECT destination_key AS key FROM delivery_queues UNION SELECT destination_key FROM deliveries WHERE status IN ('pending', 'sending')`).all() as Array<{ key: string }>;
    for (const { key } of keys) refresh.run({ key });
  },
  // 11: a delivery records when a request that may post began (only those are looked for after a lost
  // lease), the window of its unknown outcome, and its main message (message_id) before the thread reply.
  // A row in flight across the upgrade may have had its request started by the old code: treated as such.
  `ALTER TABLE deliveries ADD COLUMN send_started_at INTEGER;
   ALTER TABLE deliveries ADD COLUMN uncertain_last_at INTEGER;
   UPDATE deliveries SET send_started_at = coalesce(claimed_at, next_attempt_at) WHERE status = 'sending';`,
  // 12: interactions already taken (a Discord interaction id, a Slack event_id or trigger_id), each until
  // its replay window ends: a replayed or retried interaction runs once. Times in ms since the epoch.
  `CREATE TABLE interaction_receipts (
     id TEXT PRIMARY KEY,
     claimed_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX interaction_receipts_expiry ON interaction_receipts (expires_at);`,
  // 13: a feed is known by its URL and its owner (ADR 005): '' for a shared feed (configured, or added without
  // credentials), the tenant's key for a URL with credentials, which each server fetches and stores alone.
  // SQLite cannot drop a UNIQUE constraint: the table is rebuilt from its own definition (columns other
  // steps added included), with foreign keys off so that dropping the old table deletes no post.
  { withoutForeignKeys: rebuildFeedsWithOwner },
  // 14: a search scoped to some feeds (or filtered by date) checks each FTS5 match's feed and date here,
  // in a small index, instead of in the post's row with its whole text (7× slower for a common word).
  `CREATE INDEX posts_scope_by_id ON posts (id, feed_id, published_at);`,
];

/** Step 13: `feeds` keyed by (url, owner_key) instead of url alone; every row, index and trigger kept. */
function rebuildFeedsWithOwner(db: Database): void {
  const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'feeds'`).get() as { sql: string };
  const rebuilt = sql
    .replace(/^CREATE TABLE "?feeds"?/i, 'CREATE TABLE feeds_rebuilt')
    .replace(/\burl TEXT NOT NULL UNIQUE\b/i, 'url TEXT NOT NULL')
    .replace(/\)\s*$/, `,\n  owner_key TEXT NOT NULL DEFAULT '',\n  UNIQUE (url, owner_key)\n)`);
  if (!rebuilt.startsWith('CREATE TABLE feeds_rebuilt') || /url TEXT NOT NULL UNIQUE/i.test(rebuilt) || !rebuilt.includes('owner_key')) {
    throw new Error('the feeds table has an unexpected definition; cannot add its owner key');
  }
  const columns = (db.prepare('PRAGMA table_info(feeds)').all() as Array<{ name: string }>).map((c) => c.name).join(', ');
  const extras = db.prepare(`SELECT sql FROM sqlite_master WHERE tbl_name = 'feeds' AND type IN ('index', 'trigger') AND sql IS NOT NULL`).all() as Array<{ sql: string }>;
  db.exec(rebuilt);
  db.exec(`INSERT INTO feeds_rebuilt (${columns}) SELECT ${columns} FROM feeds`);
  db.exec('DROP TABLE feeds');
  db.exec('ALTER TABLE feeds_rebuilt RENAME TO feeds');
  for (const { sql: extra } of extras) db.exec(extra);
}

/**
 * Applies the steps not yet applied, each in its own `BEGIN IMMEDIATE` transaction that reads the schema
 * version inside it: processes opening a new file at once take turns, and each applies only what the
 * others have not (reading the version before taking the write lock let two run the same step).
 */
export function migrateSqlite(db: Database): void {
  const stepOnce = db.transaction((): 'stepped' | 'done' | 'needs-foreign-keys-off' => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(
        `the database schema is version ${current}, newer than this Inkwire (${SQLITE_MIGRATIONS.length}); upgrade Inkwire`,
      );
    }
    if (current === SQLITE_MIGRATIONS.length) return 'done';
    const step = SQLITE_MIGRATIONS[current]!;
    if (typeof step === 'string') db.exec(step);
    else if (typeof step === 'function') step(db);
    else {
      // PRAGMA foreign_keys is a no-op inside a transaction: the loop below turns them off before this one.
      if ((db.pragma('foreign_keys', { simple: true }) as number) === 1) return 'needs-foreign-keys-off';
      step.withoutForeignKeys(db);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new Error(`schema step ${current + 1} would leave ${broken.length} row(s) with a broken reference; nothing was changed`);
    }
    db.pragma(`user_version = ${current + 1}`);
    return 'stepped';
  });
  // A read first: an up-to-date file (every open but the first) takes no write lock at all.
  if ((db.pragma('user_version', { simple: true }) as number) === SQLITE_MIGRATIONS.length) return;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  try {
    for (let outcome = stepOnce.immediate(); outcome !== 'done'; outcome = stepOnce.immediate()) {
      // One step per transaction, until none is left; foreign keys off only for a step that asks for it.
      db.pragma(`foreign_keys = ${outcome === 'needs-foreign-keys-off' || foreignKeys !== 1 ? 'OFF' : 'ON'}`);
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
}

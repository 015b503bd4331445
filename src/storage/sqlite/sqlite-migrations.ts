import type { Database } from 'better-sqlite3';

/** Ordered schema steps; `PRAGMA user_version` records how many have run. Never edit a shipped step. */
export const SQLITE_MIGRATIONS: readonly string[] = [
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
];

export function migrateSqlite(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new Error(
      `the database schema is version ${current}, newer than this Inkwire (${SQLITE_MIGRATIONS.length}); upgrade Inkwire`,
    );
  }
  for (let version = current; version < SQLITE_MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

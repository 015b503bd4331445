import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPostCard } from '../../src/cards/post-card.ts';
import { formatFeeds, formatPostLine } from '../../src/cli/cli-output.ts';
import { createManualClock } from '../../src/clock.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller, type PollOutcome } from '../../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { FUTURE_DATE_TOLERANCE_MS } from '../../src/posts/post-dates.ts';
import { createPostgresPool } from '../../src/storage/postgres/pg-store.ts';
import { migratePostgres, POSTGRES_MIGRATIONS } from '../../src/storage/postgres/pg-migrations.ts';
import { migrateSqlite, SQLITE_MIGRATIONS } from '../../src/storage/sqlite/sqlite-migrations.ts';
import type { Store } from '../../src/storage/store.ts';
import { startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { dropSchemas, STORE_BACKENDS, TEST_DATABASE_URL, uniqueSchema, type StoreBackend } from '../fakes/store-backends.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface Item {
  slug: string;
  title?: string;
  date?: string | null;
  body?: string;
}

/** A Substack-shaped RSS 2.0 feed; an item without `date` has no pubDate. */
function rss(items: readonly Item[], channelTitle = 'Edge Cases'): string {
  const entries = items
    .map((item) => {
      const link = `https://edges.substack.com/p/${item.slug}`;
      return `<item><title><![CDATA[${item.title ?? item.slug}]]></title><link>${link}</link><guid isPermaLink="false">${link}</guid>` +
        (item.date ? `<pubDate>${new Date(item.date).toUTCString()}</pubDate>` : '') +
        `<content:encoded><![CDATA[${item.body ?? `<p>The body of ${item.slug}.</p>`}]]></content:encoded></item>`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><rss xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"><channel><title><![CDATA[${channelTitle}]]></title><link>https://edges.substack.com</link><generator>Substack</generator>${entries}</channel></rss>`;
}

function ok(outcome: PollOutcome) {
  if (outcome.status !== 'ok') throw new Error(`poll ${outcome.status}${outcome.status === 'failed' ? `: ${outcome.error.message}` : ''}`);
  return outcome;
}

/** Raw SQL on the store under test, to stand in for what a real database may refuse (a trigger). */
async function exec(store: Store, sqlite: string, postgres: string): Promise<void> {
  if (store.kind === 'sqlite') (store as unknown as { db: Database }).db.exec(sqlite);
  else await (store as unknown as { pool: Pool }).pool.query(postgres);
}

/** Refuses, as a database can, any post whose title contains "poison" (a stand-in for any one-row refusal). */
const refusePoison = (store: Store) =>
  exec(
    store,
    `CREATE TRIGGER refuse_poison BEFORE INSERT ON posts WHEN NEW.title LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poison item refused'); END;`,
    `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.title LIKE '%poison%' THEN RAISE EXCEPTION 'poison item refused'; END IF; RETURN NEW; END $$;
     CREATE TRIGGER refuse_poison BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION refuse_poison();`,
  );

describe.each(STORE_BACKENDS)('feed ingest edge cases on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let server: FeedServer;
  let store: Store;
  const clock = createManualClock(new Date('2026-03-09T12:00:00Z'));
  const poller = (options: { maxItems?: number } = {}) =>
    createFeedPoller({
      store,
      fetchFeed: createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'Inkwire-test/1.0', timeoutMs: 5000, maxBytes: 1024 * 1024, maxRedirects: 5 }),
      clock,
      logger: createSilentLogger(),
      backoffBaseMs: 5 * MINUTE,
      backoffMaxMs: 6 * 60 * MINUTE,
      ...options,
    });

  beforeEach(async () => {
    if (skip) return;
    clock.set(new Date('2026-03-09T12:00:00Z'));
    backend = makeBackend();
    store = await backend.open({ clock });
    server = await startFeedServer();
  });
  afterEach(async () => {
    if (skip) return;
    await server.close();
    await backend.cleanup();
  });

  const seed: Item[] = [
    { slug: 'first', date: '2026-03-01T09:00:00Z' },
    { slug: 'second', date: '2026-03-05T09:00:00Z' },
  ];

  it.skipIf(skip)('GIVEN a new item holding a NUL byte and a control character THEN every new item of the poll is stored and announced, the text without them', async () => {
    const poll = poller();
    server.serveFeed('/feed', rss(seed));
    ok(await poll(server.url('/feed')));
    server.serveFeed('/feed', rss([
      { slug: 'before-nul', date: '2026-03-09T08:00:00Z' },
      { slug: 'with-nul', title: 'Nul\u0000 in the title', date: '2026-03-09T09:00:00Z', body: '<p>a raw \u0000 NUL and a \u0007 bell, a tab\tstays</p>' },
      { slug: 'after-nul', date: '2026-03-09T10:00:00Z' },
      ...seed,
    ]));
    clock.advance(MINUTE);
    const outcome = ok(await poll(server.url('/feed')));
    expect(outcome.announced.map((p) => p.key)).toEqual(['slug:before-nul', 'slug:with-nul', 'slug:after-nul']);
    const stored = (await store.posts.findByUrl('https://edges.substack.com/p/with-nul'))!;
    expect(stored.title).toBe('Nul in the title');
    expect(stored.html).not.toMatch(/[\u0000\u0007]/);
    expect(stored.text).toContain('a raw  NUL and a  bell');
    expect(stored.text).toMatch(/tab\s+stays/);
    expect(outcome.failedItems).toEqual([]);
    const feed = (await store.feeds.get(server.url('/feed')))!;
    expect(feed.consecutiveFailures).toBe(0);
    expect(feed.ingestSkipped).toBe(0);
  });

  it.skipIf(skip)('GIVEN one item the database refuses THEN only that item is skipped, the rest stored and announced, and the feed, the feeds CLI and the poll say so', async () => {
    const poll = poller();
    server.serveFeed('/feed', rss(seed));
    ok(await poll(server.url('/feed')));
    await refusePoison(store);
    server.serveFeed('/feed', rss([
      { slug: 'good-one', date: '2026-03-09T08:00:00Z' },
      { slug: 'bad-one', title: 'A poison item', date: '2026-03-09T09:00:00Z' },
      { slug: 'good-two', date: '2026-03-09T10:00:00Z' },
      ...seed,
    ]));
    clock.advance(MINUTE);
    const outcome = ok(await poll(server.url('/feed')));
    expect(outcome.announced.map((p) => p.key)).toEqual(['slug:good-one', 'slug:good-two']);
    expect(outcome.failedItems).toEqual([expect.objectContaining({ key: 'slug:bad-one', title: 'A poison item', message: expect.stringContaining('poison item refused') })]);
    expect(await store.posts.count()).toBe(4);
    const feed = (await store.feeds.get(server.url('/feed')))!;
    expect(feed.ingestSkipped).toBe(1);
    expect(feed.ingestError).toMatch(/1 item\(s\) not stored; first: "A poison item": .*poison item refused/);
    expect(feed.consecutiveFailures).toBe(0);
    const text = formatFeeds([feed]);
    expect(text).toContain('status: degraded — 1 item(s) not stored');
    expect(text).toMatch(/items not stored at the last poll \(2026-03-09T12:01:00Z\): 1 item\(s\) not stored/);

    // Once the item can be stored, it is, and the feed's record clears.
    await exec(store, 'DROP TRIGGER refuse_poison', 'DROP TRIGGER refuse_poison ON posts');
    clock.advance(MINUTE);
    server.serveFeed('/feed', rss([{ slug: 'bad-one', title: 'A poison item', date: '2026-03-09T09:00:00Z' }, ...seed], 'Edge Cases (again)'));
    const retried = ok(await poll(server.url('/feed')));
    expect(retried.announced.map((p) => p.key)).toEqual(['slug:bad-one']);
    expect((await store.feeds.get(server.url('/feed')))!).toMatchObject({ ingestSkipped: 0, ingestError: null });
  });

  it.skipIf(skip)('GIVEN the store failing the whole ingest THEN the poll fails and the failure is recorded on the feed, not thrown', async () => {
    const poll = poller();
    server.serveFeed('/feed', rss(seed));
    ok(await poll(server.url('/feed')));
    await exec(
      store,
      `CREATE TRIGGER refuse_feed BEFORE UPDATE OF etag ON feeds BEGIN SELECT RAISE(ABORT, 'feed row locked by the operator'); END;`,
      `CREATE FUNCTION refuse_feed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'feed row locked by the operator'; END $$;
       CREATE TRIGGER refuse_feed BEFORE UPDATE OF etag ON feeds FOR EACH ROW EXECUTE FUNCTION refuse_feed();`,
    );
    server.serveFeed('/feed', rss([{ slug: 'third', date: '2026-03-09T08:00:00Z' }, ...seed]));
    clock.advance(MINUTE);
    const outcome = await poll(server.url('/feed'));
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'failed') expect(outcome.error.code).toBe('feed/ingest-failed');
    const feed = (await store.feeds.get(server.url('/feed')))!;
    expect(feed).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'feed/ingest-failed' });
    expect(feed.lastError).toContain('feed row locked by the operator');
    expect(formatFeeds([feed])).toContain('[feed/ingest-failed] storing the feed\'s items failed');
  });

  it.skipIf(skip)('GIVEN an item dated a year ahead THEN it is stored with the fetch time, its claim kept and shown, and later real posts are still announced', async () => {
    const poll = poller();
    server.serveFeed('/feed', rss(seed));
    ok(await poll(server.url('/feed')));
    const typo: Item = { slug: 'typo-year', date: '2027-03-09T12:00:00Z' };
    server.serveFeed('/feed', rss([typo, ...seed]));
    clock.advance(MINUTE);
    const fetchedAt = clock.now();
    const first = ok(await poll(server.url('/feed')));
    expect(first.announced).toHaveLength(1);

    // Eight and twenty days later the publisher posts for real: each is announced (the typo is not "newest").
    for (const [days, slug] of [[8, 'real-one'], [20, 'real-two']] as const) {
      clock.set(new Date(fetchedAt.getTime() + days * DAY));
      const real: Item = { slug, date: new Date(clock.now().getTime() - MINUTE).toISOString() };
      server.serveFeed('/feed', rss([real, typo, ...seed]));
      const later = ok(await poll(server.url('/feed')));
      expect(later.announced.map((p) => p.key)).toEqual([`slug:${slug}`]);
    }
    // The typo is stored with the fetch time, its claim kept and shown to operators; re-fetched, it keeps that time.
    const clamped = first.announced[0]!;
    expect(clamped.publishedAt).toEqual(fetchedAt);
    expect(clamped.claimedPublishedAt).toEqual(new Date('2027-03-09T12:00:00Z'));
    expect(first.futureDated).toBe(1);
    expect(buildPostCard(clamped).publishedAt).toEqual(fetchedAt);
    expect(formatPostLine(clamped)).toContain(`${fetchedAt.toISOString().slice(0, 10)}  typo-year  [feed claims 2027-03-09T12:00:00Z; future date, shown as fetched]`);
    const stored = (await store.posts.findByUrl('https://edges.substack.com/p/typo-year'))!;
    expect(stored.publishedAt).toEqual(fetchedAt);
    expect((await store.posts.latest({ limit: 3 })).map((p) => p.key)).toEqual(['slug:real-two', 'slug:real-one', 'slug:typo-year']);
  });

  it.skipIf(skip)('GIVEN a date just inside the tolerance THEN it is kept as the feed gives it', async () => {
    const poll = poller();
    server.serveFeed('/feed', rss(seed));
    ok(await poll(server.url('/feed')));
    const soon = new Date(clock.now().getTime() + FUTURE_DATE_TOLERANCE_MS - MINUTE);
    server.serveFeed('/feed', rss([{ slug: 'scheduled', date: soon.toISOString() }, ...seed]));
    const outcome = ok(await poll(server.url('/feed')));
    expect(outcome.futureDated).toBe(0);
    expect(outcome.announced[0]!.publishedAt).toEqual(soon);
    expect(outcome.announced[0]!.claimedPublishedAt).toBeNull();
  });

  it.skipIf(skip)('GIVEN an undated feed listing oldest first and longer than the item cap THEN the item appended at its end is read and announced', async () => {
    const poll = poller({ maxItems: 4 });
    const items: Item[] = Array.from({ length: 8 }, (_, i) => ({ slug: `issue-${i + 1}`, date: null }));
    server.serveFeed('/feed', rss(items));
    ok(await poll(server.url('/feed')));
    server.serveFeed('/feed', rss([...items, { slug: 'issue-9', date: null }]));
    clock.advance(MINUTE);
    const outcome = ok(await poll(server.url('/feed')));
    expect(outcome.announced.map((p) => p.key)).toEqual(['slug:issue-9']);
  });

  it.skipIf(skip)('GIVEN an undated feed listing newest first and longer than the item cap THEN the item added at its top is read and announced', async () => {
    const poll = poller({ maxItems: 4 });
    const items: Item[] = Array.from({ length: 8 }, (_, i) => ({ slug: `issue-${8 - i}`, date: null }));
    server.serveFeed('/feed', rss(items));
    ok(await poll(server.url('/feed')));
    server.serveFeed('/feed', rss([{ slug: 'issue-9', date: null }, ...items]));
    clock.advance(MINUTE);
    const outcome = ok(await poll(server.url('/feed')));
    expect(outcome.announced.map((p) => p.key)).toEqual(['slug:issue-9']);
  });

  it.skipIf(skip)('GIVEN a UTF-8 body with a byte-order mark served as charset=ISO-8859-1 THEN the BOM wins: the feed is read as UTF-8', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rss([{ slug: 'cafe', title: 'Café naïve — “quoted”', date: '2026-03-01T09:00:00Z' }], 'Crème brûlée'), 'utf8')]);
    server.serveFeed('/feed', body, { contentType: 'application/rss+xml; charset=ISO-8859-1' });
    const outcome = ok(await poller()(server.url('/feed')));
    expect(outcome.created.map((p) => p.title)).toEqual(['Café naïve — “quoted”']);
    expect((await store.feeds.get(server.url('/feed')))!.title).toBe('Crème brûlée');
  });
});

describe('the schema step that keeps a feed\'s claimed date', () => {
  const FIRST_SEEN = Date.parse('2026-03-09T12:00:00Z');
  const rows = [
    { key: 'slug:typo', published: Date.parse('2027-03-09T12:00:00Z') },
    { key: 'slug:scheduled', published: FIRST_SEEN + 5 * MINUTE },
    { key: 'slug:normal', published: Date.parse('2026-03-08T12:00:00Z') },
  ];
  const expected = [
    { key: 'slug:typo', published_at: FIRST_SEEN, claimed_published_at: Date.parse('2027-03-09T12:00:00Z') },
    { key: 'slug:scheduled', published_at: FIRST_SEEN + 5 * MINUTE, claimed_published_at: null },
    { key: 'slug:normal', published_at: Date.parse('2026-03-08T12:00:00Z'), claimed_published_at: null },
  ];
  const isThatStep = (step: unknown) => typeof step === 'string' && step.includes('claimed_published_at');

  it('GIVEN a SQLite database with a post stored before the rule, dated beyond its first fetch THEN the step clamps it to that fetch and keeps the claim', () => {
    const step = SQLITE_MIGRATIONS.findIndex(isThatStep);
    const db = new BetterSqlite3(':memory:');
    for (const earlier of SQLITE_MIGRATIONS.slice(0, step)) {
      if (typeof earlier === 'string') db.exec(earlier);
      else if (typeof earlier === 'function') earlier(db);
    }
    db.pragma(`user_version = ${step}`);
    db.prepare('INSERT INTO feeds (id, url, created_at) VALUES (1, ?, ?)').run('https://x.example/feed', FIRST_SEEN);
    const insert = db.prepare(`INSERT INTO posts (feed_id, key, url, title, published_at, html, text, word_count, reading_minutes, content_hash, first_seen_at, updated_at)
      VALUES (1, ?, ?, 't', ?, '', '', 0, 0, 'h', ?, ?)`);
    for (const row of rows) insert.run(row.key, `https://x.example/${row.key}`, row.published, FIRST_SEEN, FIRST_SEEN);
    migrateSqlite(db);
    expect(db.prepare('SELECT key, published_at, claimed_published_at FROM posts ORDER BY id').all()).toEqual(expected);
    db.close();
  });

  it.skipIf(!TEST_DATABASE_URL)('GIVEN a PostgreSQL database with such a post THEN the step does the same', async () => {
    const step = POSTGRES_MIGRATIONS.findIndex(isThatStep);
    const schema = uniqueSchema('claimed');
    const pool = createPostgresPool(TEST_DATABASE_URL, { schema, poolSize: 1 });
    try {
      await pool.query(`CREATE SCHEMA ${schema}`);
      for (const earlier of POSTGRES_MIGRATIONS.slice(0, step)) await pool.query(earlier);
      await pool.query('CREATE TABLE inkwire_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      await pool.query('INSERT INTO inkwire_migrations (version) SELECT generate_series(1, $1::int)', [step]);
      await pool.query("INSERT INTO feeds (id, url, created_at) OVERRIDING SYSTEM VALUE VALUES (1, 'https://x.example/feed', $1)", [new Date(FIRST_SEEN)]);
      for (const row of rows) {
        await pool.query(
          `INSERT INTO posts (feed_id, key, url, title, published_at, html, text, word_count, reading_minutes, content_hash, first_seen_at, updated_at)
           VALUES (1, $1, $2, 't', $3, '', '', 0, 0, 'h', $4, $4)`,
          [row.key, `https://x.example/${row.key}`, new Date(row.published), new Date(FIRST_SEEN)],
        );
      }
      await migratePostgres(pool);
      const { rows: after } = await pool.query<{ key: string; published_at: number; claimed_published_at: number | null }>(
        'SELECT key, (extract(epoch from published_at) * 1000)::float8 AS published_at, (extract(epoch from claimed_published_at) * 1000)::float8 AS claimed_published_at FROM posts ORDER BY id',
      );
      expect(after).toEqual(expected);
    } finally {
      await pool.end();
      await dropSchemas([schema]);
    }
  });
});

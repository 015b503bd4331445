import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { copySqliteToPostgres } from '../../src/storage/migrate-data.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { loadSearchCorpus } from '../fakes/search-corpus.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const T0 = new Date('2025-01-01T00:00:00Z');

/** Everything a store holds, as the ports show it (ids included), for comparing two stores. */
async function snapshot(store: Store) {
  const feeds = await store.feeds.list();
  const posts = await store.posts.latest({ limit: 1000 });
  const subscriptions = [
    ...(await store.subscriptions.listForWorkspace('discord', 'G1')),
    ...(await store.subscriptions.listAlerts('discord', 'U1')),
  ];
  return {
    feeds,
    posts,
    subscriptions,
    deliveries: await store.deliveries.list({ limit: 1000 }),
    stats: await store.deliveries.stats(),
    installation: await store.installations.get('slack', 'T1'),
    search: (await store.search.search({ raw: 'attention', terms: [{ tokens: ['attention'], phrase: false, prefix: false, negated: false, hyphenated: false }], author: null, before: null, after: null, paper: null, notice: null }, { limit: 5, offset: 0, anyWord: false })).total,
  };
}

describe.skipIf(!TEST_DATABASE_URL)('inkwire migrate-data: SQLite to PostgreSQL', () => {
  const dir = makeTempDir();
  const schemas: string[] = [];
  afterAll(async () => dropSchemas(schemas));

  it('GIVEN a SQLite deployment with posts, subscriptions, every kind of delivery, digests, notices and an install THEN every row arrives in PostgreSQL, ids kept, and new rows get new ids', async () => {
    const path = dir.file('deployment.db');
    const clock = createManualClock(T0);
    const sqlite = openSqliteStore(path, { clock });
    await loadSearchCorpus(sqlite);
    const feed = (await sqlite.feeds.list())[0]!;
    await sqlite.feeds.recordFailure(feed.id, { at: T0, code: 'feed/timeout', message: 'slow', nextPollAt: new Date(T0.getTime() + 60_000) });
    const channel = (await sqlite.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: 'G1', channelId: 'C1', feedId: feed.id, keywords: ['attention'], mode: 'instant', mentionId: '123456789012345678', thread: true, createdBy: 'admin', createdAt: T0 }))!;
    await sqlite.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: 'G1', channelId: 'C2', feedId: feed.id, keywords: [], mode: 'daily', mentionId: null, createdBy: 'admin', createdAt: T0 });
    await sqlite.subscriptions.create({ kind: 'alert', platform: 'discord', workspaceId: 'G1', channelId: 'U1', feedId: null, keywords: ['experts'], mode: 'instant', mentionId: null, createdBy: 'U1', createdAt: T0 });
    await sqlite.posts.ingest({ feedId: feed.id, at: T0, drafts: [makeDraft('attention-again', { text: 'attention experts', publishedAt: new Date('2024-12-01T00:00:00Z') }), makeDraft('attention-three', { text: 'attention', publishedAt: new Date('2024-12-02T00:00:00Z') })], announceKeys: new Set(['slug:attention-again', 'slug:attention-three']) });
    const [sent, ...others] = await sqlite.deliveries.claimDue({ now: T0, limit: 10, leaseMs: 60_000, owner: 'old', platform: 'discord' });
    await sqlite.deliveries.complete(sent!, { messageId: 'msg-1', at: T0 });
    if (others[0]) await sqlite.deliveries.retryLater(others[0], { error: 'busy', at: T0, delayMs: 0, uncertainSince: T0 });
    await sqlite.deliveries.bundleDigests('daily', '2025-01-01', T0);
    await sqlite.subscriptions.addNotice('discord', 'G1', 'paused somewhere', T0);
    await sqlite.installations.save('slack', 'T1', '{"bot":{"token":"xoxb-secret"}}', T0);
    const before = await snapshot(sqlite);
    const rowsBefore = countRows(sqlite.db);
    await sqlite.close();

    const schema = uniqueSchema('migrate');
    schemas.push(schema);
    const copied: string[] = [];
    const report = await copySqliteToPostgres(path, TEST_DATABASE_URL, { schema, onTable: (table) => copied.push(table) });
    expect(report.rows).toBe(Object.values(rowsBefore).reduce((a, b) => a + b, 0));
    expect(copied).toEqual(Object.keys(rowsBefore));

    const pg = await openPostgresStore(TEST_DATABASE_URL, { schema, clock });
    try {
      const after = await snapshot(pg);
      expect(after).toEqual(before);
      expect(after.deliveries.map((d) => d.status).sort()).toEqual(expect.arrayContaining(['pending', 'sent']));
      // A delivery sent before the move is never sent again; the one left pending is claimable.
      const claimable = await pg.deliveries.claimDue({ now: new Date(T0.getTime() + 1000), limit: 10, leaseMs: 60_000, owner: 'new', platform: 'discord' });
      expect(claimable.map((c) => c.id)).not.toContain(sent!.id);
      expect(await pg.subscriptions.takeNotices('discord', 'G1', T0)).toEqual(['paused somewhere']);
      // Identity counters moved past the copied ids.
      const fresh = await pg.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: 'G1', channelId: 'C3', feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'admin', createdAt: T0 });
      expect(fresh!.id).toBeGreaterThan(channel.id + 1);
    } finally {
      await pg.close();
    }

    // Into a database that already has rows: refused, nothing changed.
    const again = await copySqliteToPostgres(path, TEST_DATABASE_URL, { schema }).catch((error: unknown) => error);
    expect(String(again)).toMatch(/already has rows in feeds; migrate-data copies into an empty one only/);
  });

  it('GIVEN a SQLite file holding rows stored before text was made storable (a NUL, a control character) THEN they are copied, cleaned as ingest cleans them', async () => {
    const path = dir.file('with-nul.db');
    const sqlite = openSqliteStore(path, { clock: createManualClock(T0) });
    const feed = await sqlite.feeds.ensure('https://nul.example/feed', T0);
    await sqlite.posts.ingest({ feedId: feed.id, at: T0, drafts: [makeDraft('nul-post'), makeDraft('clean-post')], announceKeys: new Set() });
    // What an older Inkwire wrote: SQLite keeps a NUL that PostgreSQL refuses.
    sqlite.db.prepare("UPDATE posts SET html = '<p>a' || char(0) || 'b</p>', text = 'a' || char(0) || char(7) || 'b', title = 'nul' || char(0) || ' post' WHERE key = 'slug:nul-post'").run();
    sqlite.db.prepare("UPDATE feeds SET title = 'Nul' || char(0) || ' feed'").run();
    await sqlite.close();

    const schema = uniqueSchema('migrate');
    schemas.push(schema);
    await copySqliteToPostgres(path, TEST_DATABASE_URL, { schema });
    const pg = await openPostgresStore(TEST_DATABASE_URL, { schema });
    try {
      const post = (await pg.posts.findByUrl('slug:nul-post'))!;
      expect({ title: post.title, html: post.html, text: post.text }).toEqual({ title: 'nul post', html: '<p>ab</p>', text: 'ab' });
      expect((await pg.posts.findByUrl('slug:clean-post'))!.text).toBe('clean post');
      expect((await pg.feeds.get('https://nul.example/feed'))!.title).toBe('Nul feed');
    } finally {
      await pg.close();
    }
  });

  it('GIVEN bad arguments or a missing file THEN the CLI says what it needs and exits non-zero', async () => {
    const missingTo = spawnInkwire(['migrate-data', '--from', dir.file('x.db')], {});
    expect(await missingTo.exit()).toBe(2);
    expect(missingTo.stderr()).toMatch(/migrate-data needs --from .* --to postgres:/);
    const missingFile = spawnInkwire(['migrate-data', '--from', dir.file('nope.db'), '--to', TEST_DATABASE_URL], {});
    expect(await missingFile.exit()).toBe(1);
    expect(missingFile.stderr()).toMatch(/no SQLite database at/);
  });
});

function countRows(db: BetterSqlite3.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const table of ['feeds', 'posts', 'post_papers', 'subscriptions', 'deliveries', 'digest_items', 'digest_queue', 'notices', 'installations']) {
    out[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  }
  return out;
}

describe('a PostgreSQL DATABASE_URL that cannot be used', () => {
  it('GIVEN a server that refuses connections THEN migrate says so with a PostgreSQL fix, and the password never appears', async () => {
    const bot = spawnInkwire(['migrate'], { DATABASE_URL: 'postgres://inkwire:hunter2-secret@127.0.0.1:9/inkwire' });
    expect(await bot.exit()).toBe(1);
    expect(bot.stderr()).toMatch(/cannot open the PostgreSQL database: connect ECONNREFUSED 127\.0\.0\.1:9/);
    expect(bot.stderr()).toMatch(/fix: check DATABASE_URL: the PostgreSQL server must be reachable/);
    expect(bot.stderr() + bot.stdout()).not.toContain('hunter2-secret');
  });

  it.skipIf(!TEST_DATABASE_URL)('GIVEN a search_path naming a schema that does not exist THEN the message says to create it', async () => {
    const url = `${TEST_DATABASE_URL}?options=${encodeURIComponent('-c search_path=no_such_schema_here')}`;
    const bot = spawnInkwire(['migrate'], { DATABASE_URL: url });
    expect(await bot.exit()).toBe(1);
    expect(bot.stderr()).toMatch(/the schema named in the URL's search_path does not exist; create it first/);
  });
});

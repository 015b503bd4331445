import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ALL_COMMANDS, findCommand } from '../../commands/index.ts';
import { buildCore } from '../../src/app.ts';
import { createManualClock } from '../../src/clock.ts';
import { runAction, runAutocomplete, runCommand } from '../../src/commands/command-runner.ts';
import type { CommandContext, Place } from '../../src/commands/command-spec.ts';
import type { Reply } from '../../src/commands/reply.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { redactUrl } from '../../src/feeds/url-secrets.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { migrateSqlite, SQLITE_MIGRATIONS } from '../../src/storage/sqlite/sqlite-migrations.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { admin, member } from '../fakes/core-fixture.ts';
import { startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { STORE_BACKENDS, type StoreBackend } from '../fakes/store-backends.ts';

const TOKEN = 'PAIDTOKEN9f3a7c21';
const rss = (title: string, slug: string, items: string[]) => `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>${title}</title><link>https://${slug}.example.com</link><description>${title}</description>
${items.map((item, i) => `<item><title>${item}</title><link>https://${slug}.example.com/p/${slug}-${i}</link><guid>${slug}-${i}</guid>
<pubDate>Wed, 0${i + 1} Mar 2023 10:00:00 GMT</pubDate><description>${item} in full, for subscribers.</description></item>`).join('\n')}
</channel></rss>`;

const replyText = (reply: Reply) =>
  [...reply.blocks.map((b) => (b.kind === 'text' ? b.spans.map((s) => s.text).join('') : `[card ${b.card.title}]`)), reply.summary ?? ''].join('\n');

const serverA: Place = { platform: 'console', workspaceId: 'server-a', channelId: 'a-news', isDirect: false };
const serverB: Place = { platform: 'console', workspaceId: 'server-b', channelId: 'b-news', isDirect: false };
const directMessage: Place = { platform: 'console', workspaceId: null, channelId: 'dm-u-member', isDirect: true };

describe.each(STORE_BACKENDS)('tenant isolation on %s: a server sees only the configured feeds and its own', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let server: FeedServer;
  const cleanups = cleanupsAfterEach();

  beforeEach(async (context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
    server = await startFeedServer();
    cleanups.push(() => server.close());
    server.serveFeed('/configured', rss('The Daily Ink', 'dailyink', ['Open transformer notes']));
    // Server A's paid feed: only with its user, password and token.
    const paid = rss('Acme Paid Insider', 'acme', ['Insider moe roadmap', 'Insider scaling memo']);
    server.route('/paid/feed', (req, res) => {
      const auth = req.headers.authorization === `Basic ${Buffer.from('reader:pw123').toString('base64')}`;
      if (!auth || !req.url?.includes(`token=${TOKEN}`)) return void res.writeHead(401).end('no');
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(paid);
    });
    server.serveFeed('/public/feed', rss('Open Public Notes', 'public', ['Public diffusion notes']));
    server.serveFeed('/other/feed', rss('Another Open Feed', 'other', ['Other notes']));
  });
  afterAll(async () => backend?.cleanup());

  const paidUrl = () => `http://reader:pw123@127.0.0.1:${new URL(server.origin).port}/paid/feed?token=${TOKEN}`;

  async function start(env: Record<string, string> = {}, shared?: Store) {
    const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));
    const store = shared ?? (await backend.open({ clock }));
    const config = loadConfig({ FEED_URLS: server.url('/configured'), ALLOW_ANY_FEED: 'true', ALLOW_PRIVATE_FEEDS: 'true', MAX_FEEDS_PER_SERVER: '3', ...env });
    const core = buildCore({ config, store, fetch: globalThis.fetch, clock, logger: createSilentLogger(), commands: ALL_COMMANDS });
    cleanups.push(() => core.closeParser());
    const context = (place: Place, who = admin): CommandContext => ({ invoker: who, place, services: core.commandServices });
    const run = async (name: string, place: Place, raw: Record<string, string | number | boolean> = {}, who = admin) => replyText(await runCommand(findCommand(name)!, context(place, who), raw));
    /** Polls every stored feed once, each row by its own owner (what the scheduler does). */
    const pollAll = async () => {
      for (const feed of await store.feeds.list()) await core.pollFeed(feed.url, { ownerKey: feed.ownerKey });
    };
    return { clock, store, core, context, run, pollAll };
  }

  /** Server A subscribes its paid feed and it is polled: A's posts are stored. */
  async function withPaidFeedOfA(env: Record<string, string> = {}) {
    const t = await start(env);
    expect(await t.run('subscribe', serverA, { feed: paidUrl() })).toMatch(/Subscribed: .*\/paid\/feed/);
    await t.run('subscribe', serverB, {}); // B follows the configured feed
    await t.pollAll();
    const paidOfA = (await t.store.feeds.list()).find((f) => f.url === paidUrl())!;
    expect(paidOfA.postCount).toBe(2);
    return { ...t, paidOfA };
  }

  it('GIVEN A\'s paid feed THEN B cannot subscribe to it by a word of its title, nor by the redacted URL Inkwire shows, and the unknown-feed list names only what B may see', async () => {
    const { run, store, paidOfA } = await withPaidFeedOfA();
    const byTitle = await run('subscribe', serverB, { feed: 'acme' });
    expect(byTitle).toMatch(/No feed called "acme"\. Available: The Daily Ink\./);
    expect(byTitle).not.toMatch(/Acme Paid|Insider|\/paid\//);
    const shown = redactUrl(paidUrl());
    expect(shown).not.toContain(TOKEN);
    const byRedacted = await run('subscribe', serverB, { feed: shown });
    expect(byRedacted).not.toMatch(/Subscribed/);
    expect(byRedacted).toMatch(/secrets hidden/);
    expect(await run('subscribe', serverB, { feed: 'no such feed' })).toMatch(/Available: The Daily Ink\.$/m);
    const ofB = await store.subscriptions.listForWorkspace('console', 'server-b');
    expect(ofB.map((s) => s.feedId)).not.toContain(paidOfA.id);
  });

  it('GIVEN A\'s paid feed THEN B giving the exact URL with its credentials gets its OWN feed (own row, own fetch), never A\'s posts', async () => {
    const { run, store, paidOfA, pollAll } = await withPaidFeedOfA();
    const requestsBefore = server.requestsTo('/paid/feed').length;
    expect(await run('subscribe', serverB, { feed: paidUrl() })).toMatch(/Subscribed/);
    expect(server.requestsTo('/paid/feed').length).toBe(requestsBefore + 1); // B's own probe
    const rows = (await store.feeds.list()).filter((f) => f.url === paidUrl());
    expect(rows.map((f) => f.ownerKey).sort()).toEqual(['console:server-a', 'console:server-b']);
    const ofB = rows.find((f) => f.ownerKey === 'console:server-b')!;
    expect(ofB.id).not.toBe(paidOfA.id);
    expect(ofB.postCount).toBe(0);
    const subscriptionOfB = (await store.subscriptions.listForChannel('console', 'b-news')).find((s) => s.feedUrl === paidUrl())!;
    expect(subscriptionOfB.feedId).toBe(ofB.id);
    // Before B's own row is polled, nothing of A's reaches B: not /latest, not /search.
    expect(await run('latest', serverB, { count: 10 })).not.toMatch(/Insider/);
    expect(await run('search', serverB, { query: 'insider' })).toMatch(/No explainer matches/);
    // Its own fetch fills its own row; A's row is untouched by it.
    await pollAll();
    expect((await store.feeds.list()).find((f) => f.id === ofB.id)!.postCount).toBe(2);
    expect((await store.feeds.list()).find((f) => f.id === paidOfA.id)!.postCount).toBe(2);
  });

  it('GIVEN A\'s paid feed THEN B\'s /latest, /search, its share button, autocomplete and a DM show none of it; A sees it', async () => {
    const { run, context } = await withPaidFeedOfA();
    expect(await run('latest', serverA, { count: 10 })).toMatch(/Insider moe roadmap/);
    const latestOfB = await run('latest', serverB, { count: 10 });
    expect(latestOfB).toMatch(/Open transformer notes/);
    expect(latestOfB).not.toMatch(/Insider/);
    expect(await run('search', serverA, { query: 'insider' })).toMatch(/Insider moe roadmap/);
    expect(await run('search', serverB, { query: 'insider' })).toMatch(/No explainer matches/);
    const shared = await runAction(ALL_COMMANDS, context(serverB), 'share:5:1:insider');
    expect(replyText(shared)).not.toMatch(/Insider moe/);
    expect((await runAutocomplete(findCommand('search')!, context(serverA), 'query', 'insi')).map((c) => c.label)).toContain('Insider moe roadmap');
    expect(await runAutocomplete(findCommand('search')!, context(serverB), 'query', 'insi')).toEqual([]);
    expect((await runAutocomplete(findCommand('subscribe')!, context(serverB), 'feed', '')).map((c) => c.label).join(' ')).not.toMatch(/Acme|paid/i);
    // A direct message has no server: the configured feeds only.
    const latestInDm = await run('latest', directMessage, { count: 10 }, member);
    expect(latestInDm).toMatch(/Open transformer notes/);
    expect(latestInDm).not.toMatch(/Insider/);
    expect(await run('search', directMessage, { query: 'insider' }, member)).toMatch(/No explainer matches/);
  });

  it('GIVEN A\'s paid feed that cannot be read and no posts THEN B\'s /latest warning does not name it', async () => {
    const t = await start();
    expect(await t.run('subscribe', serverA, { feed: paidUrl() })).toMatch(/Subscribed/);
    await t.run('subscribe', serverB, {}); // the configured feed
    server.route('/paid/feed', (_req, res) => void res.writeHead(500).end('down'));
    server.route('/configured', (_req, res) => void res.writeHead(500).end('down'));
    await t.pollAll();
    const ofB = await t.run('latest', serverB);
    expect(ofB).toMatch(/\/configured cannot be read/);
    expect(ofB).not.toMatch(/Acme|\/paid\//);
    expect(await t.run('latest', serverA)).toMatch(/\/paid\/feed\?token=\*\*\* cannot be read/); // A is told about its own
  });

  it('GIVEN alerts in A and B for a word in A\'s paid feed THEN only A\'s member gets the DM, also once no channel of A subscribes (A added it: the same rule as every reply)', async () => {
    const { core, store, clock, paidOfA, run } = await withPaidFeedOfA();
    for (const [place, user] of [[serverA, 'alice'], [serverB, 'bob']] as const) {
      expect((await core.subscriptions.addAlert(place, { ...member, userId: user }, 'roadmap')).ok).toBe(true);
    }
    expect(await run('unsubscribe', serverA, { feed: paidUrl() })).toMatch(/Unsubscribed/);
    await store.posts.ingest({ feedId: paidOfA.id, at: clock.now(), drafts: [makeDraft('new-roadmap', { text: 'the next roadmap' })], announceKeys: new Set(['slug:new-roadmap']) });
    const recorder = createRecordingPlatform();
    await createDeliveryEngine({
      platform: recorder.platform, deliveries: store.deliveries, clock, logger: createSilentLogger(),
      concurrency: 4, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000,
    }).drain();
    const dmsTo = (user: string) => recorder.sends.filter((s) => s.destination.direct && s.destination.channelId === user);
    expect(dmsTo('alice')).toHaveLength(1);
    expect(dmsTo('bob')).toHaveLength(0);
  });

  it('GIVEN one public URL (no credentials) added by A and by B THEN it is one shared row, fetched once per poll', async () => {
    const { run, store, pollAll } = await start();
    expect(await run('subscribe', serverA, { feed: server.url('/public/feed') })).toMatch(/Subscribed: .*\/public\/feed/);
    expect(await run('subscribe', serverB, { feed: server.url('/public/feed') })).toMatch(/Subscribed: .*\/public\/feed/);
    const rows = (await store.feeds.list()).filter((f) => f.url === server.url('/public/feed'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ownerKey).toBe('');
    const fetchesBefore = server.requestsTo('/public/feed').length;
    await pollAll();
    expect(server.requestsTo('/public/feed').length).toBe(fetchesBefore + 1);
    expect(await run('latest', serverB, { count: 10 })).toMatch(/Public diffusion notes/);
  });

  it('GIVEN MAX_FEEDS_PER_SERVER THEN a server adding one feed too many is told the cap and how to remove one, nothing is fetched, and unsubscribing makes room; 0 turns adding off', async () => {
    const { run, store, core } = await start({ MAX_FEEDS_PER_SERVER: '2' });
    expect(await run('subscribe', serverA, { feed: paidUrl() })).toMatch(/Subscribed/);
    expect(await run('subscribe', serverA, { feed: server.url('/public/feed') })).toMatch(/Subscribed/);
    const refused = await run('subscribe', serverA, { feed: server.url('/other/feed') });
    expect(refused).toMatch(/already follows 2 feeds added from chat.*MAX_FEEDS_PER_SERVER is 2/);
    expect(refused).toMatch(/\/unsubscribe feed:/);
    expect(refused).not.toContain(TOKEN);
    expect(server.requestsTo('/other/feed')).toHaveLength(0);
    // Another channel of the same server is the same server; the configured feed never counts.
    expect(await run('subscribe', { ...serverA, channelId: 'a-other' }, { feed: server.url('/other/feed') })).toMatch(/MAX_FEEDS_PER_SERVER is 2/);
    expect(await run('subscribe', { ...serverA, channelId: 'a-other' }, {})).toMatch(/Subscribed/);
    // B has its own allowance.
    expect(await run('subscribe', serverB, { feed: server.url('/other/feed') })).toMatch(/Subscribed/);
    expect(await run('unsubscribe', serverA, { feed: server.url('/public/feed') })).toMatch(/Unsubscribed/);
    expect(await run('subscribe', serverA, { feed: server.url('/other/feed') })).toMatch(/Subscribed/);
    // Off: refused from chat, the configured feed still works.
    const off = await start({ MAX_FEEDS_PER_SERVER: '0' }, store);
    const serverC: Place = { ...serverA, workspaceId: 'server-c', channelId: 'c-news' };
    expect(await off.run('subscribe', serverC, { feed: server.url('/public/feed') })).toMatch(/Adding feeds from chat is turned off.*MAX_FEEDS_PER_SERVER is 0/);
    expect(await off.run('subscribe', serverC, {})).toMatch(/Subscribed/);
    expect(core).toBeDefined();
  });
});

describe('the SQLite step that keys feeds by (url, owner_key)', () => {
  it('GIVEN a database with foreign keys on, feeds, posts and subscriptions THEN the rebuild keeps every row and reference, and foreign keys are on again', () => {
    const step = SQLITE_MIGRATIONS.findIndex((s) => typeof s === 'object');
    expect(step).toBeGreaterThan(0);
    const db = new BetterSqlite3(':memory:');
    db.pragma('foreign_keys = ON');
    for (const earlier of SQLITE_MIGRATIONS.slice(0, step)) {
      if (typeof earlier === 'string') db.exec(earlier);
      else if (typeof earlier === 'function') earlier(db);
    }
    db.pragma(`user_version = ${step}`);
    db.prepare('INSERT INTO feeds (id, url, created_at, added_by) VALUES (1, ?, 0, ?)').run('https://x.example/feed?token=t', 'console:a');
    db.prepare(`INSERT INTO posts (feed_id, key, url, title, html, text, word_count, reading_minutes, content_hash, first_seen_at, updated_at)
      VALUES (1, 'slug:p', 'https://x.example/p', 'p', '', '', 0, 0, 'h', 0, 0)`).run();
    db.prepare(`INSERT INTO subscriptions (kind, platform, workspace_id, channel_id, feed_id, mode, created_by, created_at) VALUES ('channel', 'console', 'a', 'c', 1, 'instant', 'u', 0)`).run();
    migrateSqlite(db);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM posts WHERE feed_id = 1').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM subscriptions WHERE feed_id = 1').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT owner_key FROM feeds WHERE id = 1').get()).toEqual({ owner_key: '' });
    // The same URL for another owner is a second row; the same owner twice is refused.
    db.prepare(`INSERT INTO feeds (url, owner_key, created_at) VALUES (?, 'console:b', 0)`).run('https://x.example/feed?token=t');
    expect(() => db.prepare(`INSERT INTO feeds (url, owner_key, created_at) VALUES (?, 'console:b', 0)`).run('https://x.example/feed?token=t')).toThrow(/UNIQUE/);
    // References still point at the rebuilt table: deleting the feed takes its posts, as before.
    db.prepare('DELETE FROM feeds WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) AS n FROM posts').get()).toEqual({ n: 0 });
    db.close();
  });
});

/**
 * `npm run soak:scale`: three real `inkwire start` processes on one PostgreSQL database, reached through a
 * TCP proxy, deliver P posts (default 20) published over M minutes (default 10) to C Slack channels
 * (default 500) on the fake Slack, which — like Slack — de-duplicates nothing. Meanwhile a random bot is
 * SIGKILLed and restarted, and every database connection is cut (sometimes with new ones refused for a
 * few seconds). At the end: every (channel, post) pair counted on the fake — lost and duplicated, target
 * 0 / 0 — and the time from publication (the post appearing in the served feed) to its delivery.
 *
 * Options: `--channels 500 --posts 20 --minutes 10 --instances 3 --rate 100` (the fake's workspace limit per
 * sliding second; bots pace at 98 % of it), `--kill-every 30 --cut-every 20` (mean seconds between faults),
 * `--grace 4` (minutes after the last publication for the rest to arrive), `--lease-seconds 30`
 * (DELIVERY_LEASE_SECONDS: a killed bot's claims come back after it; 30 s is the least with which a send
 * abandoned on the wire cannot land after another bot looked for it: 1.5 × the Slack request timeout plus
 * margin, see the delivery engine), `--seed N`, `--logs DIR` (bot logs
 * and the harness's event log; default a new directory under the temp dir, kept when something was wrong).
 * Needs TEST_DATABASE_URL (or DATABASE_URL). Bounded: stops by itself after minutes + grace + 3, always
 * killing its processes and dropping its schema. Runs dist/ (`npm run build` first), or the sources with
 * INKWIRE_FROM_SOURCE=true. Exits 0 when nothing was lost or duplicated and no bot crashed once started, 1
 * otherwise, 2 when it had to abort.
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { machineLine, percentile, printTable, seededRandom } from '../../bench/bench-util.ts';
import { rssFeed, type FeedItem } from '../../bench/generated-feed.ts';
import { spawnInkwireProcess, urlWithSchema, waitUntil, type InkwireProcess } from '../../bench/inkwire-process.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { startFeedServer } from '../fakes/feed-server.ts';
import { seedSubscribedStore } from '../fakes/seeded-database.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { startTcpProxy } from '../fakes/tcp-proxy.ts';

const argText = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
};
const positive = (name: string, fallback: number) => {
  const value = Number(argText(name, String(fallback)));
  if (!(value > 0)) {
    process.stderr.write(`soak:scale: --${name} must be a positive number\n`);
    process.exit(2);
  }
  return value;
};
const CHANNELS = Math.floor(positive('channels', 500));
const POSTS = Math.floor(positive('posts', 20));
const MINUTES = positive('minutes', 10);
const INSTANCES = Math.floor(positive('instances', 3));
const RATE = positive('rate', 100);
const KILL_EVERY_S = positive('kill-every', 30);
const CUT_EVERY_S = positive('cut-every', 20);
const GRACE_MINUTES = positive('grace', 4);
const LEASE_SECONDS = Math.floor(positive('lease-seconds', 30));
const SEED = Math.floor(Number(argText('seed', String(Date.now() % 100_000))));
const PG_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
if (!/^postgres(ql)?:\/\//.test(PG_URL)) {
  process.stderr.write('soak:scale needs TEST_DATABASE_URL=postgres://… (e.g. postgres://postgres@127.0.0.1:5432/test)\n');
  process.exit(2);
}
const PACE = Math.max(1, Math.floor(RATE * 0.98));
const random = seededRandom(SEED);
const logDir = argText('logs', '') || mkdtempSync(join(tmpdir(), 'inkwire-soak-'));
mkdirSync(logDir, { recursive: true });
const events = createWriteStream(join(logDir, 'soak-events.log'), { flags: 'a' });
const startedAt = Date.now();
const note = (line: string) => {
  const stamped = `[soak:scale +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}`;
  events.write(`${new Date().toISOString()} ${stamped}\n`);
  process.stderr.write(`${stamped}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Somewhere between half and one and a half times `meanS`, in ms. */
const around = (meanS: number) => (0.5 + random()) * meanS * 1000;

const schema = `soak_scale_${process.pid}`;
const cleanups: Array<() => Promise<void> | void> = [];
let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      note(`cleanup step failed: ${String(error)}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    note(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}
// Bounded: whatever happens, the soak ends and cleans up.
const hardStopMs = (MINUTES + GRACE_MINUTES + 3) * 60_000;
const hardStop = setTimeout(() => {
  note(`hard stop after ${(hardStopMs / 60_000).toFixed(1)} minutes: aborting`);
  void cleanUp().finally(() => process.exit(2));
}, hardStopMs);
hardStop.unref();

interface Receipt { channel: string; key: string; team: string; at: number }

async function main(): Promise<number> {
  note(`${INSTANCES} bots, ${CHANNELS} channels × ${POSTS} posts over ${MINUTES} min, fake Slack limit ${RATE}/s (bots pace at ${PACE}/s), a kill every ~${KILL_EVERY_S} s, a connection cut every ~${CUT_EVERY_S} s, lease ${LEASE_SECONDS} s, seed ${SEED}; logs in ${logDir}`);
  // The database, its schema dropped at the end; the bots reach it through the proxy, the harness directly.
  const target = new URL(PG_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  cleanups.push(() => proxy.close());
  const store = await openPostgresStore(PG_URL, { schema, poolSize: 4 });
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  cleanups.push(() => store.close());

  const feeds = await startFeedServer();
  cleanups.push(() => feeds.close());
  const items: FeedItem[] = [{ slug: 'seen-before', title: 'Seen before', publishedAt: new Date(Date.now() - 86_400_000) }];
  const serve = () => feeds.serveFeed('/feed', rssFeed('Scale soak', items));
  serve();
  const channelIds = Array.from({ length: CHANNELS }, (_, i) => `C${String(i).padStart(6, '0')}`);
  await seedSubscribedStore(store, feeds.url('/feed'), []);
  const feed = (await store.feeds.get(feeds.url('/feed')))!;
  for (let from = 0; from < channelIds.length; from += 16) {
    await Promise.all(channelIds.slice(from, from + 16).map((channelId) => store.subscriptions.create({
      kind: 'channel', platform: 'slack', workspaceId: 'T1', channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'soak', createdAt: new Date(0),
    })));
  }

  // The bots and the faults done to them.
  const bots: Array<InkwireProcess | null> = Array.from({ length: INSTANCES }, () => null);
  const generation = Array.from({ length: INSTANCES }, () => 0);
  const counts = { kills: 0, armedKills: 0, cuts: 0, refusals: 0, failedStarts: 0, crashes: 0, restarts: 0 };
  let stopping = false;

  // The platform: no de-duplication; each bot has its own token, so a copy names the bot that posted it.
  const teamOf = (i: number) => `T${String.fromCharCode(65 + i)}`;
  const tokens = Object.fromEntries(Array.from({ length: INSTANCES }, (_, i) => [teamOf(i), `xoxb-soak-${i}`]));
  const receipts: Receipt[] = [];
  let armed: { i: number; team: string; after: number } | null = null;
  const slack = await startFakeSlack({
    tokens,
    channels: Object.fromEntries(channelIds.map((id) => [id, {}])),
    workspacePerSecond: RATE,
    onPosted: ({ channel, count }) => {
      const post = slack.posts[count - 1];
      if (!post || post.threadTs !== undefined) return;
      const key = (post.metadata as { event_payload?: { key?: unknown } } | undefined)?.event_payload?.key;
      receipts.push({ channel, key: typeof key === 'string' ? key : '?', team: post.team, at: Date.now() });
      if (armed && armed.team === post.team && --armed.after <= 0) {
        const victim = armed.i;
        armed = null;
        counts.armedKills++;
        void kill(victim, `right after its message to ${channel} (${String(key)}) was accepted, before the answer`, typeof key === 'string' ? key : undefined);
      }
    },
  });
  cleanups.push(() => slack.close());

  // Bots are restarted whenever they are down and not meant to be.
  /** SIGKILLs bot `i` (an expected exit), and restarts it 1-5 s later. */
  const kill = async (i: number, when: string, key?: string) => {
    const bot = bots[i];
    if (!bot?.alive()) return;
    counts.kills++;
    note(`SIGKILL ${bot.name} ${when}`);
    bots[i] = null;
    bot.kill('SIGKILL');
    await bot.exit();
    if (key) {
      // What the outbox says about the message the bot died with: the next attempt decides from this alone.
      const row = await store.pool.query('SELECT * FROM deliveries WHERE idempotency_key = $1', [key]).then((r) => r.rows[0] as unknown, (error: unknown) => String(error));
      note(`  its delivery ${key} after the kill: ${JSON.stringify(row)}`);
    }
    await sleep(1000 + random() * 4000);
    if (!stopping && bots[i] === null) {
      counts.restarts++;
      start(i);
    }
  };
  const start = (i: number) => {
    const name = `bot-${i}.${generation[i]!++}`;
    const bot = spawnInkwireProcess({
      name,
      logFile: join(logDir, `bot-${i}.log`),
      env: {
        FEED_URLS: feeds.url('/feed'), DATABASE_URL: urlWithSchema(proxy.url(PG_URL), schema), INSTANCE_ID: name, LOG_LEVEL: 'info',
        POLL_CRON: '*/2 * * * * *', POLL_JITTER_SECONDS: '0', DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS), DELIVERY_RETRY_BASE_SECONDS: '1',
        SLACK_BOT_TOKEN: `xoxb-soak-${i}`, SLACK_SIGNING_SECRET: 'soak', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0', SLACK_SENDS_PER_SECOND: String(PACE),
      },
    });
    bots[i] = bot;
    void bot.exit().then((code) => {
      if (bots[i] === bot && !stopping) {
        // Exiting at start-up when the database cannot be reached is by design (the supervisor restarts it);
        // exiting once started is a crash.
        if (bot.hasStarted()) counts.crashes++;
        else counts.failedStarts++;
        note(`${name} exited by itself ${bot.hasStarted() ? 'after it had started (a crash)' : 'before it started'} (code ${code}); restarting it. Its last words:\n${bot.tail().split('\n').slice(-6).join('\n')}`);
        bots[i] = null;
        setTimeout(() => {
          if (!stopping && bots[i] === null) start(i);
        }, 1000);
      }
    });
  };
  cleanups.push(async () => {
    stopping = true;
    for (const bot of bots) bot?.kill('SIGKILL');
  });
  for (let i = 0; i < INSTANCES; i++) start(i);
  await Promise.all(bots.map((bot) => bot!.started()));
  note('every bot started');

  // Publication: P posts evenly over M minutes, each a new item at the top of the served feed.
  const published = new Map<string, number>(); // title → when it appeared in the feed
  const spacingMs = (MINUTES * 60_000) / POSTS;
  const publishFrom = Date.now();
  const publisher = (async () => {
    for (let i = 0; i < POSTS; i++) {
      const due = publishFrom + i * spacingMs + 2000;
      if (due > Date.now()) await sleep(due - Date.now());
      const title = `Soak post ${i}`;
      items.push({ slug: `soak-post-${i}`, title, publishedAt: new Date() });
      serve();
      published.set(title, Date.now());
      note(`published ${title}`);
    }
  })();

  // Faults, until the last post is out: a random bot SIGKILLed (restarted 1-5 s later), every database
  // connection cut (a quarter of the time with new ones refused for 1-3 s).
  const publishingEnds = publishFrom + MINUTES * 60_000;
  const chaos = async (everyS: number, act: () => Promise<void>) => {
    for (;;) {
      await sleep(around(everyS));
      if (Date.now() >= publishingEnds || stopping) return;
      await act();
    }
  };
  // Half the kills come at a random moment; the other half are armed on one bot and fire inside the fake
  // Slack right after it accepted one of that bot's messages, before the answer is written: the message is
  // posted and the bot never learns it (the case the Slack history look-up is for).
  const killer = chaos(KILL_EVERY_S, async () => {
    const alive = bots.map((bot, i) => ({ bot, i })).filter((b) => b.bot?.alive());
    const victim = alive[Math.floor(random() * alive.length)];
    if (!victim?.bot) return;
    if (random() < 0.5) {
      armed = { i: victim.i, team: teamOf(victim.i), after: 1 + Math.floor(random() * 100) };
      note(`armed: ${victim.bot.name} dies right after ${armed.after} more of its messages are accepted`);
      return;
    }
    await kill(victim.i, 'at a random moment');
  });
  const cutter = chaos(CUT_EVERY_S, async () => {
    counts.cuts++;
    const refuse = random() < 0.25;
    note(`cutting ${proxy.open} database connection(s)${refuse ? ', refusing new ones for a while' : ''}`);
    if (refuse) {
      counts.refusals++;
      proxy.refuse();
      proxy.cut();
      await sleep(1000 + random() * 2000);
      proxy.restore();
    } else {
      proxy.cut();
    }
  });
  await Promise.all([publisher, killer, cutter]);
  armed = null;
  note(`publishing done: ${counts.kills} kills (${counts.armedKills} right after a message was accepted), ${counts.cuts} cuts (${counts.refusals} with refusals), ${counts.failedStarts} failed starts, ${counts.crashes} crashes`);

  // Every (channel, post) pair, or the grace period; then a little longer for a late second copy.
  const expected = CHANNELS * POSTS;
  const pairsSeen = () => new Set(receipts.map((r) => `${r.channel}\u0000${r.key}`)).size;
  const complete = await waitUntil(() => pairsSeen() >= expected, GRACE_MINUTES * 60_000, 500);
  note(complete ? `all ${expected} deliveries arrived; waiting 20 s for late copies` : `grace period over with ${pairsSeen()} of ${expected}`);
  await sleep(20_000);
  stopping = true;
  const exits = await Promise.all(bots.map((bot) => bot?.stop() ?? Promise.resolve(null)));
  note(`bots stopped: exit codes ${exits.join(', ')}`);

  // What landed, against what was published: keys name post and subscription ids.
  const { rows: postRows } = await store.pool.query<{ id: number; title: string }>('SELECT id, title FROM posts');
  const titleOf = new Map(postRows.map((r) => [r.id, r.title]));
  const { rows: subRows } = await store.pool.query<{ id: number; channel_id: string }>('SELECT id, channel_id FROM subscriptions');
  const channelOf = new Map(subRows.map((r) => [r.id, r.channel_id]));
  const byPair = new Map<string, Receipt[]>();
  const strays: Receipt[] = [];
  for (const receipt of receipts) {
    const match = /^p(\d+)-s(\d+)$/.exec(receipt.key);
    const title = match ? titleOf.get(Number(match[1])) : undefined;
    if (!match || !title || !published.has(title) || channelOf.get(Number(match[2])) !== receipt.channel) {
      strays.push(receipt);
      continue;
    }
    const pair = `${receipt.channel}\u0000${title}`;
    byPair.set(pair, [...(byPair.get(pair) ?? []), receipt]);
  }
  const lost: string[] = [];
  const latencies: number[] = [];
  for (const [title, at] of published) {
    for (const channel of channelIds) {
      const got = byPair.get(`${channel}\u0000${title}`);
      if (!got) lost.push(`${channel} / ${title}`);
      else latencies.push(Math.min(...got.map((r) => r.at)) - at);
    }
  }
  const duplicated = [...byPair.entries()].filter(([, got]) => got.length > 1);
  const duplicates = duplicated.reduce((n, [, got]) => n + got.length - 1, 0);
  const { rows: statuses } = await store.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM deliveries GROUP BY status ORDER BY status');
  latencies.sort((a, b) => a - b);

  console.log(`\nsoak:scale — ${machineLine()}, PostgreSQL through a TCP proxy, seed ${SEED}\n`);
  printTable(
    ['instances', 'channels × posts', 'minutes', 'kills', 'connection cuts', 'failed starts / crashes', 'delivered', 'lost', 'duplicated', 'publication → delivery p50 s', 'p99 s', 'max s', '429s', 'history look-ups'],
    [[INSTANCES, `${CHANNELS} × ${published.size}`, MINUTES, `${counts.kills} (${counts.armedKills} mid-send)`, `${counts.cuts} (${counts.refusals} with refusals)`, `${counts.failedStarts} / ${counts.crashes}`, latencies.length, lost.length, duplicates,
      (percentile(latencies, 50) / 1000).toFixed(2), (percentile(latencies, 99) / 1000).toFixed(2), ((latencies.at(-1) ?? NaN) / 1000).toFixed(2), slack.counters.rateLimited, slack.historyCalls.length]],
  );
  console.log(`\nOutbox at the end: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}; fake Slack violations: ${slack.violations.length}; messages that match no published post: ${strays.length}`);
  if (published.size < POSTS) console.log(`Only ${published.size} of ${POSTS} posts were published.`);
  if (lost.length > 0) console.log(`\nLost (first 20 of ${lost.length}):\n${lost.slice(0, 20).join('\n')}`);
  if (duplicated.length > 0 || lost.length > 0) await explain(store.pool, duplicated, lost);
  if (strays.length > 0) console.log(`\nStrays (first 10): ${JSON.stringify(strays.slice(0, 10))}`);
  for (const v of slack.violations.slice(0, 10)) console.log(`violation: ${v}`);
  return lost.length === 0 && duplicates === 0 && counts.crashes === 0 && published.size === POSTS ? 0 : 1;
}

/** For each duplicated or lost pair: the delivery row, who posted each copy when, and what the bots logged about it. */
async function explain(pool: pg.Pool, duplicated: Array<[string, Receipt[]]>, lost: string[]): Promise<void> {
  const logs = Array.from({ length: INSTANCES }, (_, i) => {
    try {
      return readFileSync(join(logDir, `bot-${i}.log`), 'utf8').split('\n');
    } catch {
      return [];
    }
  });
  const harness = (() => {
    try {
      return readFileSync(join(logDir, 'soak-events.log'), 'utf8').split('\n');
    } catch {
      return [];
    }
  })();
  const mentions = (needle: string) => [
    ...harness.filter((line) => line.includes(needle)).map((line) => `  harness: ${line.slice(0, 1200)}`),
    ...logs.flatMap((lines, i) => lines.filter((line) => line.includes(needle)).slice(0, 12).map((line) => `  bot-${i}: ${line.slice(0, 400)}`)),
  ];
  for (const [pair, got] of duplicated.slice(0, 10)) {
    const key = got[0]!.key;
    const { rows } = await pool.query('SELECT * FROM deliveries WHERE idempotency_key = $1', [key]);
    const row = rows[0] as { id?: number } | undefined;
    console.log(`\nDUPLICATE ${pair.replace('\u0000', ' / ')} (key ${key}): ${got.length} copies, ${got.map((r) => `${r.team} at +${((r.at - startedAt) / 1000).toFixed(2)} s`).join(', ')}`);
    console.log(`  delivery row: ${JSON.stringify(row ?? null)}`);
    for (const line of row?.id !== undefined ? mentions(`"deliveryId":${row.id}`) : []) console.log(line);
    for (const line of mentions(key)) console.log(line);
  }
  for (const entry of lost.slice(0, 5)) {
    const [channel, title] = entry.split(' / ');
    const { rows } = await pool.query(
      'SELECT d.* FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN posts p ON p.id = d.post_id WHERE s.channel_id = $1 AND p.title = $2',
      [channel, title],
    );
    console.log(`\nLOST ${entry}: delivery row ${JSON.stringify(rows[0] ?? null)}`);
    const id = (rows[0] as { id?: number } | undefined)?.id;
    for (const line of id !== undefined ? mentions(`"deliveryId":${id}`) : []) console.log(line);
  }
}

let code = 2;
try {
  code = await main();
} catch (error) {
  note(`the soak failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
} finally {
  await cleanUp();
  clearTimeout(hardStop);
  note(`done (exit ${code}); logs ${code === 0 && argText('logs', '') === '' ? 'removed' : `kept in ${logDir}`}`);
  events.end();
  if (code === 0 && argText('logs', '') === '') rmSync(logDir, { recursive: true, force: true });
}
process.exit(code);

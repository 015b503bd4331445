/**
 * `npm run bench:scale`: one new post fanned out to N Slack channels (default 10,000 and 3,000) by real
 * `inkwire start` processes — 1, 2 and 3 of them on one PostgreSQL database, and one on SQLite — to the
 * fake Slack with a workspace limit of R messages per sliding second (default 500; over it a 429). The
 * bots pace at 98 % of R (`SLACK_SENDS_PER_SECOND`), shared through the database's send budget on
 * PostgreSQL. Everything is measured from outside, on what landed: delivered/s between the fake's first
 * and last receipt against R, 429s, duplicates (a channel with the post twice; the fake de-duplicates
 * nothing), and the time from publication (the post appearing in the served feed) to the first and last
 * delivery.
 *
 * Needs TEST_DATABASE_URL (or DATABASE_URL) pointing at PostgreSQL; works in schemas of its own and drops
 * them. Runs dist/ (`npm run build` first), or the sources with INKWIRE_FROM_SOURCE=true. Options:
 * `--channels 10000,3000`, `--rate 500`, `--instances 1,2,3`, `--concurrency 32` (DELIVERY_CONCURRENCY),
 * `--no-sqlite`, `--json`. Bot logs go to `--logs DIR` (default a temporary directory, removed unless a row
 * failed). The search latencies moved to `npm run bench:scale-search`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../src/storage/postgres/pg-store.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { startFeedServer } from '../test/fakes/feed-server.ts';
import { seedSubscribedStore } from '../test/fakes/seeded-database.ts';
import { startFakeSlack } from '../test/fakes/slack/fake-slack.ts';
import { machineLine, printTable, wantsJson } from './bench-util.ts';
import { rssFeed, type FeedItem } from './generated-feed.ts';
import { spawnInkwireProcess, urlWithSchema, waitUntil, type InkwireProcess } from './inkwire-process.ts';

const argText = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
};
const list = (text: string) => text.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const CHANNEL_COUNTS = list(argText('channels', '10000,3000'));
const RATE = Number(argText('rate', '500'));
const INSTANCE_COUNTS = list(argText('instances', '1,2,3'));
const CONCURRENCY = Number(argText('concurrency', '32'));
const WITH_SQLITE = !process.argv.includes('--no-sqlite');
const PG_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
const PACE = Math.floor(RATE * 0.98);
if (!/^postgres(ql)?:\/\//.test(PG_URL)) {
  console.error('bench:scale needs TEST_DATABASE_URL=postgres://… (e.g. postgres://postgres@127.0.0.1:5432/test)');
  process.exit(2);
}
if (CHANNEL_COUNTS.length === 0 || INSTANCE_COUNTS.length === 0 || !(RATE > 0) || !(CONCURRENCY > 0)) {
  console.error('bench:scale: --channels and --instances take lists of positive whole numbers, --rate and --concurrency a positive number');
  process.exit(2);
}
const progress = (line: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const logDir = argText('logs', '') || mkdtempSync(join(tmpdir(), 'inkwire-scale-'));
const schemas: string[] = [];
const running = new Set<InkwireProcess>();
let keepLogs = argText('logs', '') !== '';

async function dropSchemas() {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
async function cleanUp() {
  for (const bot of running) bot.kill('SIGKILL');
  await dropSchemas().catch((error: unknown) => progress(`could not drop the schemas: ${String(error)}`));
  if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cleanUp().finally(() => process.exit(130)));

interface Row {
  store: 'SQLite' | 'PostgreSQL';
  instances: number;
  channels: number;
  /** From publication to the first and the last delivery the fake received. */
  firstMs: number;
  lastMs: number;
  /** Delivered per second between the first and the last receipt, and that against R. */
  perSecond: number;
  ratio: number;
  /** The most messages the fake received in any sliding second. */
  busiestSecond: number;
  rateLimited: number;
  delivered: number;
  duplicates: number;
  /** Messages each instance posted (each has its own token). */
  byInstance: number[];
  /** CPU seconds the bots (together) and this process (the fake Slack) used from publication to the last delivery. */
  botCpuS: number;
  fakeCpuS: number;
  /** PostgreSQL: statements on the send-budget row (inserts + updates) per delivery. */
  budgetStatementsPerDelivery: number | null;
}

const channelIds = (n: number) => Array.from({ length: n }, (_, i) => `C${String(i).padStart(8, '0')}`);
const TOKENS = ['xoxb-scale-a', 'xoxb-scale-b', 'xoxb-scale-c', 'xoxb-scale-d', 'xoxb-scale-e', 'xoxb-scale-f'];

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** A subscribed deployment: the feed seen once, N channels subscribed to it; the bots reach it at `databaseUrl`. */
interface Deployment {
  store: Store;
  databaseUrl: string;
  channels: number;
  /** PostgreSQL: its schema (for the send-budget statement count). */
  schema: string | null;
}

/** Inserts + updates of the schema's send-budget row so far (the statistics collector's count). */
async function budgetStatements(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the statistics are flushed about once a second
    const { rows } = await client.query<{ n: string }>(`SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'send_budget'`, [schema]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function subscribe(store: Store, feedUrl: string, channels: readonly string[]): Promise<void> {
  await seedSubscribedStore(store, feedUrl, []);
  const feed = (await store.feeds.get(feedUrl))!;
  for (let from = 0; from < channels.length; from += 16) {
    await Promise.all(channels.slice(from, from + 16).map((channelId) => store.subscriptions.create({
      kind: 'channel', platform: 'slack', workspaceId: 'T1', channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'bench', createdAt: new Date(0),
    })));
  }
}

async function main() {
  const feeds = await startFeedServer();
  const items: FeedItem[] = [{ slug: 'seen-before', title: 'Seen before', publishedAt: new Date(Date.now() - 86_400_000) }];
  const feedUrl = feeds.url('/feed');
  feeds.serveFeed('/feed', rssFeed('Scale bench', items));
  const rows: Row[] = [];
  try {
    for (const channels of CHANNEL_COUNTS) {
      const ids = channelIds(channels);
      const deployments: Array<{ kind: Row['store']; instances: number[]; open(): Promise<Deployment> }> = [];
      if (WITH_SQLITE) {
        deployments.push({
          kind: 'SQLite', instances: [1],
          async open() {
            const path = join(logDir, `scale-${channels}.db`);
            const store = openSqliteStore(path);
            return { store, databaseUrl: path, channels, schema: null };
          },
        });
      }
      deployments.push({
        kind: 'PostgreSQL', instances: INSTANCE_COUNTS,
        async open() {
          const schema = `bench_scale_${channels}_${process.pid}`;
          schemas.push(schema);
          const store = await openPostgresStore(PG_URL, { schema, poolSize: 8 });
          return { store, databaseUrl: urlWithSchema(PG_URL, schema), channels, schema };
        },
      });
      for (const deployment of deployments) {
        progress(`${deployment.kind}: subscribing ${channels} channels`);
        const opened = await deployment.open();
        await subscribe(opened.store, feedUrl, ids);
        // The bench's own connection is not needed while the bots run (a SQLite file is one bot's).
        await opened.store.close();
        for (const instances of deployment.instances) {
          const before = opened.schema ? await budgetStatements(opened.schema) : 0;
          const row = await fanOut({ kind: deployment.kind, instances, ids, databaseUrl: opened.databaseUrl, feedUrl, publish: (item) => {
            items.push(item);
            feeds.serveFeed('/feed', rssFeed('Scale bench', items));
          } });
          if (opened.schema) row.budgetStatementsPerDelivery = ((await budgetStatements(opened.schema)) - before) / Math.max(1, row.delivered + row.duplicates);
          rows.push(row);
        }
      }
    }
  } finally {
    await feeds.close();
  }
  return rows;
}

/** Starts `instances` bots, publishes one new post, and waits until every channel has it (or a deadline). */
async function fanOut(options: { kind: Row['store']; instances: number; ids: readonly string[]; databaseUrl: string; feedUrl: string; publish(item: FeedItem): void }): Promise<Row> {
  const { kind, instances, ids } = options;
  progress(`${kind}: ${instances} instance(s), ${ids.length} channels at R = ${RATE}/s (bots pace at ${PACE}/s)`);
  const tokens = Object.fromEntries(TOKENS.slice(0, instances).map((token, i) => [`T${String.fromCharCode(65 + i)}`, token]));
  const received: Array<{ channel: string; at: number; team: string }> = [];
  const slack = await startFakeSlack({
    tokens,
    channels: Object.fromEntries(ids.map((id) => [id, {}])),
    workspacePerSecond: RATE,
    onPosted: ({ channel, count }) => received.push({ channel, at: performance.now(), team: slack.posts[count - 1]?.team ?? '?' }),
  });
  const bots: InkwireProcess[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const bot = spawnInkwireProcess({
        name: `${kind.toLowerCase()}-${ids.length}-${instances}-bot${i}`,
        logFile: join(logDir, `${kind.toLowerCase()}-${ids.length}-${instances}-bot${i}.log`),
        env: {
          FEED_URLS: options.feedUrl, DATABASE_URL: options.databaseUrl, INSTANCE_ID: `bot-${i}`, LOG_LEVEL: 'info',
          POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0', DELIVERY_CONCURRENCY: String(CONCURRENCY), DELIVERY_RETRY_BASE_SECONDS: '1',
          SLACK_BOT_TOKEN: TOKENS[i]!, SLACK_SIGNING_SECRET: 'bench', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0', SLACK_SENDS_PER_SECOND: String(PACE),
        },
      });
      bots.push(bot);
      running.add(bot);
    }
    await Promise.all(bots.map((bot) => bot.started()));
    await new Promise((resolve) => setTimeout(resolve, 2000)); // past the first poll of every bot
    const slug = `scale-${kind.toLowerCase()}-${ids.length}-${instances}-${Date.now()}`;
    const published = performance.now();
    const cpuBefore = bots.map((bot) => cpuSecondsOf(bot.pid));
    const fakeBefore = process.cpuUsage();
    options.publish({ slug, title: `Scale ${kind} ${ids.length} × ${instances}`, publishedAt: new Date() });
    const deadlineMs = Math.max(120_000, (3 * ids.length * 1000) / PACE) + 60_000;
    const complete = await waitUntil(() => new Set(received.map((r) => r.channel)).size >= ids.length, deadlineMs, 200);
    const botCpuS = bots.reduce((sum, bot, i) => sum + cpuSecondsOf(bot.pid) - cpuBefore[i]!, 0);
    const fakeUsage = process.cpuUsage(fakeBefore);
    if (!complete) keepLogs = true;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // a late second copy would land here
    const exits = await Promise.all(bots.map((bot) => bot.stop()));
    if (exits.some((code) => code !== 0)) {
      keepLogs = true;
      progress(`a bot exited with ${exits.join(', ')} (logs in ${logDir})`);
    }
    const times = received.map((r) => r.at).sort((a, b) => a - b);
    const perChannel = new Map<string, number>();
    for (const r of received) perChannel.set(r.channel, (perChannel.get(r.channel) ?? 0) + 1);
    let busiestSecond = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      busiestSecond = Math.max(busiestSecond, i - j + 1);
    }
    const spanS = times.length > 1 ? (times.at(-1)! - times[0]!) / 1000 : NaN;
    const perSecond = (perChannel.size - 1) / spanS;
    if (!complete) progress(`INCOMPLETE: ${perChannel.size} of ${ids.length} channels after ${(deadlineMs / 1000).toFixed(0)} s (logs in ${logDir})`);
    return {
      store: kind, instances, channels: ids.length,
      firstMs: (times[0] ?? NaN) - published, lastMs: (times.at(-1) ?? NaN) - published,
      perSecond, ratio: perSecond / RATE, busiestSecond, rateLimited: slack.counters.rateLimited,
      delivered: perChannel.size, duplicates: received.length - perChannel.size,
      byInstance: Object.keys(tokens).map((team) => received.filter((r) => r.team === team).length),
      botCpuS, fakeCpuS: (fakeUsage.user + fakeUsage.system) / 1e6,
      budgetStatementsPerDelivery: null,
    };
  } finally {
    for (const bot of bots) {
      bot.kill('SIGKILL');
      running.delete(bot);
    }
    await slack.close();
  }
}

try {
  const rows = await main();
  const result = { machine: machineLine(), ratePerSecond: RATE, pacePerSecond: PACE, deliveryConcurrency: CONCURRENCY, rows };
  if (wantsJson()) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`\nbench:scale — ${result.machine}\n\nOne post fanned out by real \`inkwire start\` processes to the fake Slack, workspace limit R = ${RATE}/s (bots pace at ${PACE}/s, DELIVERY_CONCURRENCY=${CONCURRENCY}); measured on the fake's receipts:\n`);
    printTable(
      ['store', 'instances', 'channels', 'publication → first s', 'publication → last s', 'delivered/s', 'delivered/s ÷ R', 'busiest second', '429s', 'delivered', 'duplicates', 'per instance', 'bots CPU s', 'fake Slack CPU s', 'budget statements / delivery'],
      rows.map((r) => [r.store, r.instances, r.channels, (r.firstMs / 1000).toFixed(2), (r.lastMs / 1000).toFixed(2), r.perSecond.toFixed(0), r.ratio.toFixed(3), r.busiestSecond, r.rateLimited, r.delivered, r.duplicates, r.byInstance.join(' / '), r.botCpuS.toFixed(1), r.fakeCpuS.toFixed(1), r.budgetStatementsPerDelivery === null ? '—' : r.budgetStatementsPerDelivery.toFixed(2)]),
    );
  }
  const failed = rows.some((r) => r.delivered < r.channels || r.duplicates > 0);
  process.exitCode = failed ? 1 : 0;
} catch (error) {
  keepLogs = true;
  progress(`failed; bot logs kept in ${logDir}`);
  throw error;
} finally {
  await cleanUp();
}

import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/storage/postgres/pg-sql.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { spawnInkwire, type CliProcess } from '../fakes/cli-process.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { seedSubscribedStore } from '../fakes/seeded-database.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';
import { readyInTransaction, startTcpProxy, type TcpProxy } from '../fakes/tcp-proxy.ts';

/** A DATABASE_URL that puts a process in one schema (node-postgres passes `options` to the server). */
const urlWithSchema = (url: string, schema: string) => `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

/** Polls `condition` until it holds; fails with `what` after a generous limit (never a timing assertion). */
async function until(what: string, condition: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a promise came to, or 'pending' if it has not settled within a generous limit. */
async function settledWithin<T>(promise: Promise<T>, limitMs: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })),
    new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), limitMs))),
  ]);
  clearTimeout(timer);
  return outcome;
}

const target = () => {
  const url = new URL(TEST_DATABASE_URL);
  return { host: url.hostname, port: Number(url.port || 5432) };
};

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL faults', () => {
  const cleanups = cleanupsAfterEach();
  const schemas: string[] = [];
  afterAll(async () => dropSchemas(schemas));

  async function proxiedStore(options: { poolSize?: number; statementTimeoutMs?: number } = {}): Promise<{ store: Store & { pool: Pool }; proxy: TcpProxy; schema: string }> {
    const schema = uniqueSchema('dbfault');
    schemas.push(schema);
    const proxy = await startTcpProxy(target());
    cleanups.push(() => proxy.close());
    const store = await openPostgresStore(proxy.url(TEST_DATABASE_URL), { schema, poolSize: options.poolSize ?? 2, ...(options.statementTimeoutMs ? { statementTimeoutMs: options.statementTimeoutMs } : {}) });
    cleanups.push(() => store.close().catch(() => {}));
    return { store, proxy, schema };
  }

  it('GIVEN a connection cut while a transaction holds it THEN that call fails, nothing is emitted unhandled, and the next call works', async () => {
    const { store, proxy } = await proxiedStore();
    const unhandled: unknown[] = [];
    const onUncaught = (error: unknown) => unhandled.push(error);
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => void process.off('uncaughtException', onUncaught));
    const outcome = await settledWithin(
      inTransaction(store.pool, async (client) => {
        await client.query('SELECT 1');
        proxy.cut(); // the server goes away while this client is checked out and idle between statements
        await new Promise((resolve) => setTimeout(resolve, 200));
        await client.query('SELECT 1');
      }),
      30_000,
    );
    expect(outcome !== 'pending' && !outcome.ok).toBe(true);
    expect(unhandled).toEqual([]);
    expect(await store.posts.count()).toBe(0); // a fresh connection: the store works again
  });

  it('GIVEN a server that hangs and a pool whose every connection is stuck THEN store calls fail (statement and connect timeouts) instead of waiting forever, and work again once it answers', async () => {
    const { store, proxy } = await proxiedStore({ poolSize: 2, statementTimeoutMs: 500 });
    expect(await store.posts.count()).toBe(0);
    proxy.stall();
    // More callers than connections: two wait on a hung server, the others for a free connection.
    const calls = [0, 1, 2, 3].map(() => settledWithin(store.posts.count(), 60_000));
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'pending')).toEqual([]);
    expect(outcomes.every((o) => o !== 'pending' && !o.ok)).toBe(true);
    proxy.restore();
    await until('the store answers again', async () => (await settledWithin(store.posts.count(), 30_000).then((o) => o !== 'pending' && o.ok)));
  }, 120_000);

  /** Two `inkwire start` processes on one schema behind the proxy, 150 Slack channels subscribed to one feed. */
  async function twoInstances(options: { onPosted?: (count: number, proxy: TcpProxy) => void } = {}) {
    const schema = uniqueSchema('dbfault_bots');
    schemas.push(schema);
    const seedStore = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 2 });
    cleanups.push(() => seedStore.close());
    const proxy = await startTcpProxy(target());
    cleanups.push(() => proxy.close());
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    const channelIds = Array.from({ length: 150 }, (_, i) => `C${String(i).padStart(4, '0')}`);
    const slack = await startFakeSlack({
      tokens: { TA: 'xoxb-db-a', TB: 'xoxb-db-b' },
      channels: Object.fromEntries(channelIds.map((id) => [id, {}])),
      workspacePerSecond: 400,
      onPosted: ({ count }) => options.onPosted?.(count, proxy),
    });
    cleanups.push(() => slack.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedStore(seedStore, feeds.url('/feed'), channelIds.map((channelId) => ({ platform: 'slack' as const, workspaceId: 'T1', channelId })));

    const ports = [await freePort(), await freePort()];
    const bots: CliProcess[] = ports.map((port, i) => spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: proxy.url(urlWithSchema(TEST_DATABASE_URL, schema)), INSTANCE_ID: `db-${i}`, HTTP_PORT: String(port),
      POLL_CRON: '*/2 * * * * *', POLL_JITTER_SECONDS: '0', DELIVERY_LEASE_SECONDS: '10', DELIVERY_RETRY_BASE_SECONDS: '1', DELIVERY_CONCURRENCY: '8',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: i === 0 ? 'xoxb-db-a' : 'xoxb-db-b', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl,
    }));
    for (const bot of bots) cleanups.push(() => void bot.child.kill('SIGKILL'));
    const readyz = async (port: number) => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(30_000) });
        return { status: response.status, body: await response.text() };
      } catch (error) {
        return { status: 0, body: String(error) };
      }
    };
    const alive = () => bots.every((bot) => bot.child.exitCode === null);
    const exits = () => bots.map((bot) => bot.child.exitCode);
    /** A process that died ends the wait at once, with how and why. */
    const mustBeAlive = () => {
      const dead = bots.find((bot) => bot.child.exitCode !== null);
      if (dead) throw new Error(`an instance exited with code ${dead.child.exitCode}:\n${dead.stderr().slice(-1500)}`);
    };
    const allReady = async () => (mustBeAlive(), (await Promise.all(ports.map(readyz))).every((r) => r.status === 200));
    /** Both answer 503 with the database check failing. */
    const allNamingTheDatabase = async () => (mustBeAlive(), (await Promise.all(ports.map(readyz))).every((r) => r.status === 503 && /FAIL database \(PostgreSQL\)/.test(r.body)));
    const newPost = () => feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const deliveredOnce = async () => {
      await until('every channel got the post', () => new Set(slack.posts.map((p) => p.channel)).size === channelIds.length, 120_000);
      await until('every delivery is recorded as sent', async () => (await seedStore.deliveries.list({ limit: 1000, status: 'sent' })).length === channelIds.length, 120_000);
      const perChannel = new Map<string, number>();
      for (const post of slack.posts) perChannel.set(post.channel, (perChannel.get(post.channel) ?? 0) + 1);
      expect([...perChannel.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect(perChannel.size).toBe(channelIds.length);
      expect(slack.violations).toEqual([]);
    };
    const stop = async () => {
      for (const bot of bots) bot.child.kill('SIGTERM');
      return Promise.all(bots.map((bot) => bot.exit()));
    };
    await until('both instances ready', allReady);
    return { proxy, bots, alive, exits, allReady, allNamingTheDatabase, newPost, deliveredOnce, stop };
  }

  it('GIVEN two instances on PostgreSQL behind a proxy WHEN PostgreSQL restarts mid-delivery (every connection cut, new ones refused for a while) THEN neither exits, /readyz turns 503 naming the database and back to 200, and all 150 channels get the post exactly once', async () => {
    let restarted = false;
    const bots = await twoInstances({
      onPosted: (count, proxy) => {
        if (count === 30 && !restarted) {
          restarted = true;
          // The restart hits the next connection that is idle inside a transaction (between its statements),
          // where an unguarded client emits an unhandled 'error'; then every connection goes, new ones refused.
          proxy.cutAfter(readyInTransaction, () => {
            proxy.refuse();
            proxy.cut();
          });
        }
      },
    });
    bots.newPost();
    await until('the restart happened mid-delivery, mid-transaction', () => restarted && bots.proxy.cutAfterFired);
    await until('/readyz is 503 naming the database on both', bots.allNamingTheDatabase);
    // Down for a while: failed claims, renewals and poll ticks on each instance, and both still running.
    await until('both instances logged database errors', () => bots.bots.every((bot) => (bot.stderr().match(/"level":50/g) ?? []).length >= 3));
    expect(bots.exits()).toEqual([null, null]);
    const restoredAt = Date.now();
    bots.proxy.restore();
    await until('both instances ready again', bots.allReady);
    const readyAfter = Date.now() - restoredAt;
    await bots.deliveredOnce();
    // A reading, not an assertion: how long the instances took to resume once PostgreSQL was back.
    console.log(`PostgreSQL back: both /readyz 200 after ${(readyAfter / 1000).toFixed(1)} s, all 150 delivered after ${((Date.now() - restoredAt) / 1000).toFixed(1)} s`);
    expect(await bots.stop()).toEqual([0, 0]);
  }, 300_000);

  it('GIVEN two instances on PostgreSQL behind a proxy WHEN the server hangs (every statement stalls) THEN /readyz turns 503 naming the database instead of hanging, neither exits, and once it answers both are ready and deliver the next post exactly once', async () => {
    const bots = await twoInstances();
    const stalledAt = Date.now();
    bots.proxy.stall();
    await until('/readyz is 503 naming the database on both', bots.allNamingTheDatabase);
    console.log(`PostgreSQL hung: both /readyz 503 naming the database ${((Date.now() - stalledAt) / 1000).toFixed(1)} s after (statement timeout 1 s + 5 s client margin)`);
    expect(bots.exits()).toEqual([null, null]);
    bots.proxy.restore();
    await until('both instances ready again', bots.allReady);
    bots.newPost();
    await bots.deliveredOnce();
    expect(await bots.stop()).toEqual([0, 0]);
  }, 300_000);
});

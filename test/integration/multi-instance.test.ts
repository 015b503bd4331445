import { generateKeyPairSync } from 'node:crypto';
import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { systemClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/pg-migrations.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { spawnInkwire, untilPlatformConnected, type CliProcess } from '../fakes/cli-process.ts';
import { shardOf, snowflake, startFakeDiscord, type FakeGuild } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { freePort } from '../fakes/free-port.ts';
import { seedSubscribedStore } from '../fakes/seeded-database.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

/** A DATABASE_URL that puts a process in one schema (node-postgres passes `options` to the server). */
const urlWithSchema = (schema: string) => `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

describe.skipIf(!TEST_DATABASE_URL)('many Inkwire instances on one PostgreSQL', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  async function freshStore(): Promise<{ store: Store & { readonly pool: Pool }; schema: string }> {
    const schema = uniqueSchema('multi');
    schemas.push(schema);
    const store = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 });
    cleanups.push(() => store.close());
    return { store, schema };
  }

  it('GIVEN three stores starting at once on an empty database THEN the migrations run once', async () => {
    const schema = uniqueSchema('migrate_once');
    schemas.push(schema);
    const stores = await Promise.all([0, 1, 2].map(() => openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 1 })));
    try {
      const { rows } = await stores[0]!.pool.query<{ version: number }>('SELECT version FROM inkwire_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1)); // each step once
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  /**
   * Watches the shared send budget from the database itself: a trigger copies every change of the platform's
   * `send_budget.next_at` (the end of the slots a statement reserved; a statement may reserve one slot or a
   * batch) into a log table. Returns how much of the database's timeline the reservations took, in ms of the
   * database's clock: from the first reservation's start to the last one's end.
   */
  async function watchSendBudget({ pool }: { pool: Pool }, schema: string) {
    await pool.query(`
      CREATE TABLE ${schema}.send_budget_log (platform text NOT NULL, old_next_at timestamptz, next_at timestamptz NOT NULL, logged_at timestamptz NOT NULL);
      CREATE FUNCTION ${schema}.log_send_budget() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO ${schema}.send_budget_log VALUES (NEW.platform, CASE WHEN TG_OP = 'UPDATE' THEN OLD.next_at END, NEW.next_at, clock_timestamp());
          RETURN NEW;
        END $$;
      CREATE TRIGGER log_send_budget AFTER INSERT OR UPDATE ON ${schema}.send_budget FOR EACH ROW EXECUTE FUNCTION ${schema}.log_send_budget();`);
    return async (platform: string) => {
      const { rows } = await pool.query<{ statements: number; first_is_insert: boolean; chained: boolean; span_ms: number }>(`
        WITH log AS (SELECT *, lag(next_at) OVER (ORDER BY next_at) AS previous FROM ${schema}.send_budget_log WHERE platform = $1)
        SELECT count(*)::int AS statements,
               bool_or(old_next_at IS NULL AND previous IS NULL) AS first_is_insert,
               bool_and(previous IS NULL OR old_next_at = previous) AS chained,
               (extract(epoch FROM max(next_at) - min(logged_at) FILTER (WHERE previous IS NULL)) * 1000)::float8 AS span_ms
        FROM log`, [platform]);
      return rows[0]!;
    };
  }

  it('GIVEN three instances sharing one send budget of 50/s THEN every send takes 1/50 s of one timeline on the database clock, and waits for its slot', async () => {
    const { store, schema } = await freshStore();
    const budget = await watchSendBudget(store, schema);
    const instances = await Promise.all([0, 1, 2].map(() => openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 2 })));
    cleanups.push(() => Promise.all(instances.map((s) => s.close())).then(() => {}));
    const started = Date.now();
    await Promise.all(instances.map(async (instance) => {
      for (let i = 0; i < 50; i++) {
        const wait = await instance.sendBudget!.reserve('discord', 50);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }));
    // The mechanism, read from the database: the three processes' reservations went to one row, each statement
    // starting where the last ended, and together took at least 150 × 20 ms of the database's timeline: no
    // second of it holds more than 50 slots. (Sends per wall-clock second, which a loaded machine's late timers
    // bunch, are measured by `npm run bench:fanout`, not asserted here.)
    const seen = await budget('discord');
    expect(seen.first_is_insert && seen.chained).toBe(true);
    // The log's first clock reading comes a moment after the statement's own (the trigger runs later), so the
    // measured span is a little short of 150 × 20 ms; one slot fewer (a slot shared) would be at most 149 × 20.
    expect(seen.span_ms).toBeGreaterThan(149 * 20);
    // And each instance waited for its slots: 150 slots 20 ms apart span 2.98 s. A lower bound, which load can
    // only lengthen.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  it('GIVEN two delivery engines on one database paced at 20/s THEN every send takes 1/20 s of the one shared timeline: 20/s together, not 40/s', async () => {
    const { store, schema } = await freshStore();
    const budget = await watchSendBudget(store, schema);
    const other = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 2 });
    cleanups.push(() => other.close());
    const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    for (let i = 0; i < 40; i++) await store.subscriptions.create({ kind: 'channel', platform: 'console', workspaceId: 'w', channelId: `c${i}`, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 't', createdAt: new Date(0) });
    await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });
    const recording = createRecordingPlatform();
    const sentAt: number[] = [];
    const sentBy = new Set<string>();
    const engines = [store, other].map((s, i) => createDeliveryEngine({
      platform: { ...recording.platform, send: async (...args: Parameters<typeof recording.platform.send>) => {
        sentAt.push(Date.now());
        sentBy.add(`e${i}`);
        return recording.platform.send(...args);
      } },
      deliveries: s.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 8, leaseMs: 30_000, maxAttempts: 3,
      retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner: `e${i}`, ratePerSecond: 20, sendBudget: s.sendBudget!,
    }));
    await Promise.all(engines.map((engine) => engine.drain()));
    expect(recording.sends).toHaveLength(40);
    expect([...sentBy].sort()).toEqual(['e0', 'e1']);
    // Both engines' sends took slots of the one budget row, together at least 40 × 50 ms of the database's
    // timeline (at 40/s it would be half that).
    const seen = await budget('console');
    expect(seen.first_is_insert && seen.chained).toBe(true);
    expect(seen.span_ms).toBeGreaterThan(39 * 50); // as above: one slot fewer would be at most 39 × 50
    // The engines waited for their slots (39 gaps of 50 ms: 1.95 s; at 40/s it would be ~0.95 s). A lower bound,
    // which load can only lengthen.
    sentAt.sort((a, b) => a - b);
    expect(sentAt.at(-1)! - sentAt[0]!).toBeGreaterThanOrEqual(1800);
  });

  it('GIVEN two instances on one tick THEN only one polls the feed, and a dead poller\'s lease runs out', async () => {
    const { store, schema } = await freshStore();
    const other = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 1 });
    cleanups.push(() => other.close());
    const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    const tick = new Date();
    const claim = (s: Store, owner: string, now = new Date()) => s.feeds.claimPoll(feed.id, { owner, now, leaseMs: 1000, notPolledSince: tick });
    expect(await claim(store, 'a')).toBe(true);
    expect(await claim(other, 'b')).toBe(false); // held
    await store.feeds.recordNotModified(feed.id, new Date(), new Date());
    await store.feeds.releasePoll(feed.id, 'a');
    expect(await claim(other, 'b')).toBe(false); // already polled on this tick
    const nextTick = new Date(Date.now() + 1);
    expect(await other.feeds.claimPoll(feed.id, { owner: 'b', now: nextTick, leaseMs: 300, notPolledSince: nextTick })).toBe(true);
    // b dies holding it: after the lease (on the database's clock, whatever the instances' say), a may poll again.
    const later = new Date(nextTick.getTime() + 3600_000);
    expect(await store.feeds.claimPoll(feed.id, { owner: 'a', now: later, leaseMs: 1000, notPolledSince: nextTick })).toBe(false);
    while (!(await store.pool.query<{ over: boolean }>('SELECT poll_lease_until <= now() AS over FROM feeds WHERE id = $1', [feed.id])).rows[0]!.over) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await store.feeds.claimPoll(feed.id, { owner: 'a', now: new Date(), leaseMs: 1000, notPolledSince: nextTick })).toBe(true);
  });

  it('GIVEN three processes, 1,000 Slack channels (no de-duplication) and one killed mid-fan-out THEN every channel gets the post exactly once, and each poll tick fetched the feed once', async () => {
    const { store, schema } = await freshStore();
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    const channelIds = Array.from({ length: 1000 }, (_, i) => `C${String(i).padStart(5, '0')}`);
    let bots: CliProcess[] = [];
    let killedAt = 0;
    // Each process has its own token, so the fake can tell which one posted.
    const tokens = { TA: 'xoxb-multi-a', TB: 'xoxb-multi-b', TC: 'xoxb-multi-c' };
    const slack = await startFakeSlack({
      tokens,
      channels: Object.fromEntries(channelIds.map((id) => [id, {}])),
      workspacePerSecond: 400,
      // The first instance dies with one of its posts (from the 300th on) accepted and the answer unsent.
      onPosted: ({ count }) => {
        if (count >= 300 && !killedAt && slack.posts.at(-1)?.team === 'TA') {
          killedAt = Date.now();
          bots[0]!.child.kill('SIGKILL');
        }
      },
    });
    cleanups.push(() => slack.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedStore(store, feeds.url('/feed'), channelIds.map((channelId) => ({ platform: 'slack' as const, workspaceId: 'T1', channelId })));
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const seededFetches = feeds.requestsTo('/feed').length;

    bots = [0, 1, 2].map((i) => spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: urlWithSchema(schema), INSTANCE_ID: `bot-${i}`,
      POLL_CRON: '*/2 * * * * *', POLL_JITTER_SECONDS: '1', DELIVERY_LEASE_SECONDS: '2', DELIVERY_RETRY_BASE_SECONDS: '1', DELIVERY_CONCURRENCY: '8',
      SLACK_BOT_TOKEN: Object.values(tokens)[i]!, SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0',
    }));
    for (const bot of bots) cleanups.push(() => void bot.child.kill('SIGKILL'));
    const started = Date.now();
    const deadline = started + 90_000;
    while (Date.now() < deadline && new Set(slack.posts.map((p) => p.channel)).size < channelIds.length) await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(`three-process fan-out to ${channelIds.length} channels: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Until the dead instance's claims are settled (after their lease: looked up, recorded as sent) and a few
    // more poll ticks have passed, then stop the survivors. 60 s is a give-up time for a loaded machine.
    const settleBy = Date.now() + 60_000;
    const ticksPast = Date.now() + 4500;
    while (Date.now() < settleBy && (Date.now() < ticksPast || (await store.deliveries.list({ limit: 2000, status: 'sent' })).length < channelIds.length)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const bot of bots.slice(1)) bot.child.kill('SIGTERM');
    const exits = await Promise.all(bots.slice(1).map((bot) => bot.exit()));

    const byTeam: Record<string, number> = {};
    for (const p of slack.posts) byTeam[p.team] = (byTeam[p.team] ?? 0) + 1;
    // The instances shared the work (a claim that took the first N heads before skipping locked ones let one take all).
    expect(byTeam.TB ?? 0, JSON.stringify(byTeam)).toBeGreaterThan(50);
    expect(byTeam.TC ?? 0, JSON.stringify(byTeam)).toBeGreaterThan(50);
    expect(killedAt).toBeGreaterThan(0);
    expect(exits).toEqual([0, 0]);
    const perChannel = new Map<string, number>();
    for (const post of slack.posts) perChannel.set(post.channel, (perChannel.get(post.channel) ?? 0) + 1);
    expect(perChannel.size).toBe(1000);
    expect([...perChannel.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect((await store.deliveries.list({ limit: 2000, status: 'sent' })).length).toBe(1000);
    expect(slack.violations).toEqual([]);
    // The dead instance's claims were taken over after their lease as "maybe sent": looked up, not re-posted.
    expect(slack.historyCalls.length).toBeGreaterThan(0);
    // One fetch per poll tick across the three processes (ticks every 2 s, each fetch within its tick's jitter).
    const fetches = feeds.requestsTo('/feed').slice(seededFetches).map((r) => r.at);
    const ticks = new Map<number, number>();
    for (const at of fetches) ticks.set(Math.floor(at / 2000), (ticks.get(Math.floor(at / 2000)) ?? 0) + 1);
    expect(ticks.size).toBeGreaterThanOrEqual(3);
    expect([...ticks.values()].every((n) => n === 1), `fetches per tick: ${[...ticks.values()].join(', ')}`).toBe(true);
  }, 150_000);

  it('GIVEN two stateless HTTP-interactions instances on one database THEN either answers any interaction, a subscription made on one is seen by the other, and deliveries go out once', async () => {
    const { store, schema } = await freshStore();
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    const guild: FakeGuild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }, { id: snowflake(), name: 'news' }] };
    const appId = snowflake();
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const keyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const discord = await startFakeDiscord({ token: 'lb-token', appId, guilds: [guild] });
    cleanups.push(() => discord.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedStore(store, feeds.url('/feed'), []);
    const ports = [await freePort(), await freePort()];
    const bots = ports.map((port, i) => spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: urlWithSchema(schema), INSTANCE_ID: `http-${i}`, POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0',
      DISCORD_TOKEN: 'lb-token', DISCORD_APP_ID: appId, DISCORD_API_URL: discord.apiUrl, DISCORD_PUBLIC_KEY: keyHex, HTTP_PORT: String(port),
    }));
    for (const bot of bots) cleanups.push(() => void bot.child.kill('SIGKILL'));
    for (const bot of bots) await bot.waitFor(/http server listening/, { stream: 'stderr' });
    for (const port of ports) await untilPlatformConnected(port, 'discord');
    const endpoint = (i: number) => `http://127.0.0.1:${ports[i]}/discord/interactions`;
    // Subscribe one channel through instance 0 and the other through instance 1, then list both through the other one.
    for (const [i, channel] of guild.channels.entries()) {
      const sub = await discord.interactOverHttp(endpoint(i), privateKey, { type: 2, guildId: guild.id, channelId: channel.id, permissions: 1n << 4n, data: { id: snowflake(), name: 'subscribe', type: 1, options: [] } });
      expect(sub.interaction.callbacks[0]).toMatchObject({ type: 4, data: { content: expect.stringMatching(/^Subscribed/) } });
    }
    const listed = await discord.interactOverHttp(endpoint(0), privateKey, { type: 2, guildId: guild.id, channelId: guild.channels[1]!.id, data: { id: snowflake(), name: 'subscriptions', type: 1, options: [] } });
    // Both subscriptions, each made through a different instance, listed by one of them.
    const content = (listed.interaction.callbacks[0] as { data: { content: string } }).data.content;
    expect(content).toMatch(/^\*\*2 subscriptions\\:\*\*/);
    for (const channel of guild.channels) expect(content).toContain(`<#${channel.id}> — **The Daily Ink**`);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !guild.channels.every((c) => discord.messagesIn(c.id).length >= 1)) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const channel of guild.channels) expect(discord.messagesIn(channel.id), channel.name).toHaveLength(1);
    expect(discord.counters.identifies).toBe(0);
    for (const bot of bots) bot.child.kill('SIGTERM');
    expect(await Promise.all(bots.map((bot) => bot.exit()))).toEqual([0, 0]);
    expect(discord.violations).toEqual([]);
  }, 60_000);

  it('GIVEN a bot on PostgreSQL THEN /readyz checks the database, and goes 503 naming it when the database stops answering', async () => {
    const { schema } = await freshStore();
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const port = await freePort();
    const bot = spawnInkwire(['start'], { FEED_URLS: feeds.url('/feed'), DATABASE_URL: urlWithSchema(schema), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port) });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/feed seen for the first time/, { stream: 'stderr' });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.text()).toMatch(/ok {3}database \(PostgreSQL\)/);
    expect(ready.status).toBe(200);
    await dropSchemas([schema]); // the tables are gone: every query fails
    const broken = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(broken.status).toBe(503);
    expect(await broken.text()).toMatch(/FAIL database \(PostgreSQL\): relation "posts" does not exist/);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^inkwire_polls_total\{feed_id="\d+",feed_host="[^"]+",outcome="ok",instance="[^"]+"\} 1$/m); // every figure names its instance
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });

  it('GIVEN two processes running shard 0 and shard 1 of 2 THEN each holds its guilds, a guild\'s command is answered by its shard, and every channel gets a new post once', async () => {
    const { store, schema } = await freshStore();
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    // Two guilds on each shard ((id >> 22) % 2).
    const guilds: FakeGuild[] = [];
    while (guilds.filter((g) => shardOf(g.id, 2) === 0).length < 2 || guilds.filter((g) => shardOf(g.id, 2) === 1).length < 2) {
      const id = snowflake();
      if (guilds.filter((g) => shardOf(g.id, 2) === shardOf(id, 2)).length < 2) guilds.push({ id, name: `g${guilds.length}`, channels: [{ id: snowflake(), name: 'papers' }] });
    }
    const appId = snowflake();
    const discord = await startFakeDiscord({ token: 'shard-token', appId, guilds });
    cleanups.push(() => discord.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedStore(store, feeds.url('/feed'), guilds.map((g) => ({ platform: 'discord' as const, workspaceId: g.id, channelId: g.channels[0]!.id })));
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const bots = [0, 1].map((shard) => spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: urlWithSchema(schema), INSTANCE_ID: `shard-${shard}`, POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0',
      DISCORD_TOKEN: 'shard-token', DISCORD_APP_ID: appId, DISCORD_API_URL: discord.apiUrl, DISCORD_SHARD_IDS: String(shard), DISCORD_SHARD_COUNT: '2',
    }));
    for (const bot of bots) cleanups.push(() => void bot.child.kill('SIGKILL'));
    for (const bot of bots) await bot.waitFor(/connected to Discord/, { stream: 'stderr' });
    expect([...discord.identifiedShards].sort()).toEqual([[0, 2], [1, 2]]);
    for (const [shard, bot] of bots.entries()) expect(bot.stderr()).toMatch(new RegExp(`"guilds":2,"shards":\\[${shard}\\],"shardCount":2`));

    const onShardOne = guilds.find((g) => shardOf(g.id, 2) === 1)!;
    const answer = await discord.interact({ type: 2, guildId: onShardOne.id, channelId: onShardOne.channels[0]!.id, data: { id: snowflake(), name: 'latest', type: 1, options: [] } });
    expect(answer.callbacks).toHaveLength(1);

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !guilds.every((g) => discord.messagesIn(g.channels[0]!.id).length >= 1)) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const guild of guilds) expect(discord.messagesIn(guild.channels[0]!.id), guild.name).toHaveLength(1);
    for (const bot of bots) bot.child.kill('SIGTERM');
    expect(await Promise.all(bots.map((bot) => bot.exit()))).toEqual([0, 0]);
    expect(discord.violations).toEqual([]);
  }, 60_000);
});

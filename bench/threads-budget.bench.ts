/**
 * `npx tsx bench/threads-budget.bench.ts`: one post fanned out with thread:true to N Discord channels (default
 * 1,000: a card and a thread each, 2 × N requests) by three delivery engines on one PostgreSQL database
 * (`TEST_DATABASE_URL` or `DATABASE_URL`), each an instance with its own store and discord.js REST client,
 * paced at 49/s through the shared send budget, against the fake Discord with the global 50/s (fixed
 * window, real 429s). Reports the requests Discord saw, the slots reserved, the 429s and the rate achieved
 * as a share of Discord's 50/s. `--channels N`, `--json`.
 */
import { REST } from 'discord.js';
import { createDiscordDelivery } from '../adapters/discord/discord-delivery.ts';
import { systemClock } from '../src/clock.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import type { ChatPlatform } from '../src/platform/chat-platform.ts';
import { openPostgresStore } from '../src/storage/postgres/pg-store.ts';
import type { SendBudget } from '../src/storage/store.ts';
import { snowflake, startFakeDiscord } from '../test/fakes/discord/fake-discord.ts';
import { makeDraft } from '../test/fakes/post-drafts.ts';
import { dropSchemas, uniqueSchema } from '../test/fakes/store-backends.ts';
import { machineLine, printTable, wantsJson } from './bench-util.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const CHANNELS = arg('channels', 1000);
const INSTANCES = 3;
const GLOBAL = 50;
const RATE = 49;
const TOKEN = 'bench-token';
const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
if (!url) throw new Error('set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL database');
const progress = (line: string) => process.stderr.write(`[bench:threads-budget] ${line}\n`);

const guild = { id: snowflake(), name: 'Readers', channels: Array.from({ length: CHANNELS }, (_, i) => ({ id: snowflake(), name: `papers-${i}` })) };
const fake = await startFakeDiscord({ token: TOKEN, appId: snowflake(), guilds: [guild], globalLimit: GLOBAL, channelBucket: { limit: 5, windowMs: 5000 } });
const schema = uniqueSchema('bench_threads');
const stores = await Promise.all(Array.from({ length: INSTANCES }, () => openPostgresStore(url, { schema, poolSize: 10 })));
try {
  const [first] = stores;
  const feed = await first!.feeds.ensure('https://dailyink.substack.com/feed', new Date());
  for (const channel of guild.channels) {
    await first!.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: guild.id, channelId: channel.id, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, thread: true, createdBy: 'bench', createdAt: new Date(0) });
  }
  await first!.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe', { title: 'Mixture of Experts, Explained' })], announceKeys: new Set(['slug:moe']) });
  progress(`${CHANNELS} channels subscribed with thread:true; ${INSTANCES} engines delivering`);

  let slots = 0;
  const before = { requests: fake.counters.requests, limited: fake.counters.rateLimited, global: fake.counters.globalRateLimited };
  const engines = stores.map((store, i) => {
    const counted: SendBudget = { reserve: (bucket, rate) => (slots++, store.sendBudget!.reserve(bucket, rate)) };
    const rest = new REST({ api: fake.apiUrl, timeout: 15_000 }).setToken(TOKEN);
    const delivery = createDiscordDelivery({ rest, logger: createSilentLogger(), channelInfo: () => ({ forum: false, tags: [] }) });
    const platform: ChatPlatform = { name: 'discord', send: delivery.send, edit: delivery.edit, requestTimeoutMs: delivery.requestTimeoutMs };
    return createDeliveryEngine({
      platform, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 16, leaseMs: 60_000, maxAttempts: 5,
      retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner: `bench-${i}`, ratePerSecond: RATE, sendBudget: counted,
    });
  });
  const started = performance.now();
  await Promise.all(engines.map((engine) => engine.drain()));
  const seconds = (performance.now() - started) / 1000;
  const requests = fake.counters.requests - before.requests;
  const result = {
    machine: machineLine(),
    channels: CHANNELS,
    instances: INSTANCES,
    requests,
    slotsReserved: slots,
    threads: fake.threads.length,
    globalRateLimited: fake.counters.globalRateLimited - before.global,
    rateLimited: fake.counters.rateLimited - before.limited,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Number((requests / seconds).toFixed(1)),
    shareOfGlobalLimit: Number((requests / seconds / GLOBAL).toFixed(3)),
  };
  if (wantsJson()) console.log(JSON.stringify(result));
  else {
    console.log(result.machine);
    printTable(['channels', 'instances', 'requests at Discord', 'slots reserved', 'threads', '429 (global)', '429 (all)', 'seconds', 'requests/s', 'of 50/s'],
      [[CHANNELS, INSTANCES, requests, slots, result.threads, result.globalRateLimited, result.rateLimited, result.seconds, result.requestsPerSecond, result.shareOfGlobalLimit]]);
  }
} finally {
  await Promise.all(stores.map((s) => s.close()));
  await fake.close();
  await dropSchemas([schema]);
}

/**
 * `npm run bench:discord`: (1) one post fanned out to N channels (default 5,000) through the real
 * discord.js REST client against the fake Discord with Discord's global limit (50/s, fixed window),
 * compared with the floor (⌈N/50⌉ − 1) s + one round trip; (2) the memory of a connected client that
 * receives 1,000 guilds × 20 channels in GUILD_CREATE. `--json` prints one JSON object; `--channels N`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDiscordAdapter } from '../adapters/discord/discord-adapter.ts';
import { ALL_COMMANDS } from '../commands/index.ts';
import { createCoreFixture } from '../test/fakes/core-fixture.ts';
import { systemClock } from '../src/clock.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import { machineLine, printTable, wantsJson } from './bench-util.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const CHANNELS = arg('channels', 5000);
const GLOBAL = 50;
const TOKEN = 'bench-token';
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const progress = (line: string) => process.stderr.write(`[bench:discord] ${line}\n`);

let counter = 0n;
/** Snowflakes without importing the fake (whose schema validator would inflate this process's memory). */
const localSnowflake = () => String((BigInt(Date.now() - 1420070400000) << 22n) + ++counter);

// --- 1. memory (first, in a fresh process) with 1,000 guilds × 20 channels (the fake runs in its own process) ----------------
const memAppId = localSnowflake();
const fakeProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./discord-fake-process.ts', import.meta.url)), '1000', '20', TOKEN, memAppId], { stdio: ['ignore', 'pipe', 'inherit'] });
const bigApiUrl = await new Promise<string>((resolve) => fakeProcess.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').trim())));
const bigFixture = createCoreFixture({});
global.gc?.();
const memBefore = process.memoryUsage();
const bigAdapter = await startDiscordAdapter({
  token: TOKEN, appId: memAppId, apiUrl: bigApiUrl, commands: ALL_COMMANDS, services: bigFixture.core.commandServices,
  logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
});
global.gc?.();
const memAfter = process.memoryUsage();
const cachedGuilds = bigAdapter.client.guilds.cache.size;
const cachedChannels = bigAdapter.client.channels.cache.size;
await bigAdapter.stop();
fakeProcess.kill('SIGTERM');
await bigFixture.store.close();

// The fake Discord is loaded only now, after the memory figures were taken.
const { snowflake, startFakeDiscord } = await import('../test/fakes/discord/fake-discord.ts');

// --- 2. fan-out -----------------------------------------------------------------------------------
const guilds = Array.from({ length: Math.ceil(CHANNELS / 50) }, (_, g) => ({
  id: snowflake(), name: `g${g}`, channels: Array.from({ length: Math.min(50, CHANNELS - g * 50) }, (_, c) => ({ id: snowflake(), name: `c${c}` })),
}));
const fake = await startFakeDiscord({ token: TOKEN, appId: snowflake(), guilds, globalLimit: GLOBAL, channelBucket: { limit: 5, windowMs: 5000 } });
const fixture = createCoreFixture({ FEED_URLS: 'https://dailyink.substack.com/feed' });
const rssBefore = process.memoryUsage().rss;
const adapter = await startDiscordAdapter({
  token: TOKEN, appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices,
  logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
});
const rssConnected = process.memoryUsage().rss;
const feed = await fixture.store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
for (const guild of guilds) {
  for (const channel of guild.channels) {
    await fixture.store.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: guild.id, channelId: channel.id, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'bench', createdAt: new Date(0) });
  }
}
await fixture.store.posts.ingest({
  feedId: feed.id, at: new Date(), announceKeys: new Set(['slug:bench']),
  drafts: [{ key: 'slug:bench', guid: null, url: 'https://dailyink.substack.com/p/bench', title: 'Bench post', subtitle: 'A subtitle', author: 'A', publishedAt: new Date(), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1, readingMinutes: 1, tldr: 'x', previewOnly: false, papers: [] }],
});
// The engine paces sends evenly just under Discord's global limit, so no sliding second ever exceeds it.
const engine = createDeliveryEngine({
  platform: adapter, deliveries: fixture.store.deliveries, clock: systemClock, logger: createSilentLogger(),
  concurrency: 16, leaseMs: 600_000, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 10_000, ratePerSecond: GLOBAL - 1,
});
const rttStarted = performance.now();
await fetch(`${fake.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${TOKEN}` } });
const rttMs = performance.now() - rttStarted;
progress(`fanning out to ${CHANNELS} channels at ${GLOBAL}/s (about ${Math.ceil(CHANNELS / GLOBAL)} s)…`);
const started = performance.now();
await engine.drain();
const wallMs = performance.now() - started;
const rssAfter = process.memoryUsage().rss;
const delivered = new Set(fake.messages.map((m) => m.channelId)).size;
const duplicates = fake.messages.length - delivered;
const floorMs = (Math.ceil(CHANNELS / GLOBAL) - 1) * 1000 + rttMs;
await adapter.stop();
await fake.close();
await fixture.store.close();

const report = {
  machine: machineLine(),
  fanout: {
    channels: CHANNELS, globalLimitPerSecond: GLOBAL, wallMs: Math.round(wallMs), floorMs: Math.round(floorMs), ratio: wallMs / floorMs,
    rateLimited429: fake.counters.rateLimited, global429: fake.counters.globalRateLimited, delivered, duplicates,
    rssBeforeMb: mb(rssBefore), rssConnectedMb: mb(rssConnected), rssAfterMb: mb(rssAfter), violations: fake.violations.length,
  },
  memory: {
    guilds: cachedGuilds, channels: cachedChannels, rssBeforeMb: mb(memBefore.rss), rssAfterMb: mb(memAfter.rss),
    heapDeltaMb: mb(memAfter.heapUsed - memBefore.heapUsed), heapPerGuildKb: Math.round((memAfter.heapUsed - memBefore.heapUsed) / 1024 / Math.max(1, cachedGuilds)),
    gcAvailable: typeof global.gc === 'function',
  },
};
if (wantsJson()) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const f = report.fanout;
  console.log(`Discord — ${report.machine}\n`);
  printTable(
    ['channels', 'global limit', 'wall s', 'floor s', 'wall / floor', '429s', 'delivered', 'duplicates', 'schema violations', 'RSS before → after MB'],
    [[f.channels, `${GLOBAL}/s`, (f.wallMs / 1000).toFixed(1), (f.floorMs / 1000).toFixed(1), f.ratio.toFixed(3), f.rateLimited429, f.delivered, f.duplicates, f.violations, `${f.rssBeforeMb} → ${f.rssAfterMb}`]],
  );
  console.log(`\ntarget: wall ≤ 1.1 × floor with zero 429s — ${f.ratio <= 1.1 && f.rateLimited429 === 0 && f.duplicates === 0 && f.delivered === f.channels ? 'met' : 'NOT met'}\n`);
  const m = report.memory;
  printTable(
    ['guilds × channels', 'cached guilds', 'cached channels', 'RSS before → after ready MB', 'heap growth MB', 'heap per guild KB'],
    [[`1000 × 20`, m.guilds, m.channels, `${m.rssBeforeMb} → ${m.rssAfterMb}`, m.heapDeltaMb, m.heapPerGuildKb]],
  );
  console.log(`\ntarget: connected client < 150 MB RSS — ${m.rssAfterMb < 150 ? 'met' : 'NOT met'} (this process: the bot, its SQLite store and the benchmark; the fake Discord runs in a child process)`);
}

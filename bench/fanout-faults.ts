/**
 * The fan-out under faults, for `npm run bench:fanout`: one post to N channels through the real outbox,
 * the real delivery engine and the real platform adapter (discord.js or bolt) against the protocol fakes,
 * with 1 % of message posts answered by a lost response (accepted, then the connection drops) and 1 % by
 * HTTP 500 (not accepted). The Discord fake de-duplicates by nonce; the Slack fake de-duplicates nothing.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordAdapter } from '../adapters/discord/discord-adapter.ts';
import { startSlackAdapter } from '../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../commands/index.ts';
import { buildCore } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import type { ChatPlatform } from '../src/platform/chat-platform.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { snowflake, startFakeDiscord } from '../test/fakes/discord/fake-discord.ts';
import { startFakeSlack } from '../test/fakes/slack/fake-slack.ts';
import { seededRandom } from './bench-util.ts';

export interface FaultRunResult {
  platform: 'discord' | 'slack';
  channels: number;
  ratePerSecond: number;
  wallMs: number;
  idealMs: number;
  delivered: number;
  duplicates: number;
  missing: number;
  lostResponses: number;
  errors500: number;
  absorbed: number;
  rateLimited: number;
  violations: number;
}

/** 1 % lost responses and 1 % 500s, drawn from a seeded generator (the same faults every run). */
function faultPlan(seed: number) {
  const random = seededRandom(seed);
  return () => {
    const r = random();
    return r < 0.01 ? ('lose' as const) : r < 0.02 ? ('500' as const) : null;
  };
}

export async function runFaultFanout(platformName: 'discord' | 'slack', channels: number, rate: number): Promise<FaultRunResult> {
  const dbPath = join(tmpdir(), `inkwire-fanout-faults-${platformName}-${process.pid}.db`);
  const store = openSqliteStore(dbPath);
  const config = loadConfig({});
  const core = buildCore({ config, store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands: ALL_COMMANDS });
  const fault = faultPlan(7);
  let platform: ChatPlatform & { stop(): Promise<void> };
  let channelIds: string[];
  let workspaceId: string;
  let count: () => { perChannel: number[]; lost: number; errors500: number; absorbed: number; rateLimited: number; violations: number };
  let closeFake: () => Promise<void>;
  if (platformName === 'discord') {
    const guild = { id: snowflake(), name: 'Bench', channels: Array.from({ length: channels }, (_, i) => ({ id: snowflake(), name: `c${i}` })) };
    const fake = await startFakeDiscord({
      token: 'bench-token', appId: snowflake(), guilds: [guild], globalLimit: rate, channelBucket: { limit: 5, windowMs: 5000 },
      fault: () => fault(),
    });
    closeFake = () => fake.close();
    platform = await startDiscordAdapter({
      token: 'bench-token', appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: core.commandServices,
      logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {}, globalRequestsPerSecond: rate,
    });
    channelIds = guild.channels.map((c) => c.id);
    workspaceId = guild.id;
    count = () => ({
      perChannel: channelIds.map((id) => fake.messagesIn(id).length),
      lost: fake.counters.lostResponses, errors500: fake.counters.faults500, absorbed: fake.counters.nonceRepeats,
      rateLimited: fake.counters.rateLimited, violations: fake.violations.length,
    });
  } else {
    channelIds = Array.from({ length: channels }, (_, i) => `C${String(i).padStart(7, '0')}`);
    const fake = await startFakeSlack({
      tokens: { T1: 'xoxb-bench' }, channels: Object.fromEntries(channelIds.map((id) => [id, {}])), workspacePerSecond: rate,
      fault: () => fault(),
    });
    closeFake = () => fake.close();
    platform = await startSlackAdapter({
      signingSecret: 'bench', botToken: 'xoxb-bench', port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'everyone',
      commands: ALL_COMMANDS, services: core.commandServices, logger: createSilentLogger(),
    });
    workspaceId = 'T1';
    count = () => {
      const perChannel = new Map<string, number>();
      for (const post of fake.posts) perChannel.set(post.channel, (perChannel.get(post.channel) ?? 0) + 1);
      return {
        perChannel: channelIds.map((id) => perChannel.get(id) ?? 0),
        lost: fake.faults.lost, errors500: fake.faults.errors500, absorbed: fake.historyCalls.length,
        rateLimited: fake.counters.rateLimited, violations: fake.violations.length,
      };
    };
  }
  const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
  for (const channelId of channelIds) {
    await store.subscriptions.create({
      kind: 'channel', platform: platformName, workspaceId, channelId, feedId: feed.id, keywords: [], mode: 'instant',
      mentionId: null, createdBy: 'bench', createdAt: new Date(0),
    });
  }
  await store.posts.ingest({
    feedId: feed.id, at: new Date(), announceKeys: new Set(['slug:bench']),
    drafts: [{ key: 'slug:bench', guid: null, url: 'https://dailyink.substack.com/p/bench', title: 'Bench post', subtitle: 'A subtitle', author: 'A', publishedAt: new Date(), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1, readingMinutes: 1, tldr: 'x', previewOnly: false, papers: [] }],
  });
  const engine = createDeliveryEngine({
    platform, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 32, leaseMs: 60_000,
    maxAttempts: 10, retryBaseMs: 200, retryMaxMs: 2000, ratePerSecond: rate * 0.98, idleMs: 100,
  });
  const started = performance.now();
  engine.start();
  while ((await store.deliveries.list({ status: 'pending', limit: 1 })).length + (await store.deliveries.list({ status: 'sending', limit: 1 })).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const wallMs = performance.now() - started;
  await engine.stop();
  await platform.stop();
  const counts = count();
  await closeFake();
  await store.close();
  for (const suffix of ['', '-wal', '-shm', '.lock']) rmSync(`${dbPath}${suffix}`, { force: true });
  return {
    platform: platformName,
    channels,
    ratePerSecond: rate,
    wallMs,
    idealMs: (channels / rate) * 1000,
    delivered: counts.perChannel.filter((n) => n >= 1).length,
    duplicates: counts.perChannel.reduce((n, c) => n + Math.max(0, c - 1), 0),
    missing: counts.perChannel.filter((n) => n === 0).length,
    lostResponses: counts.lost,
    errors500: counts.errors500,
    absorbed: counts.absorbed,
    rateLimited: counts.rateLimited,
    violations: counts.violations,
  };
}

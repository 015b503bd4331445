/**
 * `npm run bench:fanout`: one new post fanned out to 10,000 subscribed channels through the real
 * outbox (SQLite file, delivery engine) and a fake platform that accepts R sends per second (a token
 * bucket; over the limit it answers "rate limited") and counts duplicates by idempotency key. Prints
 * wall time, the ideal 10,000 / R, their ratio, sends per second, 429s, duplicates and peak memory.
 * `--json` prints the same figures as one JSON object; `--channels N` and `--rate R` change the size.
 * The outbox's "send started" write (made just before each platform request, ADR 003) is timed on its own;
 * `--without-send-started` skips it (as before it existed) to compare, and `--no-faults` runs only this part.
 *
 * Then the same fan-out under faults through the real adapters and protocol fakes (see fanout-faults.ts):
 * 1 % lost responses and 1 % 500s, on the Discord fake (nonce de-duplication) and the Slack fake (none).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { machineLine, printTable, wantsJson } from './bench-util.ts';
import { createRateLimitedPlatform } from './rate-limited-platform.ts';

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const CHANNELS = arg('channels', 10_000);
const RATE = arg('rate', 1000);
const LATENCY_MS = 2;

const dbPath = join(tmpdir(), `inkwire-fanout-${process.pid}.db`);
const store = openSqliteStore(dbPath);
const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
const setupStarted = performance.now();
for (let i = 0; i < CHANNELS; i++) {
  await store.subscriptions.create({
    kind: 'channel', platform: 'console', workspaceId: `g${i % 500}`, channelId: `c${i}`, feedId: feed.id, keywords: [],
    mode: 'instant', mentionId: null, createdBy: 'bench', createdAt: new Date(0),
  });
}
const ingestStarted = performance.now();
await store.posts.ingest({
  feedId: feed.id, at: new Date(), announceKeys: new Set(['slug:bench']),
  drafts: [{ key: 'slug:bench', guid: null, url: 'https://dailyink.substack.com/p/bench', title: 'Bench post', subtitle: 'A subtitle', author: 'A', publishedAt: new Date(), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1, readingMinutes: 1, tldr: 'x', previewOnly: false, papers: [] }],
});
const ingestMs = performance.now() - ingestStarted;

const { platform, stats, unique } = createRateLimitedPlatform(RATE, LATENCY_MS);
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
// The "send started" write, timed per call (or skipped, to compare with the outbox before it).
const sendStarted = { calls: 0, totalMs: 0, maxMs: 0, samples: [] as number[] };
const deliveries = {
  ...store.deliveries,
  markSending: flag('without-send-started')
    ? async () => true
    : async (...args: Parameters<typeof store.deliveries.markSending>) => {
        const t = performance.now();
        try {
          return await store.deliveries.markSending(...args);
        } finally {
          const ms = performance.now() - t;
          sendStarted.calls++;
          sendStarted.totalMs += ms;
          sendStarted.maxMs = Math.max(sendStarted.maxMs, ms);
          sendStarted.samples.push(ms);
        }
      },
};
const engine = createDeliveryEngine({
  platform,
  deliveries,
  clock: systemClock,
  logger: createSilentLogger(),
  concurrency: 32,
  leaseMs: 60_000,
  maxAttempts: 10,
  retryBaseMs: 50,
  retryMaxMs: 1000,
  ratePerSecond: RATE,
});
const started = performance.now();
await engine.drain();
const wallMs = performance.now() - started;
clearInterval(sampler);
await store.close();
rmSync(dbPath, { force: true });
rmSync(`${dbPath}-wal`, { force: true });
rmSync(`${dbPath}-shm`, { force: true });

const idealMs = (CHANNELS / RATE) * 1000;
const report = {
  machine: machineLine(),
  channels: CHANNELS,
  ratePerSecond: RATE,
  setupMs: Math.round(ingestStarted - setupStarted),
  outboxWriteMs: Math.round(ingestMs),
  wallMs: Math.round(wallMs),
  idealMs: Math.round(idealMs),
  efficiency: idealMs / wallMs,
  sendsPerSecond: stats.accepted / (wallMs / 1000),
  delivered: unique(),
  duplicates: stats.duplicates,
  rateLimited: stats.rateLimited,
  peakRssMb: Math.round(peakRss / 2 ** 20),
  sendStartedWrites: sendStarted.calls,
  sendStartedMeanMs: sendStarted.calls ? sendStarted.totalMs / sendStarted.calls : 0,
  sendStartedP99Ms: sendStarted.samples.sort((a, b) => a - b)[Math.floor(sendStarted.samples.length * 0.99)] ?? 0,
  sendStartedTotalMs: Math.round(sendStarted.totalMs),
};
// Loaded only now, so the first run's memory figure does not include discord.js and bolt.
const { runFaultFanout } = await import('./fanout-faults.ts');
const faults = [];
if (!flag('no-faults')) for (const platform of ['discord', 'slack'] as const) faults.push(await runFaultFanout(platform, CHANNELS, RATE));

if (wantsJson()) {
  console.log(JSON.stringify({ ...report, faults }, null, 2));
} else {
  console.log(`Fan-out — ${report.machine}; ${CHANNELS} channels at R = ${RATE}/s\n`);
  printTable(
    ['channels', 'R (/s)', 'wall s', 'ideal s', 'ideal / wall', 'sends/s', 'delivered', 'duplicates', '429s', 'peak RSS MB', 'outbox write ms'],
    [[CHANNELS, RATE, (wallMs / 1000).toFixed(2), (idealMs / 1000).toFixed(2), `${(report.efficiency * 100).toFixed(1)}%`, report.sendsPerSecond.toFixed(0), report.delivered, report.duplicates, report.rateLimited, report.peakRssMb, report.outboxWriteMs]],
  );
  console.log(`\ntarget: ≥ 90% of R with 0 duplicates — ${report.efficiency >= 0.9 && report.duplicates === 0 && report.delivered === CHANNELS ? 'met' : 'NOT met'}`);
  console.log(
    flag('without-send-started')
      ? '\n"send started" writes: skipped (--without-send-started)'
      : `\n"send started" writes: ${report.sendStartedWrites}, mean ${report.sendStartedMeanMs.toFixed(3)} ms, p99 ${report.sendStartedP99Ms.toFixed(3)} ms, max ${sendStarted.maxMs.toFixed(1)} ms, ${report.sendStartedTotalMs} ms in all`,
  );
  if (flag('no-faults')) process.exit(0);
  console.log(`\nUnder faults (real adapter → protocol fake; 1% of posts lose their answer, 1% get HTTP 500):\n`);
  printTable(
    ['platform fake', 'channels', 'wall s', 'ideal s', 'ideal / wall', 'lost answers', '500s', 'repeats absorbed', 'delivered', 'duplicates', 'missing', '429s', 'violations'],
    faults.map((f) => [
      f.platform === 'discord' ? 'Discord (nonce)' : 'Slack (no key)', f.channels, (f.wallMs / 1000).toFixed(2), (f.idealMs / 1000).toFixed(2),
      `${((f.idealMs / f.wallMs) * 100).toFixed(1)}%`, f.lostResponses, f.errors500,
      `${f.absorbed} ${f.platform === 'discord' ? 'nonce repeats' : 'history look-ups'}`, f.delivered, f.duplicates, f.missing, f.rateLimited, f.violations,
    ]),
  );
  const ok = faults.every((f) => f.duplicates === 0 && f.missing === 0);
  console.log(`\ntarget: every channel once on both fakes (0 duplicates on the Slack fake) — ${ok ? 'met' : 'NOT met'}`);
}

/**
 * `npm run bench:outbox`: the outbox when most of it is blocked. 1,000 channels × 100 pending posts =
 * 100,000 rows, every channel's head waiting for a retry an hour away. Measures an empty claim (nothing
 * due), `nextDueAt`, a claim with 32 due heads among the blocked rows, and the CPU an idle engine uses over
 * 10 s — against the targets (an empty claim ≤ 2 ms, idle CPU < 2 %), as ratios. `--json` for one object.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import type { PostDraft } from '../src/posts/post.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { fmt, machineLine, printTable, summarise, wantsJson } from './bench-util.ts';

const CHANNELS = 1000;
const POSTS = 100;
const IDLE_SECONDS = 10;

const dbPath = join(tmpdir(), `inkwire-outbox-${process.pid}.db`);
const store = openSqliteStore(dbPath);
const feed = await store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
for (let i = 0; i < CHANNELS; i++) {
  await store.subscriptions.create({
    kind: 'channel', platform: 'console', workspaceId: 'ws', channelId: `c${i}`, feedId: feed.id, keywords: [], mode: 'instant',
    mentionId: null, createdBy: 'bench', createdAt: new Date(0),
  });
}
const setupStarted = performance.now();
const drafts: PostDraft[] = Array.from({ length: POSTS }, (_, i) => ({
  key: `slug:p${i}`, guid: null, url: `https://dailyink.substack.com/p/p${i}`, title: `Post ${i}`, subtitle: null, author: 'A',
  publishedAt: new Date(Date.UTC(2024, 0, 1) + i * 3600_000), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1,
  readingMinutes: 1, tldr: null, previewOnly: false, papers: [],
}));
await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts, announceKeys: new Set(drafts.map((d) => d.key)) });
const outboxMs = performance.now() - setupStarted;

// Every channel's head fails once and waits an hour: the other 99 rows per channel are blocked behind it.
const now = new Date();
const inAnHour = new Date(now.getTime() + 3600_000);
for (;;) {
  const heads = await store.deliveries.claimDue({ now, limit: 500, leaseMs: 60_000, owner: 'bench', platform: 'console' });
  if (heads.length === 0) break;
  for (const head of heads) await store.deliveries.retryLater(head, { error: '503', nextAttemptAt: inAnHour });
}
const rows = (store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;

const time = async (n: number, work: () => Promise<unknown>) => {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return summarise(samples);
};
const emptyClaim = await time(2000, () => store.deliveries.claimDue({ now, limit: 64, leaseMs: 60_000, owner: 'bench', platform: 'console' }));
const nextDue = await time(2000, () => store.deliveries.nextDueAt('console'));

// 32 channels become due again (their retry time passes): a claim finds exactly those among the blocked rows.
store.db.prepare(`UPDATE deliveries SET next_attempt_at = ? WHERE id IN (SELECT head_id FROM delivery_queues ORDER BY destination_key LIMIT 32)`).run(now.getTime() - 1);
const dueClaim = summarise([await (async () => {
  const started = performance.now();
  const claimed = await store.deliveries.claimDue({ now, limit: 64, leaseMs: 60_000, owner: 'bench', platform: 'console' });
  if (claimed.length !== 32) throw new Error(`expected 32 due heads, claimed ${claimed.length}`);
  for (const c of claimed) await store.deliveries.retryLater(c, { error: '503', nextAttemptAt: inAnHour });
  return performance.now() - started;
})()]);

// An idle engine over the blocked outbox: it should sleep until the next due time, not poll.
const engine = createDeliveryEngine({
  platform: { name: 'console', send: async () => ({ messageId: 'never' }) },
  deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 8, leaseMs: 60_000,
  maxAttempts: 10, retryBaseMs: 1000, retryMaxMs: 60_000,
});
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
engine.start();
await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
await engine.stop();
const cpu = process.cpuUsage(cpuBefore);
const idleCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100;

await store.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });

const report = {
  machine: machineLine(),
  rows,
  channels: CHANNELS,
  outboxWriteMs: Math.round(outboxMs),
  emptyClaimMs: emptyClaim,
  nextDueAtMs: nextDue,
  claimOf32DueMs: dueClaim.p50,
  idleCpuPercent,
  targets: { emptyClaimP99Ms: 2, idleCpuPercent: 2 },
};
if (wantsJson()) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`Outbox blocked behind retries — ${report.machine}; ${rows} rows, ${CHANNELS} channels, every head retrying in 1 h\n`);
  printTable(
    ['measure', 'p50 ms', 'p99 ms', 'target', 'p99 / target'],
    [
      ['empty claim (nothing due)', fmt(emptyClaim.p50), fmt(emptyClaim.p99), '≤ 2 ms', (emptyClaim.p99 / 2).toFixed(3)],
      ['next due time', fmt(nextDue.p50), fmt(nextDue.p99), '—', '—'],
      ['claim + retry of 32 due heads', fmt(dueClaim.p50), fmt(dueClaim.p50), '—', '—'],
    ],
  );
  console.log('');
  printTable(['idle engine', 'CPU over 10 s', 'target', 'ratio'], [['over the blocked outbox', `${idleCpuPercent.toFixed(2)} %`, '< 2 %', (idleCpuPercent / 2).toFixed(3)]]);
  console.log(`\noutbox write for ${rows} rows (100 posts × 1,000 channels, with the queue triggers): ${report.outboxWriteMs} ms`);
}

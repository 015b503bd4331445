/**
 * `npm run bench:slack`: one post to N channels (default 2,000) through the real @slack/bolt WebClient
 * against the fake Slack's per-channel limit (about 1/s) and a workspace-wide limit W (default 200/s, a
 * sliding second). Prints wall time against the ideal N / W, the ratio, 429s and duplicates.
 * `--json` prints one JSON object; `--channels N` and `--workspace-rate W` change the sizes.
 */
import { startSlackAdapter } from '../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../commands/index.ts';
import { systemClock } from '../src/clock.ts';
import { createDeliveryEngine } from '../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../src/logger.ts';
import { createCoreFixture } from '../test/fakes/core-fixture.ts';
import { startFakeSlack } from '../test/fakes/slack/fake-slack.ts';
import { machineLine, printTable, wantsJson } from './bench-util.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const CHANNELS = arg('channels', 2000);
const WORKSPACE_RATE = arg('workspace-rate', 200);
const TOKEN = 'xoxb-bench';

const channelIds = Array.from({ length: CHANNELS }, (_, i) => `C${String(i).padStart(8, '0')}`);
const fake = await startFakeSlack({ tokens: { T1: TOKEN }, channels: Object.fromEntries(channelIds.map((id) => [id, {}])), perChannelPerSecond: 1, workspacePerSecond: WORKSPACE_RATE });
const fixture = createCoreFixture({ FEED_URLS: 'https://dailyink.substack.com/feed' });
const adapter = await startSlackAdapter({
  signingSecret: 'bench', botToken: TOKEN, port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'admins',
  commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
});
const feed = await fixture.store.feeds.ensure('https://dailyink.substack.com/feed', new Date());
for (const channelId of channelIds) {
  await fixture.store.subscriptions.create({ kind: 'channel', platform: 'slack', workspaceId: 'T1', channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'bench', createdAt: new Date(0) });
}
await fixture.store.posts.ingest({
  feedId: feed.id, at: new Date(), announceKeys: new Set(['slug:bench']),
  drafts: [{ key: 'slug:bench', guid: null, url: 'https://dailyink.substack.com/p/bench', title: 'Bench post', subtitle: 'A subtitle', author: 'A', publishedAt: new Date(), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1, readingMinutes: 1, tldr: 'x', previewOnly: false, papers: [] }],
});
// Paced just under the workspace-wide limit; each channel gets one message, so per-channel pacing never waits.
const engine = createDeliveryEngine({
  platform: adapter, deliveries: fixture.store.deliveries, clock: systemClock, logger: createSilentLogger(),
  concurrency: 32, leaseMs: 600_000, maxAttempts: 10, retryBaseMs: 200, retryMaxMs: 2000, ratePerSecond: Math.floor(WORKSPACE_RATE * 0.975),
});
const started = performance.now();
await engine.drain();
const wallMs = performance.now() - started;
const delivered = new Set(fake.posts.map((p) => p.channel)).size;
const duplicates = fake.posts.length - delivered;
await adapter.stop();
await fake.close();
await fixture.store.close();

const idealMs = (CHANNELS / WORKSPACE_RATE) * 1000;
const report = {
  machine: machineLine(), channels: CHANNELS, workspaceRatePerSecond: WORKSPACE_RATE, wallMs: Math.round(wallMs), idealMs: Math.round(idealMs),
  efficiency: idealMs / wallMs, rateLimited429: fake.counters.rateLimited, delivered, duplicates, violations: fake.violations.length,
};
if (wantsJson()) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`Slack — ${report.machine}\n`);
  printTable(
    ['channels', 'workspace limit', 'wall s', 'ideal s', 'ideal / wall', '429s', 'delivered', 'duplicates', 'block violations'],
    [[CHANNELS, `${WORKSPACE_RATE}/s`, (wallMs / 1000).toFixed(2), (idealMs / 1000).toFixed(2), `${(report.efficiency * 100).toFixed(1)}%`, report.rateLimited429, delivered, duplicates, report.violations]],
  );
  console.log(`\ntarget: ≥ 90% of the ideal with 0 duplicates — ${report.efficiency >= 0.9 && duplicates === 0 && delivered === CHANNELS ? 'met' : 'NOT met'}`);
}

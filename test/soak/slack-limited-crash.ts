// `npm run soak:slack-limited [-- --scale 0.05] [-- --channels 8] [-- --runs 1]`: an OAuth (distributed,
// non-Marketplace) install of the real `inkwire start` in one workspace the fake Slack holds to the limited
// history tier (1 call a minute, 15 a page, 429 + Retry-After). The bot is SIGKILLed with a send in flight in
// every channel (half of them landed, half still held by Slack, never to land), then restarted; prints the
// history calls, 429s, calls inside a Retry-After, the time until every delivery is resolved (in real and
// in Slack minutes: fake and bot run on the same `--scale`), duplicates and missing posts.
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const scale = arg('scale', 0.05);
const channels = arg('channels', 8);
const runs = arg('runs', 1);

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function runOnce() {
  const dir = makeTempDir('inkwire-limited-');
  const feeds = await startFeedServer();
  const channelIds = Array.from({ length: channels }, (_, i) => `C${String(i).padStart(6, '0')}`);
  let inFlight = 0;
  const fake = await startFakeSlack({
    tokens: { T1: 'xoxb-limited' }, channels: Object.fromEntries(channelIds.map((id) => [id, {}])), limitedHistoryTeams: ['T1'], timeScale: scale,
    // The first bot's sends: every other one lands unanswered (hang), the rest are held and never land.
    fault: ({ count }) => (count > channels ? null : (inFlight++, count % 2 === 1 ? 'hang' : 'hold')),
  });
  const first: { proc: ReturnType<typeof spawnInkwire> | null } = { proc: null };
  try {
    const dbPath = dir.file('inkwire.db');
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedFeed(dbPath, feeds.url('/feed'), channelIds.map((channelId) => ({ platform: 'slack' as const, workspaceId: 'T1', channelId })));
    const seed = openSqliteStore(dbPath);
    await seed.installations.save('slack', 'T1', JSON.stringify({ team: { id: 'T1' }, bot: { token: 'xoxb-limited' } }), new Date());
    await seed.close();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const env = {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dbPath, POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0',
      DELIVERY_LEASE_SECONDS: '2', DELIVERY_RETRY_BASE_SECONDS: '1', DELIVERY_CONCURRENCY: String(channels), LOG_LEVEL: 'info',
      SLACK_CLIENT_ID: 'cid', SLACK_CLIENT_SECRET: 'csecret', SLACK_STATE_SECRET: 'state', SLACK_SIGNING_SECRET: 'signing',
      SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0', SLACK_TIME_SCALE: String(scale),
    };
    first.proc = spawnInkwire(['start'], env);
    await until(() => inFlight === channels, `${channels} sends in flight`, 30_000);
    first.proc.child.kill('SIGKILL');
    await first.proc.exit();
    const landed = fake.posts.length;
    const callsBefore = fake.historyCalls.length;
    const restarted = Date.now();
    const second = spawnInkwire(['start'], env);
    const watch = openSqliteStore(dbPath);
    let failed = 0;
    try {
      // Settled: sent, or (as the code before issue 18 could) given up as failed.
      await until(async () => {
        const sent = (await watch.deliveries.list({ status: 'sent', limit: channels + 1 })).length;
        failed = (await watch.deliveries.list({ status: 'failed', limit: channels + 1 })).length;
        return sent + failed === channels;
      }, 'every delivery settled', 30 * 60_000 * scale + 60_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${second.stderr().slice(-3000)}`);
    } finally {
      await watch.close();
    }
    const resolvedMs = Date.now() - restarted;
    second.child.kill('SIGTERM');
    await second.exit();
    const perChannel = channelIds.map((c) => fake.postsIn(c).length);
    const calls = fake.historyCalls.slice(callsBefore);
    return {
      'in flight at kill': channels,
      landed,
      'history calls': calls.length,
      '429s': fake.counters.history429,
      'calls in Retry-After': fake.counters.historyDuringRetryAfter,
      'resolved s (real)': (resolvedMs / 1000).toFixed(1),
      'resolved (Slack min)': (resolvedMs / (60_000 * scale)).toFixed(1),
      'recorded failed': failed,
      duplicates: perChannel.reduce((n, c) => n + Math.max(0, c - 1), 0),
      missing: perChannel.filter((c) => c === 0).length,
    };
  } finally {
    first.proc?.child.kill('SIGKILL');
    await fake.close();
    await feeds.close();
    dir.remove();
  }
}

const rows = [];
for (let i = 0; i < runs; i++) rows.push(await runOnce());
process.stdout.write(`Slack limited tier, OAuth install, one workspace, SIGKILL with ${channels} sends in flight; time scale ${scale} (a Slack minute = ${(60 * scale).toFixed(1)} s)\n`);
console.table(rows);
process.exit(rows.every((r) => r.duplicates === 0 && r.missing === 0 && r['429s'] === 0 && r['recorded failed'] === 0) ? 0 : 1);

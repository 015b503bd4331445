import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { spawnInkwire, type CliProcess } from '../fakes/cli-process.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('SIGTERM during a fan-out', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  /** A bot whose every Slack post hangs (accepted, never answered), mid-fan-out to 3 channels. */
  async function hungFanOut(name: string, shutdownSeconds: string): Promise<{ bot: CliProcess; slack: FakeSlack; db: string }> {
    const feeds: FeedServer = await startFeedServer();
    const slack = await startFakeSlack({ tokens: { T1: 'xoxb-shutdown' }, channels: { C1: {}, C2: {}, C3: {} }, fault: () => 'hang' });
    cleanups.push(() => feeds.close(), () => slack.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const db = dir.file(`${name}.db`);
    await seedSubscribedFeed(db, feeds.url('/feed'), ['C1', 'C2', 'C3'].map((channelId) => ({ platform: 'slack' as const, workspaceId: 'T1', channelId })));
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: shutdownSeconds,
      SLACK_BOT_TOKEN: 'xoxb-shutdown', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0',
    });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    const deadline = Date.now() + 20_000;
    while (slack.faults.hung < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(slack.faults.hung).toBeGreaterThanOrEqual(1);
    return { bot, slack, db };
  }

  it('GIVEN sends hanging on the wire THEN SIGTERM exits 0 when SHUTDOWN_TIMEOUT_SECONDS runs out and every claim is handed back as "maybe sent"', async () => {
    const { bot, db } = await hungFanOut('graceful', '1');
    const started = Date.now();
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    // The mechanism: the shutdown timeout ended the wait for the hung sends (they never answer).
    expect(bot.stderr()).toMatch(/shutdown timeout: sends still in flight/);
    // A platform's bound: `docker stop` sends SIGKILL 10 s after SIGTERM. The bot's own share is the 1 s timeout
    // plus closing up, so this passes at 5× slower.
    expect(Date.now() - started).toBeLessThan(10_000);
    const store = openSqliteStore(db);
    const rows = await store.deliveries.list({ limit: 10 });
    expect(rows).toHaveLength(3);
    expect(rows.filter((r) => r.status === 'sending')).toEqual([]); // nothing left claimed
    expect(rows.some((r) => r.status === 'pending' && /outcome unknown/.test(r.lastError ?? ''))).toBe(true);
    await store.close();
  });

  it('GIVEN a second SIGTERM while stopping THEN the process exits at once', async () => {
    const { bot } = await hungFanOut('impatient', '60');
    bot.child.kill('SIGTERM');
    await bot.waitFor(/shutting down/, { stream: 'stderr' });
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(1);
    expect(bot.stderr()).toContain('SIGTERM again: exiting now');
    // It exited on the second signal, not when the 60 s shutdown timeout ran out.
    expect(bot.stderr()).not.toMatch(/shutdown timeout/);
  });
});

// Kills the real `inkwire start` with SIGKILL at a random point of poll → ingest → claim → send → record,
// restarts it, and counts what every channel received on a platform fake: the Discord fake, which
// de-duplicates by nonce, and the Slack fake, which (like Slack) de-duplicates nothing.
import { seededRandom } from '../../bench/bench-util.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { spawnInkwire, type CliProcess } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

export { seededRandom };

export type CrashPhase = 'poll' | 'ingest' | 'send' | 'record';
export const CRASH_PHASES: readonly CrashPhase[] = ['poll', 'ingest', 'send', 'record'];

export interface CrashIteration {
  platform: 'discord' | 'slack';
  phase: CrashPhase;
  /** For send/record: after which message the process dies. */
  afterMessage: number;
  killed: boolean;
  /** Messages each channel received, in channel order. */
  perChannel: number[];
  /** Messages beyond one per channel (0 when exactly once held). */
  repeats: number;
  /** Re-sends the platform absorbed (Discord: a repeated nonce) or Inkwire avoided (Slack: history look-ups). */
  absorbed: number;
  ms: number;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * One iteration: a feed seen before (stored silently), a new post, `channels` subscribed channels on the
 * platform fake; the first bot process is killed at `phase`, a second one finishes the work.
 */
export async function runCrashIteration(options: {
  platform: 'discord' | 'slack';
  channels: number;
  random: () => number;
  phase?: CrashPhase;
}): Promise<CrashIteration> {
  const started = Date.now();
  const random = options.random;
  const phase = options.phase ?? CRASH_PHASES[Math.floor(random() * CRASH_PHASES.length)]!;
  const afterMessage = 1 + Math.floor(random() * options.channels);
  const dir = makeTempDir('inkwire-crash-');
  const feeds = await startFeedServer();
  let first: CliProcess | null = null;
  let killed = false;
  const kill = () => {
    if (first && !killed) {
      killed = true;
      first.child.kill('SIGKILL');
    }
  };
  const cleanups: Array<() => Promise<void> | void> = [() => feeds.close(), () => dir.remove()];
  try {
    // The platform fake, with a hook that kills the bot right after a message was accepted.
    const onPosted = (count: number) => {
      if (phase === 'send' && count === afterMessage) kill(); // accepted; the answer may or may not arrive
      if (phase === 'record' && count === afterMessage) setTimeout(kill, Math.floor(random() * 30)); // answered, maybe recorded
    };
    let channelIds: string[];
    let workspaceId: string;
    let platformEnv: Record<string, string>;
    let messagesIn: (channel: string) => number;
    let absorbed: () => number;
    if (options.platform === 'discord') {
      const guild = { id: snowflake(), name: 'Readers', channels: Array.from({ length: options.channels }, (_, i) => ({ id: snowflake(), name: `c${i}` })) };
      const appId = snowflake();
      const fake = await startFakeDiscord({ token: 'crash-test-token', appId, guilds: [guild], onPosted: ({ count }) => onPosted(count) });
      cleanups.unshift(() => fake.close());
      channelIds = guild.channels.map((c) => c.id);
      workspaceId = guild.id;
      platformEnv = { DISCORD_TOKEN: 'crash-test-token', DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl };
      messagesIn = (channel) => fake.messagesIn(channel).length;
      absorbed = () => fake.counters.nonceRepeats;
    } else {
      channelIds = Array.from({ length: options.channels }, (_, i) => `C${String(i).padStart(6, '0')}`);
      const fake = await startFakeSlack({
        tokens: { T1: 'xoxb-crash' }, channels: Object.fromEntries(channelIds.map((id) => [id, {}])), perChannelPerSecond: 100,
        onPosted: ({ count }) => onPosted(count),
      });
      cleanups.unshift(() => fake.close());
      workspaceId = 'T1';
      platformEnv = { SLACK_BOT_TOKEN: 'xoxb-crash', SLACK_SIGNING_SECRET: 'crash-secret', SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0' };
      messagesIn = (channel) => fake.postsIn(channel).length;
      absorbed = () => fake.historyCalls.length;
    }

    // Before: the feed was seen once (its items stored as already seen), and every channel subscribed.
    const dbPath = dir.file('inkwire.db');
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    await seedSubscribedFeed(dbPath, feeds.url('/feed'), channelIds.map((channelId) => ({ platform: options.platform, workspaceId, channelId })));

    // Then: one new post. The feed server can kill the bot while it fetches (phase poll) or just after
    // the answer (phase ingest: the transaction that stores the post and its outbox rows).
    const v2 = fixture('dailyink-feed-v2.xml');
    feeds.route('/feed', (_req, res) => {
      if (phase === 'poll' && !killed && first) {
        kill();
        res.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(v2);
      if (phase === 'ingest' && !killed && first) setTimeout(kill, Math.floor(random() * 40));
    });
    const env = {
      FEED_URLS: feeds.url('/feed'),
      DATABASE_URL: dbPath,
      POLL_CRON: '* * * * * *',
      POLL_JITTER_SECONDS: '0',
      DELIVERY_LEASE_SECONDS: '2',
      DELIVERY_RETRY_BASE_SECONDS: '1',
      LOG_LEVEL: 'info',
      ...platformEnv,
    };
    first = spawnInkwire(['start'], env);
    cleanups.unshift(() => void first?.child.kill('SIGKILL'));
    const firstExit = first.exit();
    await Promise.race([firstExit, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (!killed) {
      // Every message went out before the chosen kill point (a fast run): kill now, mid-bookkeeping at worst.
      kill();
    }
    await firstExit;

    const second = spawnInkwire(['start'], env);
    cleanups.unshift(() => void second.child.kill('SIGKILL'));
    const watch = openSqliteStore(dbPath);
    try {
      await until(async () => (await watch.deliveries.list({ status: 'sent', limit: options.channels + 10 })).length === options.channels, 'every delivery recorded as sent', 30_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- bot stderr ---\n${second.stderr().slice(-4000)}`);
    } finally {
      await watch.close();
    }
    // Stop it the way an operator would, once it is up (a signal before then is not a clean stop).
    await second.waitFor(/Inkwire started/, { stream: 'stderr', timeoutMs: 20_000 });
    second.child.kill('SIGTERM');
    const code = await second.exit();
    if (code !== 0) throw new Error(`the second bot exited ${code}\n${second.stderr().slice(-4000)}`);

    const perChannel = channelIds.map(messagesIn);
    return {
      platform: options.platform, phase, afterMessage, killed, perChannel,
      repeats: perChannel.reduce((n, count) => n + Math.max(0, count - 1), 0), absorbed: absorbed(), ms: Date.now() - started,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

// Kills the real `inkwire start` with SIGKILL at a random point of poll → ingest → claim → send → record,
// restarts it, and counts what every channel received on a platform fake: the Discord fake, which
// de-duplicates by nonce, and the Slack fake, which (like Slack) de-duplicates nothing.
// With `threads`: on Discord every other channel is a forum (a delivery is one forum post) and the rest are
// subscribed with thread:true (one card and one thread started on it) — thread creation takes no nonce, so
// nothing on Discord absorbs a repeat; on Slack every channel is subscribed with thread:true (one card and
// one thread reply) and the workspace is an OAuth install on the limited history tier, on a scaled minute.
import { seededRandom } from '../../bench/bench-util.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Destination } from '../../src/platform/chat-platform.ts';
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
  /** Messages each channel received, in channel order (a forum: its posts; Slack: top-level cards). */
  perChannel: number[];
  /**
   * With `threads`, per channel: the threads started on its cards (Discord thread:true), or the thread
   * replies under them (Slack); null where none is expected (a forum post is its own thread, no threads run).
   */
  perChannelThreads: Array<number | null>;
  /** What each channel is: a text channel, a forum, a text channel with thread:true, a Slack channel. */
  kinds: ChannelKind[];
  /** Messages, posts, threads and replies beyond one per delivery (0 when exactly once held). */
  repeats: number;
  /** Deliveries missing their card, forum post, thread or thread reply. */
  lost: number;
  /** Re-sends the platform absorbed (Discord: a repeated nonce) or Inkwire avoided (Slack: history look-ups). */
  absorbed: number;
  /** Discord: thread starts refused with 160004 (already started); Slack: 0. */
  threadRepeats: number;
  /** Discord: active-thread look-ups (uncertain forum posts); Slack: history or replies look-ups. */
  lookups: number;
  /** Slack: history look-ups answered 429, and made inside a Retry-After (both should be 0). */
  history429: number;
  historyInRetryAfter: number;
  ms: number;
}

export type ChannelKind = 'text' | 'forum' | 'text+thread' | 'slack' | 'slack+thread';

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
  /** Forum channels and thread:true on Discord; thread:true, OAuth install, limited history tier on Slack. */
  threads?: boolean;
  /** Slack's time scale for the fake and the bot (SLACK_TIME_SCALE), with `threads`. Default 0.05. */
  slackTimeScale?: number;
}): Promise<CrashIteration> {
  const threads = options.threads ?? false;
  const scale = options.slackTimeScale ?? 0.05;
  const started = Date.now();
  const random = options.random;
  const phase = options.phase ?? CRASH_PHASES[Math.floor(random() * CRASH_PHASES.length)]!;
  // Every request that makes something on the platform (a card, a forum post, a thread, a reply) counts.
  const perDelivery = (i: number) => (!threads ? 1 : options.platform === 'discord' && i % 2 === 0 ? 1 : 2);
  const expected = Array.from({ length: options.channels }, (_, i) => perDelivery(i)).reduce((a, b) => a + b, 0);
  const afterMessage = 1 + Math.floor(random() * expected);
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
    let kinds: ChannelKind[];
    let messagesIn: (channel: string) => number;
    let threadsIn: (channel: string) => number;
    let counters: () => Pick<CrashIteration, 'absorbed' | 'threadRepeats' | 'lookups' | 'history429' | 'historyInRetryAfter'>;
    let installSlack = false;
    if (options.platform === 'discord') {
      kinds = Array.from({ length: options.channels }, (_, i) => (!threads ? 'text' : i % 2 === 0 ? 'forum' : 'text+thread'));
      const guild = { id: snowflake(), name: 'Readers', channels: kinds.map((kind, i) => ({ id: snowflake(), name: `c${i}`, ...(kind === 'forum' ? { type: 15 as const } : {}) })) };
      const appId = snowflake();
      // Messages and thread creations share one count of things made; the thread hook answers normally.
      let made = 0;
      const fake = await startFakeDiscord({
        token: 'crash-test-token', appId, guilds: [guild],
        onPosted: () => onPosted(++made),
        threadFault: () => (onPosted(++made), null),
      });
      cleanups.unshift(() => fake.close());
      channelIds = guild.channels.map((c) => c.id);
      workspaceId = guild.id;
      platformEnv = { DISCORD_TOKEN: 'crash-test-token', DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl };
      // A forum's delivery is a post (a thread with its starter message); a text channel's, a message.
      messagesIn = (channel) => (kinds[channelIds.indexOf(channel)] === 'forum'
        ? fake.threads.filter((t) => t.parentId === channel && t.fromMessageId === null).length
        : fake.messagesIn(channel).length);
      threadsIn = (channel) => fake.threads.filter((t) => t.parentId === channel && t.fromMessageId !== null).length;
      counters = () => ({
        absorbed: fake.counters.nonceRepeats + fake.counters.threadRepeats, threadRepeats: fake.counters.threadRepeats,
        lookups: fake.counters.activeThreadLookups, history429: 0, historyInRetryAfter: 0,
      });
    } else {
      channelIds = Array.from({ length: options.channels }, (_, i) => `C${String(i).padStart(6, '0')}`);
      kinds = channelIds.map(() => (threads ? 'slack+thread' : 'slack'));
      const fake = await startFakeSlack({
        tokens: { T1: 'xoxb-crash' }, channels: Object.fromEntries(channelIds.map((id) => [id, {}])), perChannelPerSecond: 100,
        onPosted: ({ count }) => onPosted(count),
        ...(threads ? { limitedHistoryTeams: ['T1'], timeScale: scale } : {}),
      });
      cleanups.unshift(() => fake.close());
      workspaceId = 'T1';
      installSlack = threads;
      platformEnv = threads
        // An OAuth (distributed, non-Marketplace) install: the token comes from the store, not the env.
        ? { SLACK_CLIENT_ID: 'cid', SLACK_CLIENT_SECRET: 'csecret', SLACK_STATE_SECRET: 'state', SLACK_SIGNING_SECRET: 'crash-secret', SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0', SLACK_TIME_SCALE: String(scale) }
        : { SLACK_BOT_TOKEN: 'xoxb-crash', SLACK_SIGNING_SECRET: 'crash-secret', SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0' };
      messagesIn = (channel) => fake.postsIn(channel).filter((p) => p.threadTs === undefined).length;
      threadsIn = (channel) => fake.postsIn(channel).filter((p) => p.threadTs !== undefined).length;
      counters = () => ({
        absorbed: fake.historyCalls.length, threadRepeats: 0, lookups: fake.historyCalls.length,
        history429: fake.counters.history429, historyInRetryAfter: fake.counters.historyDuringRetryAfter,
      });
    }

    // Before: the feed was seen once (its items stored as already seen), and every channel subscribed.
    const dbPath = dir.file('inkwire.db');
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    if (!threads) {
      await seedSubscribedFeed(dbPath, feeds.url('/feed'), channelIds.map((channelId) => ({ platform: options.platform, workspaceId, channelId })));
    } else {
      await seedThreadedSubscriptions(dbPath, feeds.url('/feed'), options.platform, workspaceId, channelIds, kinds);
      if (installSlack) {
        const seeded = openSqliteStore(dbPath);
        await seeded.installations.save('slack', workspaceId, JSON.stringify({ team: { id: workspaceId }, bot: { token: 'xoxb-crash' } }), new Date());
        await seeded.close();
      }
    }

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
      ...(threads ? { DELIVERY_CONCURRENCY: String(Math.min(options.channels, 8)) } : {}),
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
      // On Slack's limited tier each uncertain card or reply may wait for the workspace's history minute.
      const settleMs = 30_000 + (installSlack ? 2 * options.channels * 60_000 * scale : 0);
      await until(async () => (await watch.deliveries.list({ status: 'sent', limit: options.channels + 10 })).length === options.channels, 'every delivery recorded as sent', settleMs);
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
    const perChannelThreads = channelIds.map((channel, i) => (kinds[i] === 'text+thread' || kinds[i] === 'slack+thread' ? threadsIn(channel) : null));
    const over = (n: number | null) => (n === null ? 0 : Math.max(0, n - 1));
    return {
      platform: options.platform, phase, afterMessage, killed, perChannel, perChannelThreads, kinds,
      repeats: perChannel.reduce((n, count, i) => n + over(count) + over(perChannelThreads[i]!), 0),
      lost: perChannel.filter((count, i) => count === 0 || perChannelThreads[i] === 0).length,
      ...counters(), ms: Date.now() - started,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

/**
 * The threaded soak's starting database: the feed polled once, then every channel subscribed as a user
 * would (thread:true on text channels; a forum takes its posts as threads of their own).
 */
async function seedThreadedSubscriptions(dbPath: string, feedUrl: string, platform: Destination['platform'], workspaceId: string, channelIds: readonly string[], kinds: readonly ChannelKind[]): Promise<void> {
  await seedSubscribedFeed(dbPath, feedUrl, []);
  const store = openSqliteStore(dbPath);
  try {
    const feed = (await store.feeds.get(feedUrl))!;
    for (const [i, channelId] of channelIds.entries()) {
      await store.subscriptions.create({
        kind: 'channel', platform, workspaceId, channelId, feedId: feed.id, keywords: [], mode: 'instant',
        mentionId: null, createdBy: 'test', createdAt: new Date(0), thread: kinds[i] === 'text+thread' || kinds[i] === 'slack+thread',
      });
    }
  } finally {
    await store.close();
  }
}

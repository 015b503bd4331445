import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { runInkwire, spawnInkwire, type CliProcess } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { startOutageProxy } from '../fakes/outage-proxy.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const DISCORD_TOKEN = 'MTIz.platform-down-token.do-not-log-me';
const SLACK_TOKEN = 'xoxb-platform-down-token';
/** Fast retries, so a test waits on states, not on the 1 s → 60 s production schedule. */
const FAST_RETRY = { PLATFORM_RETRY_BASE_MS: '50', PLATFORM_RETRY_MAX_SECONDS: '1' };
const STACK_LINE = /\n\s+at .+:\d+:\d+/;

async function until(what: string, check: () => boolean | Promise<boolean>, bot?: CliProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline || (bot !== undefined && bot.child.exitCode !== null)) {
      throw new Error(`gave up waiting for ${what}${bot ? `\n--- stderr ---\n${bot.stderr()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const readyz = async (port: number) => {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: await res.text() };
};

interface DeliveryJson { status: string; attempts: number; platform: string; channelId: string }
async function deliveries(env: Record<string, string>): Promise<DeliveryJson[]> {
  const result = await runInkwire(['deliveries', '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as DeliveryJson[];
}

describe('a chat platform that is down when inkwire starts', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  it('GIVEN Discord answering 5xx at start THEN the bot stays up, /readyz is 503 naming Discord, a new post is stored without spending attempts, and it is delivered once Discord recovers', async () => {
    const feeds = await startFeedServer();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    const channelId = guild.channels[0]!.id;
    const appId = snowflake();
    const discord = await startFakeDiscord({ token: DISCORD_TOKEN, appId, guilds: [guild] });
    const proxy = await startOutageProxy(discord.apiUrl, { down: true, status: 503 });
    cleanups.push(() => feeds.close(), () => discord.close(), () => proxy.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const db = dir.file('discord-down.db');
    await seedSubscribedFeed(db, feeds.url('/feed'), [{ platform: 'discord', workspaceId: guild.id, channelId }]);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml')); // a post published while Discord is down

    const port = await freePort();
    const env = {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port), ...FAST_RETRY,
      DISCORD_TOKEN, DISCORD_APP_ID: appId, DISCORD_API_URL: proxy.url,
    };
    const bot = spawnInkwire(['start'], env);
    cleanups.push(() => void bot.child.kill('SIGKILL'));

    // Retried at warn, one line per attempt with the attempt and the next delay.
    await bot.waitFor(/"attempt":2,"nextDelayMs":\d+.*cannot connect to Discord/, { stream: 'stderr' });
    const down = await readyz(port);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/FAIL discord connected: Discord not connected yet \(attempt \d+ failed: .*503.*\); retrying/);
    // Polling and storing ran meanwhile: the post is in the outbox, pending, and no attempt was spent on it.
    let pending: DeliveryJson[] = [];
    await until('the new post to be stored', async () => (pending = await deliveries(env)).length === 1, bot);
    expect(pending[0]).toMatchObject({ status: 'pending', attempts: 0, platform: 'discord', channelId });
    expect(discord.messagesIn(channelId)).toHaveLength(0);
    expect(bot.child.exitCode).toBeNull();

    proxy.up();
    await until('/readyz 200', async () => (await readyz(port)).status === 200, bot);
    await until('the post on Discord', () => discord.messagesIn(channelId).length === 1, bot);
    await until('the delivery to be recorded as sent', async () => (await deliveries(env))[0]?.status === 'sent', bot);
    const [sent] = await deliveries(env);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1 });

    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(discord.messagesIn(channelId)).toHaveLength(1);
    expect(proxy.counts.refused).toBeGreaterThan(0);
    expect(bot.stderr()).toMatch(/Discord is reachable again; connected/);
    expect(bot.stderr()).not.toMatch(STACK_LINE);
    expect(bot.stderr()).not.toContain(DISCORD_TOKEN);
    expect(discord.violations).toEqual([]);
  });

  it('GIVEN Slack (HTTP mode on the shared port) answering 5xx at start THEN /slack/events and /readyz answer 503 naming Slack, and the post is delivered once Slack recovers', async () => {
    const feeds = await startFeedServer();
    const slack = await startFakeSlack({ tokens: { T1: SLACK_TOKEN }, channels: { CPAPERS: {} } });
    const proxy = await startOutageProxy(slack.apiUrl, { down: true, status: 502 });
    cleanups.push(() => feeds.close(), () => slack.close(), () => proxy.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const db = dir.file('slack-down.db');
    await seedSubscribedFeed(db, feeds.url('/feed'), [{ platform: 'slack', workspaceId: 'T1', channelId: 'CPAPERS' }]);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));

    const port = await freePort();
    const env = {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port), ...FAST_RETRY,
      SLACK_BOT_TOKEN: SLACK_TOKEN, SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: proxy.url,
    };
    const bot = spawnInkwire(['start'], env);
    cleanups.push(() => void bot.child.kill('SIGKILL'));

    await bot.waitFor(/"attempt":2,"nextDelayMs":\d+.*cannot connect to Slack/, { stream: 'stderr' });
    const down = await readyz(port);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/FAIL slack connected: Slack not connected yet \(attempt \d+ failed: .*\); retrying/);
    const events = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: 'x' });
    expect(events.status).toBe(503);
    expect(await events.text()).toMatch(/Slack is not connected yet/);
    let pending: DeliveryJson[] = [];
    await until('the new post to be stored', async () => (pending = await deliveries(env)).length === 1, bot);
    expect(pending[0]).toMatchObject({ status: 'pending', attempts: 0, platform: 'slack' });

    proxy.up();
    await until('/readyz 200', async () => (await readyz(port)).status === 200, bot);
    await until('the post on Slack', () => slack.postsIn('CPAPERS').length === 1, bot);
    await until('the delivery to be recorded as sent', async () => (await deliveries(env))[0]?.status === 'sent', bot);
    expect((await deliveries(env))[0]).toMatchObject({ status: 'sent', attempts: 1 });

    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(slack.postsIn('CPAPERS')).toHaveLength(1);
    expect(bot.stderr()).not.toMatch(STACK_LINE);
    expect(bot.stderr()).not.toContain(SLACK_TOKEN);
    expect(slack.violations).toEqual([]);
  });

  it.each([
    ['the Discord gateway', {}],
    ['Discord over HTTP interactions', { DISCORD_PUBLIC_KEY: 'a'.repeat(64) }],
  ] as const)('GIVEN %s on a closed port THEN one warn line per attempt naming the reason, no stack trace, /readyz 503 naming Discord, and a clean stop', async (_name, extra) => {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const port = await freePort();
    const closed = await freePort();
    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file(`closed-${Object.keys(extra).length}.db`), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port), ...FAST_RETRY,
      DISCORD_TOKEN, DISCORD_APP_ID: snowflake(), DISCORD_API_URL: `http://127.0.0.1:${closed}/api`, LOG_FORMAT: 'pretty', ...extra,
    });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/cannot connect to Discord: .*ECONNREFUSED.*"attempt":3,"nextDelayMs"/, { stream: 'stderr' });
    const down = await readyz(port);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/FAIL discord connected: Discord not connected yet \(attempt \d+ failed: .*ECONNREFUSED.*\)/);
    // The feed was polled meanwhile (the operations port and the poller do not wait for Discord).
    expect(down.body).toMatch(/ok {3}feeds polled within 3 intervals/);
    if ('DISCORD_PUBLIC_KEY' in extra) expect((await fetch(`http://127.0.0.1:${port}/discord/interactions`, { method: 'POST', body: '{}' })).status).toBe(503);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr()).not.toMatch(STACK_LINE);
    expect(bot.stderr()).not.toMatch(/triggerUncaughtException|Uncaught/);
  });

  it('GIVEN Slack on a closed port THEN the bot keeps trying (no WebAPIRequestError crash) and stops cleanly', async () => {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const port = await freePort();
    const closed = await freePort();
    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('slack-closed.db'), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port), ...FAST_RETRY,
      SLACK_BOT_TOKEN: SLACK_TOKEN, SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: `http://127.0.0.1:${closed}/api/`,
    });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/"attempt":3,.*"reason":"[^"]*ECONNREFUSED[^"]*".*cannot connect to Slack/, { stream: 'stderr' });
    expect((await readyz(port)).body).toMatch(/FAIL slack connected: Slack not connected yet/);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr()).not.toMatch(STACK_LINE);
  });

  it('GIVEN a token Discord refuses (401) THEN start exits 1 with one line naming DISCORD_TOKEN, without retrying', async () => {
    const discord = await startFakeDiscord({ token: DISCORD_TOKEN, appId: snowflake(), guilds: [] });
    const feeds = await startFeedServer();
    cleanups.push(() => discord.close(), () => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const variants: Array<Record<string, string>> = [{}, { DISCORD_PUBLIC_KEY: 'b'.repeat(64), HTTP_PORT: String(await freePort()) }];
    for (const extra of variants) {
      const result = await runInkwire(['start'], {
        FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file(`bad-token-${Object.keys(extra).length}.db`), POLL_JITTER_SECONDS: '0', ...FAST_RETRY,
        DISCORD_TOKEN: 'MTIz.wrong-token', DISCORD_APP_ID: snowflake(), DISCORD_API_URL: discord.apiUrl, ...extra,
      });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/^inkwire: Discord rejected DISCORD_TOKEN \(401 Unauthorized\)/m);
      expect(result.stderr).not.toMatch(/retrying/);
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(result.stderr).not.toContain('wrong-token');
    }
  });

  it('GIVEN a token Slack refuses (invalid_auth) THEN start exits 1 with one line, without retrying', async () => {
    const slack = await startFakeSlack({ tokens: { T1: SLACK_TOKEN }, channels: {} });
    const feeds = await startFeedServer();
    cleanups.push(() => slack.close(), () => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const result = await runInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('slack-bad-token.db'), POLL_JITTER_SECONDS: '0', ...FAST_RETRY,
      SLACK_BOT_TOKEN: 'xoxb-wrong', SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0',
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^inkwire: Slack refused the token \(invalid_auth\)/m);
    expect(result.stderr).not.toMatch(/retrying/);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });

  it('GIVEN register-commands against a closed port THEN exit 1 with one line naming Discord, no stack trace', async () => {
    const closed = await freePort();
    const result = await runInkwire(['register-commands'], {
      FEED_URLS: 'http://127.0.0.1:1/feed', DATABASE_URL: dir.file('register.db'),
      DISCORD_TOKEN, DISCORD_APP_ID: snowflake(), DISCORD_API_URL: `http://127.0.0.1:${closed}/api`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^inkwire: cannot register commands with Discord at http:\/\/127\.0\.0\.1:\d+\/api: .*ECONNREFUSED/m);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const TOKEN = 'MTIz.fake-token-for-tests.do-not-log-me';

describe('inkwire start with DISCORD_TOKEN: the whole path through the real executable', () => {
  const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
  const channelId = guild.channels[0]!.id;
  const appId = snowflake();
  let fake: FakeDiscord;
  let feeds: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild] });
    feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    dir = makeTempDir();
    env = {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('d.db'), POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0',
      DISCORD_TOKEN: TOKEN, DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl, LOG_LEVEL: 'debug',
    };
  });
  afterAll(async () => {
    await fake.close();
    await feeds.close();
    dir.remove();
  });

  it('GIVEN register-commands THEN the commands are registered in the server over REST', async () => {
    const result = await runInkwire(['register-commands', '--guild', guild.id], env);
    expect(result.stdout).toMatch(/Registered 7 commands in server/);
    expect(fake.commandRegistrations.at(-1)!.guildId).toBe(guild.id);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a subscribed channel THEN a new post in the feed arrives there exactly once, and the token is never logged', async () => {
    const bot = spawnInkwire(['start'], env);
    await bot.waitFor(/connected to Discord/, { stream: 'stderr' });
    await bot.waitFor(/first time/, { stream: 'stderr' });
    const reply = await fake.interact({ type: 2, guildId: guild.id, channelId, permissions: 1n << 4n, data: { id: snowflake(), name: 'subscribe', type: 1, options: [] } });
    expect((reply.callbacks[0] as { data: { content: string } }).data.content).toMatch(/Subscribed/);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const deadline = Date.now() + 15_000;
    while (fake.messagesIn(channelId).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // later polls must not send it again
    const sent = fake.messagesIn(channelId);
    expect(sent).toHaveLength(1);
    expect((sent[0]!.body as { embeds: Array<{ title: string }> }).embeds[0]!.title).toBe('Mixture of Experts, Explained');
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr()).not.toContain(TOKEN);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN DISCORD_TOKEN without DISCORD_APP_ID THEN a clear configuration error that does not echo the token', async () => {
    const result = await runInkwire(['posts'], { ...env, DISCORD_APP_ID: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DISCORD_APP_ID.*required when DISCORD_TOKEN is set/);
    expect(result.stderr).not.toContain(TOKEN);
  });

  it('GIVEN doctor with Discord configured THEN prints the invite URL with the minimal permissions', async () => {
    const result = await runInkwire(['doctor'], env);
    expect(result.stdout).toContain(`https://discord.com/oauth2/authorize?client_id=${appId}&scope=bot%20applications.commands&permissions=34359888896`);
  });
});

import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('Discord and Slack in one process', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  it('GIVEN one post subscribed on both THEN each channel gets it once, and Slack rate-limiting its channel does not hold up Discord', async () => {
    const feeds = await startFeedServer();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    const appId = snowflake();
    const discord = await startFakeDiscord({ token: 'two-platform-token', appId, guilds: [guild] });
    const slack = await startFakeSlack({ tokens: { T1: 'xoxb-both' }, channels: { CPAPERS: {} } });
    cleanups.push(() => feeds.close(), () => discord.close(), () => slack.close());
    slack.rateLimitChannel('CPAPERS', 2); // Slack answers 429 (Retry-After: 1) twice before accepting

    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const db = dir.file('both.db');
    await seedSubscribedFeed(db, feeds.url('/feed'), [
      { platform: 'discord', workspaceId: guild.id, channelId: guild.channels[0]!.id },
      { platform: 'slack', workspaceId: 'T1', channelId: 'CPAPERS' },
    ]);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));

    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0', DELIVERY_RETRY_BASE_SECONDS: '1',
      DISCORD_TOKEN: 'two-platform-token', DISCORD_APP_ID: appId, DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN: 'xoxb-both', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl, SLACK_PORT: '0',
    });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/"platforms":\["slack","discord"\]/, { stream: 'stderr' });
    const deadline = Date.now() + 20_000;
    let discordFirst = false;
    while (Date.now() < deadline && slack.postsIn('CPAPERS').length === 0) {
      if (discord.messagesIn(guild.channels[0]!.id).length === 1) discordFirst = true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Discord was delivered while Slack was still answering 429s: the engines do not wait on each other.
    expect(discordFirst).toBe(true);
    expect(slack.counters.rateLimited).toBeGreaterThanOrEqual(2);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(discord.messagesIn(guild.channels[0]!.id)).toHaveLength(1);
    expect(slack.postsIn('CPAPERS')).toHaveLength(1);
    expect([...discord.violations, ...slack.violations]).toEqual([]);
  });
});

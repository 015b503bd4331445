import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const TOKEN = 'MTIz.prefixed-token-for-tests.do-not-log-me';
// In a JSON log line the quotes are escaped; in doctor's report they are not.
const WARNING = /DISCORD_TOKEN starts with \\?"(Bot|bearer|BOT) \\?": set the bare token/;

describe('a DISCORD_TOKEN pasted with its "Bot " or "Bearer " prefix', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  it('GIVEN "Bot <token>" THEN register-commands warns and registers with the bare token (REST would otherwise send "Bot Bot …" and get 401)', async () => {
    const guild = { id: snowflake(), name: 'G', channels: [{ id: snowflake(), name: 'c' }] };
    const appId = snowflake();
    const fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild] });
    cleanups.push(() => fake.close());
    const result = await runInkwire(['register-commands', '--guild', guild.id], {
      FEED_URLS: 'http://127.0.0.1:1/feed', DATABASE_URL: dir.file('register.db'),
      DISCORD_TOKEN: `Bot ${TOKEN}`, DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Registered \d+ commands in server/);
    expect(result.stderr).toMatch(WARNING);
    expect(result.stderr).not.toContain(TOKEN);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN "bearer <token>" with HTTP interactions THEN start warns once and connects over REST with the bare token', async () => {
    const appId = snowflake();
    const fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [] });
    const feeds = await startFeedServer();
    cleanups.push(() => fake.close(), () => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const port = await freePort();
    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('start.db'), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port),
      DISCORD_TOKEN: `bearer ${TOKEN}`, DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl, DISCORD_PUBLIC_KEY: 'c'.repeat(64),
    });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/Discord over HTTP interactions/, { stream: 'stderr' });
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr().match(new RegExp(WARNING.source, 'g'))).toHaveLength(1);
    expect(bot.stderr()).not.toContain(TOKEN);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN "BOT <token>" THEN doctor lists the warning', async () => {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const result = await runInkwire(['doctor'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('doctor.db'), DISCORD_TOKEN: `BOT ${TOKEN}`, DISCORD_APP_ID: snowflake(),
    });
    expect(result.stdout).toMatch(new RegExp(`^! ${WARNING.source}`, 'm'));
    expect(result.stdout).not.toContain(TOKEN);
  });
});

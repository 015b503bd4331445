import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, refusedUrl, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('inkwire start with the console adapter, driven through piped stdin', () => {
  let server: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;

  beforeEach(async () => {
    server = await startFeedServer();
    dir = makeTempDir();
  });
  afterEach(async () => {
    await server.close();
    dir.remove();
  });

  it('GIVEN a new post in the feed THEN prints its card, answers /latest and /help, and stops cleanly on SIGTERM', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const bot = spawnInkwire(['start'], {
      FEED_URLS: server.url('/feed'),
      DATABASE_URL: dir.file('inkwire.db'),
      POLL_CRON: '* * * * * *', // every second, so the test need not wait 15 minutes
      POLL_JITTER_SECONDS: '0',
    });
    await bot.waitFor(/first time/, { stream: 'stderr' });
    expect(bot.stdout()).not.toContain('New post'); // first sight: nothing announced

    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    await bot.waitFor(/New post/);
    expect(bot.stdout()).toContain('Mixture of Experts, Explained');
    expect(bot.stdout()).toContain('Read the explainer: https://dailyink.substack.com/p/mixture-of-experts-explained');
    expect(bot.stdout().match(/New post/g)).toHaveLength(1);

    bot.write('/latest count:2');
    await bot.waitFor(/only you can see this[\s\S]*Mixture of Experts[\s\S]*LoRA/);
    bot.write('/latest 99');
    await bot.waitFor(/`count` must be at most 10/);
    bot.write('/help');
    await bot.waitFor(/\/latest.*Show the newest explainers/);
    bot.write('/nonsense');
    await bot.waitFor(/Unknown command \/nonsense/);

    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr()).toContain('stopped cleanly');
    expect(bot.stdout().match(/New post/g)).toHaveLength(1);
  });

  it('GIVEN /quit on piped stdin THEN exits 0, and stdin closing alone does not stop the bot', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-empty.xml'));
    const bot = spawnInkwire(['start'], { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('a.db'), POLL_JITTER_SECONDS: '0' });
    bot.write('/latest');
    await bot.waitFor(/No posts stored yet/);
    bot.write('/'); // a slash alone used to print a TypeError stack trace
    await bot.waitFor(/Type a command after the slash/);
    expect(bot.stdout() + bot.stderr()).not.toMatch(/TypeError|at .*\.ts:\d+/);
    bot.write('/quit');
    expect(await bot.exit()).toBe(0);

    const service = spawnInkwire(['start'], { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('b.db'), POLL_JITTER_SECONDS: '0' });
    service.child.stdin.end(); // like systemd or Docker: no stdin at all
    await service.waitFor(/Inkwire started/, { stream: 'stderr' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(service.child.exitCode).toBeNull();
    service.child.kill('SIGINT');
    expect(await service.exit()).toBe(0);
  });

  it('GIVEN an unreachable feed THEN logs a clear line and keeps running', async () => {
    const bot = spawnInkwire(['start'], { FEED_URLS: await refusedUrl(), DATABASE_URL: dir.file('c.db'), POLL_JITTER_SECONDS: '0' });
    await bot.waitFor(/feed poll failed: ECONNREFUSED/, { stream: 'stderr' });
    expect(bot.child.exitCode).toBeNull();
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });

  it('GIVEN console subscriptions THEN permissions, keyword filters and per-channel delivery work as in chat', async () => {
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const bot = spawnInkwire(['start'], {
      FEED_URLS: server.url('/feed'),
      DATABASE_URL: dir.file('subs.db'),
      POLL_CRON: '* * * * * *',
      POLL_JITTER_SECONDS: '0',
    });
    await bot.waitFor(/first time/, { stream: 'stderr' });
    bot.write('/as member');
    bot.write('/in #ml');
    bot.write('/subscribe keywords:experts');
    await bot.waitFor(/Only people who can manage this channel can use `\/subscribe`/);
    bot.write('/as admin');
    bot.write('/subscribe keywords:experts');
    await bot.waitFor(/Subscribed: The Daily Ink · instant · keywords: experts[\s\S]*type \/press (sub:latest:\d+)/);
    bot.write('/in #papers');
    bot.write('/subscribe keywords:diffusion');
    await bot.waitFor(/keywords: diffusion/);
    bot.write('/subscriptions');
    await bot.waitFor(/3 subscriptions:[\s\S]*#general[\s\S]*#ml[\s\S]*#papers/);

    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    await bot.waitFor(/New post in #ml[\s\S]*Mixture of Experts/);
    await bot.waitFor(/── New post · The Daily Ink[\s\S]*Mixture of Experts/); // #general has everything
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(bot.stdout()).not.toContain('New post in #papers');
    expect(bot.stdout().match(/── New post/g)).toHaveLength(2);

    bot.write('/in #ml');
    const action = /type \/press (sub:latest:\d+)/.exec(bot.stdout())![1]!;
    bot.write(`/press ${action}`);
    await bot.waitFor(/already posted here|Posting “Mixture of Experts, Explained” now/);
    bot.write('/press sub:latest:999999');
    await bot.waitFor(/no longer matches a subscription/);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });
});

describe('the console follows FEED_URLS', () => {
  it('GIVEN FEED_URLS changed from one feed to another THEN #general follows it and the removed feed is no longer polled', async () => {
    const server = await startFeedServer();
    const dir = makeTempDir();
    try {
      server.serveFeed('/old', fixture('dailyink-feed-v1.xml'));
      server.serveFeed('/new', fixture('dailyink-feed-v2.xml'));
      const db = dir.file('follow.db');
      const first = spawnInkwire(['start'], { FEED_URLS: server.url('/old'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0' });
      await first.waitFor(/feed seen for the first time/, { stream: 'stderr' });
      first.write('/quit');
      expect(await first.exit()).toBe(0);
      const oldPolls = server.requestsTo('/old').length;

      const second = spawnInkwire(['start'], { FEED_URLS: server.url('/new'), DATABASE_URL: db, POLL_JITTER_SECONDS: '0' });
      await second.waitFor(/feed seen for the first time/, { stream: 'stderr' });
      second.write('/subscriptions');
      await second.waitFor(/#general/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const listing = second.stdout();
      second.write('/quit');
      expect(await second.exit()).toBe(0);
      expect(server.requestsTo('/old')).toHaveLength(oldPolls); // not polled again
      expect(listing).toMatch(/#general[^\n]*The Daily Ink/);
      expect(listing.match(/#general/g)).toHaveLength(1); // only the configured feed
      const feeds = await runInkwire(['feeds'], { FEED_URLS: server.url('/new'), DATABASE_URL: db });
      expect(feeds.stdout).toMatch(/next poll: at the next POLL_CRON tick/);
    } finally {
      await server.close();
      dir.remove();
    }
  });
});

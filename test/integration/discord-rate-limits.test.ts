import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { admin, createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';

const FEED = 'https://dailyink.substack.com/feed';
const TOKEN = 'rate-limit-test-token';

const draft = (n: number): PostDraft => ({
  key: `slug:p${n}`, guid: null, url: `https://dailyink.substack.com/p/p${n}`, title: `Post ${n}`, subtitle: null, author: 'A',
  publishedAt: new Date(Date.UTC(2023, 2, 1 + n)), coverImageUrl: null, html: '<p>x</p>', text: 'x', wordCount: 1, readingMinutes: 1,
  tldr: 'x', previewOnly: false, papers: [],
});

describe('Discord rate limits and edits', () => {
  const guild = { id: snowflake(), name: 'G', channels: Array.from({ length: 4 }, (_, i) => ({ id: snowflake(), name: `c${i}` })) };
  let fake: FakeDiscord;
  let fixture: ReturnType<typeof createCoreFixture>;
  let adapter: DiscordAdapter;
  let feedId: number;

  beforeAll(async () => {
    // A tight per-channel bucket (2 per 400 ms) and global limit: a storm of 429s unless the client paces itself.
    fake = await startFakeDiscord({ token: TOKEN, appId: snowflake(), guilds: [guild], channelBucket: { limit: 2, windowMs: 400 }, globalLimit: 20 });
    fixture = createCoreFixture({ FEED_URLS: FEED });
    feedId = (await fixture.store.feeds.ensure(FEED, fixture.clock.now())).id;
    adapter = await startDiscordAdapter({
      token: TOKEN, appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
      onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
    for (const channel of guild.channels) {
      const result = await fixture.core.subscriptions.subscribe({ platform: 'discord', workspaceId: guild.id, channelId: channel.id, isDirect: false }, admin, {});
      if (!result.ok) throw result.error;
    }
  });
  afterAll(async () => {
    await adapter.stop();
    await fake.close();
    await fixture.store.close();
  });

  it('GIVEN tight rate limits and 5xx faults THEN every post still reaches every channel once, in order', async () => {
    await fixture.store.posts.ingest({ feedId, at: fixture.clock.now(), drafts: [1, 2, 3, 4, 5, 6].map(draft), announceKeys: new Set([1, 2, 3, 4, 5, 6].map((n) => `slug:p${n}`)) });
    fake.failNextRequests(500, 2);
    const engine = fixture.core.deliveryEngine(adapter);
    const started = Date.now();
    for (let round = 0; round < 10; round++) {
      await engine.drain();
      if (fake.messages.length >= 24) break;
      fixture.clock.advance(60_000); // let any backed-off retries come due
    }
    for (const channel of guild.channels) {
      const titles = fake.messagesIn(channel.id).map((m) => (m.body as { embeds: Array<{ title: string }> }).embeds[0]!.title);
      expect(titles).toEqual(['Post 1', 'Post 2', 'Post 3', 'Post 4', 'Post 5', 'Post 6']);
    }
    expect(Date.now() - started).toBeGreaterThan(800); // the buckets really delayed it
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a delivered post is edited THEN the sent messages are PATCHed, not re-sent', async () => {
    const before = fake.messages.length;
    const result = await fixture.store.posts.ingest({ feedId, at: fixture.clock.now(), drafts: [{ ...draft(1), title: 'Post 1, revised' }], announceKeys: new Set() });
    await fixture.core.deliveryEngine(adapter).postsUpdated(result.updated);
    expect(fake.messages.length).toBe(before);
    const edited = fake.messages.filter((m) => m.edits.length > 0);
    expect(edited).toHaveLength(4);
    expect((edited[0]!.edits[0] as { embeds: Array<{ title: string }> }).embeds[0]!.title).toBe('Post 1, revised');
    expect(fake.violations).toEqual([]);
  });
});

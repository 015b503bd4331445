import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';
import { createSilentLogger } from '../../src/logger.ts';

const FEED = 'https://dailyink.substack.com/feed';
const MANAGE = 1n << 4n;
const TOKEN = 'test-token-not-a-real-one';

function draft(slug: string, title: string, text: string, publishedAt: string): PostDraft {
  return {
    key: `slug:${slug}`, guid: null, url: `https://dailyink.substack.com/p/${slug}`, title, subtitle: 'Sub @here', author: 'A',
    publishedAt: new Date(publishedAt), coverImageUrl: 'https://substackcdn.com/image.png', html: `<p>${text}</p>`, text, wordCount: 300,
    readingMinutes: 2, tldr: text.slice(0, 280), previewOnly: false, papers: [{ kind: 'arxiv', id: '2205.14135' }],
  };
}

describe('the Discord adapter: real discord.js against the fake Discord', () => {
  const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }, { id: snowflake(), name: 'doomed' }, { id: snowflake(), name: 'quiet' }] };
  const [papers, doomed] = [guild.channels[0]!.id, guild.channels[1]!.id];
  let fake: FakeDiscord;
  let fixture: ReturnType<typeof createCoreFixture>;
  let adapter: DiscordAdapter;
  const appId = snowflake();

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild] });
    fixture = createCoreFixture({ FEED_URLS: FEED });
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(), drafts: [draft('flash', 'FlashAttention tiles attention', 'SRAM tiling makes attention fast', '2023-02-27T16:00:00Z')] });
    adapter = await startDiscordAdapter({
      token: TOKEN, appId, apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
      onWorkspaceRemoved: async (id) => void (await fixture.store.subscriptions.deleteForWorkspace('discord', id)),
      onChannelRemoved: async (id) => void (await fixture.store.subscriptions.deleteForChannel('discord', id)),
    });
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  it('GIVEN ready THEN registers every command with a body Discord accepts', async () => {
    expect(await adapter.registerCommands(guild.id)).toBe(ALL_COMMANDS.length);
    const body = fake.commandRegistrations[0]!.body as Array<{ name: string; default_member_permissions?: number }>;
    expect(body.find((c) => c.name === 'subscribe')?.default_member_permissions).toBe(16);
    expect(body.find((c) => c.name === 'search')?.default_member_permissions).toBeUndefined();
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN /subscribe THEN an admin subscribes (public reply with buttons) and a member is refused privately', async () => {
    const member = await fake.interact({ type: 2, guildId: guild.id, channelId: papers, permissions: 0n, data: { id: snowflake(), name: 'subscribe', type: 1, options: [] } });
    const refusal = member.callbacks[0] as { type: number; data: { content: string; flags: number } };
    expect(refusal.data.flags).toBe(64);
    expect(refusal.data.content).toMatch(/Only people who can manage this channel/);
    for (const channelId of [papers, doomed]) {
      const admin = await fake.interact({ type: 2, guildId: guild.id, channelId, permissions: MANAGE, data: { id: snowflake(), name: 'subscribe', type: 1, options: [] } });
      const data = (admin.callbacks[0] as { data: { content: string; flags?: number; components: Array<{ components: Array<{ custom_id: string }> }> } }).data;
      expect(data.flags).toBeUndefined();
      expect(data.content).toMatch(/^Subscribed\\: \*\*/);
      expect(data.components[0]!.components[0]!.custom_id).toMatch(/^sub:latest:\d+$/);
    }
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a new post with hostile text THEN each subscribed channel gets one valid, harmless embed', async () => {
    const hostileTitle = `@everyone <@&${snowflake()}> [click](http://evil.example) # Heading ${'long '.repeat(1000)}`;
    const feed = (await fixture.store.feeds.get(FEED))!;
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(['slug:moe']), drafts: [draft('moe', hostileTitle, '**bold** `code` @here '.repeat(400), '2023-03-10T16:00:00Z')] });
    fake.deleteChannel(doomed);
    const engine = fixture.core.deliveryEngine(adapter);
    await engine.drain();
    const [message, ...rest] = fake.messagesIn(papers);
    expect(rest).toEqual([]);
    const body = message!.body as { embeds: Array<{ title: string; description: string }>; allowed_mentions: unknown; nonce: string; enforce_nonce: boolean };
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.enforce_nonce).toBe(true);
    expect(body.nonce).toMatch(/^p\d+-s\d+$/);
    expect(body.embeds[0]!.title.length).toBeLessThanOrEqual(256);
    expect(body.embeds[0]!.title).toContain('@\u200beveryone');
    expect(body.embeds[0]!.title).toContain('\\[click\\]\\(http\\://evil.example\\)');
    expect(body.embeds[0]!.title).not.toMatch(/(?<!\\)<@&/);
    expect(fake.violations).toEqual([]);
    // The deleted channel answered 10003: its subscription is paused with a reason, and the server is told.
    const doomedSub = (await fixture.store.subscriptions.listForChannel('discord', doomed))[0]!;
    expect(doomedSub.pausedReason).toBe('the channel no longer exists');
    const next = await fake.interact({ type: 2, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'subscriptions', type: 1, options: [] } });
    const text = (next.callbacks[0] as { data: { content: string } }).data.content;
    expect(text).toMatch(/paused delivery to channel/);
    expect(text).toMatch(/PAUSED\\: the channel no longer exists/);
  });

  it('GIVEN /search and its autocomplete THEN answers privately with cards and a share button, and suggests titles', async () => {
    const search = await fake.interact({ type: 2, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'SRAM tiling' }] } });
    const data = (search.callbacks[0] as { data: { flags: number; embeds: Array<{ title: string; url: string }>; components: Array<{ components: Array<{ custom_id: string }> }> } }).data;
    expect(data.flags).toBe(64);
    expect(data.embeds[0]!.title).toBe('FlashAttention tiles attention');
    expect(data.components[0]!.components[0]!.custom_id).toBe('share:5:1:SRAM tiling');
    const auto = await fake.interact({ type: 4, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'flash', focused: true }] } });
    // Answered with the choices themselves (an autocomplete cannot be deferred); the fake holds it to Discord's
    // 3 s interaction deadline (`violations`, below). How fast titles are found is `npm run bench:search`'s.
    expect(auto.callbacks).toHaveLength(1);
    expect((auto.callbacks[0] as { type: number }).type).toBe(8);
    const choices = (auto.callbacks[0] as { type: number; data: { choices: Array<{ name: string }> } }).data.choices;
    expect(choices.map((c) => c.name)).toContain('FlashAttention tiles attention');
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN "Share in channel" THEN the results are posted publicly without pinging anyone', async () => {
    const shared = await fake.interact({ type: 3, guildId: guild.id, channelId: papers, data: { custom_id: 'share', component_type: 2 } });
    const data = (shared.callbacks[0] as { type: number; data: { flags?: number; embeds: unknown[]; allowed_mentions: unknown } }).data;
    expect(data.flags).toBeUndefined();
    expect(data.embeds).toHaveLength(1);
    expect(data.allowed_mentions).toEqual({ parse: [] });
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a forged button id THEN nothing happens beyond a private refusal', async () => {
    const forged = await fake.interact({ type: 3, guildId: guild.id, channelId: papers, permissions: MANAGE, data: { custom_id: 'sub:latest:99999', component_type: 2 } });
    expect((forged.callbacks[0] as { data: { content: string; flags: number } }).data).toMatchObject({ flags: 64, content: expect.stringMatching(/no longer matches/) });
  });

  it('GIVEN the gateway drops THEN discord.js resumes and later interactions still work', async () => {
    const identifies = fake.counters.identifies;
    fake.dropConnections();
    const deadline = Date.now() + 10_000;
    while (fake.counters.resumes === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.counters.resumes).toBeGreaterThanOrEqual(1); // RESUME with the session, not a new IDENTIFY
    expect(fake.counters.identifies).toBe(identifies);
    const after = await fake.interact({ type: 2, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'latest', type: 1, options: [{ name: 'count', type: 4, value: 1 }] } });
    expect(after.callbacks).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a channel deleted event THEN its subscriptions are removed', async () => {
    fake.channelDelete(guild.id, papers);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await fixture.store.subscriptions.listForChannel('discord', papers)).toEqual([]);
  });

  it('GIVEN the bot is removed from the server THEN every subscription there is removed', async () => {
    expect(await fixture.store.subscriptions.countForWorkspace('discord', guild.id)).toBeGreaterThan(0);
    fake.guildDelete(guild.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await fixture.store.subscriptions.countForWorkspace('discord', guild.id)).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';

const MANAGE_CHANNELS = 1n << 4n;
const MENTION_EVERYONE = 1n << 17n;
const TOKEN = 'permission-matrix-token';

describe('who may change what on Discord (permission matrix; every refusal changes nothing)', () => {
  const readers = { id: snowflake(), name: 'readers', mentionable: true };
  const staff = { id: snowflake(), name: 'staff', mentionable: false };
  const guildA = { id: snowflake(), name: 'A', channels: [{ id: snowflake(), name: 'papers' }, { id: snowflake(), name: 'news' }, { id: snowflake(), name: 'staff-room' }], roles: [readers, staff] };
  const guildB = { id: snowflake(), name: 'B', channels: [{ id: snowflake(), name: 'other' }] };
  const [papers, news, staffRoom] = guildA.channels.map((c) => c.id) as [string, string, string];
  const other = guildB.channels[0]!.id;
  const appId = snowflake();
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let fixture: ReturnType<typeof createCoreFixture>;

  const run = async (guildId: string | null, channelId: string, permissions: bigint, name: string, options: Array<{ name: string; type: number; value: string }> = []) => {
    const interaction = await fake.interact({ type: 2, guildId, channelId, permissions, data: { id: snowflake(), name, type: 1, options } });
    return (interaction.callbacks[0] as { data: { content?: string; flags?: number } }).data;
  };
  const press = async (guildId: string, channelId: string, permissions: bigint, customId: string) => {
    const interaction = await fake.interact({ type: 3, guildId, channelId, permissions, data: { custom_id: customId, component_type: 2 } });
    return (interaction.callbacks[0] as { data: { content?: string } }).data;
  };
  const snapshot = async () => JSON.stringify([await fixture.store.subscriptions.listForWorkspace('discord', guildA.id), await fixture.store.deliveries.list({ limit: 100 })]);

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guildA, guildB] });
    fixture = createCoreFixture();
    const feed = await fixture.store.feeds.ensure(fixture.config.feedUrls[0]!, fixture.clock.now());
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(), drafts: [{ key: 'slug:x', guid: null, url: 'https://dailyink.substack.com/p/x', title: 'X', subtitle: null, author: null, publishedAt: new Date(), coverImageUrl: null, html: '', text: 'x', wordCount: 1, readingMinutes: 1, tldr: null, previewOnly: false, papers: [] }] });
    adapter = await startDiscordAdapter({
      token: TOKEN, appId, apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
      onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  it('GIVEN a member without Manage Channels THEN /subscribe and /unsubscribe are refused and nothing changes', async () => {
    const before = await snapshot();
    const refusal = (await run(guildA.id, papers, 0n, 'subscribe')).content;
    expect(refusal).toMatch(/Only people who can manage this channel/);
    expect(refusal).toContain('`/subscribe`'); // Inkwire's own markup, not escaped into literal backticks
    expect(refusal).not.toContain('\\`');
    expect((await run(guildA.id, papers, 0n, 'unsubscribe')).content).toMatch(/Only people who can manage this channel/);
    expect(await snapshot()).toBe(before);
  });

  it('GIVEN /subscribe in a direct message THEN refused, nothing stored', async () => {
    const before = await snapshot();
    const reply = await run(null, snowflake(), 0n, 'subscribe');
    expect(reply.content).toMatch(/Only people who can manage this channel|from inside that channel/);
    expect(await snapshot()).toBe(before);
  });

  it('GIVEN a manager without Mention Everyone THEN a role that is not mentionable is refused; a mentionable one is fine', async () => {
    const before = await snapshot();
    const refused = await run(guildA.id, staffRoom, MANAGE_CHANNELS, 'subscribe', [{ name: 'mention', type: 3, value: `<@&${staff.id}>` }]);
    expect(refused.content).toMatch(/cannot ping that role yourself/);
    expect(await snapshot()).toBe(before);
    const unknown = await run(guildA.id, staffRoom, MANAGE_CHANNELS, 'subscribe', [{ name: 'mention', type: 3, value: `<@&${snowflake()}>` }]);
    expect(unknown.content).toMatch(/does not exist here/);
    const fine = await run(guildA.id, papers, MANAGE_CHANNELS, 'subscribe', [{ name: 'mention', type: 3, value: `<@&${readers.id}>` }]);
    expect(fine.content).toMatch(/Subscribed/);
    expect((await fixture.store.subscriptions.listForChannel('discord', papers))[0]?.mentionId).toBe(readers.id);
  });

  it('GIVEN a manager with Mention Everyone THEN any role of the server may be set', async () => {
    const ok = await run(guildA.id, news, MANAGE_CHANNELS | MENTION_EVERYONE, 'subscribe', [{ name: 'mention', type: 3, value: `<@&${staff.id}>` }]);
    expect(ok.content).toMatch(/Subscribed/);
  });

  it('GIVEN a button id from server A replayed in server B (by a member or a manager) or in A by a member THEN refused and nothing is queued', async () => {
    const [subscription] = await fixture.store.subscriptions.listForChannel('discord', papers);
    const id = `sub:latest:${subscription!.id}`;
    const before = await snapshot();
    expect((await press(guildB.id, other, MANAGE_CHANNELS, id)).content).toMatch(/no longer matches a subscription in this channel/);
    expect((await press(guildB.id, other, 0n, id)).content).toMatch(/Only people who can manage this channel/);
    expect((await press(guildA.id, papers, 0n, id)).content).toMatch(/Only people who can manage this channel/);
    expect((await press(guildA.id, papers, MANAGE_CHANNELS, 'sub:latest:not-a-number')).content).toMatch(/not valid/);
    expect(await snapshot()).toBe(before);
    expect(fake.violations).toEqual([]);
  });
});

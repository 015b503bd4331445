import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { startDiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';

const FEED = 'https://dailyink.substack.com/feed';
const MANAGE = 1n << 4n;
const TOKEN = 'channel-option-token';

describe('subscribing a forum or another channel from where a real Discord client can type (gateway)', () => {
  const forum = snowflake();
  const general = snowflake();
  const announcements = snowflake();
  const guild = {
    id: snowflake(), name: 'Readers',
    channels: [{ id: general, name: 'general' }, { id: forum, name: 'paper-forum', type: 15 as const, tags: [] }, { id: announcements, name: 'news', type: 5 as const }],
  };
  let fake: FakeDiscord;
  let fixture: ReturnType<typeof createCoreFixture>;
  let adapter: DiscordAdapter;

  const appId = snowflake();

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild] });
    fixture = createCoreFixture({ FEED_URLS: FEED });
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
  const forumSubscriptions = () => fixture.store.subscriptions.listForChannel('discord', forum);

  it('GIVEN the commands registered THEN /subscribe and /unsubscribe carry a channel picker limited to text, announcement and forum channels (checked against the spec)', async () => {
    await adapter.registerCommands(guild.id);
    const body = fake.commandRegistrations.at(-1)!.body as Array<{ name: string; options: Array<{ name: string; type: number; channel_types?: number[] }> }>;
    for (const name of ['subscribe', 'unsubscribe']) {
      expect(body.find((c) => c.name === name)?.options.find((o) => o.name === 'channel')).toMatchObject({ type: 7, channel_types: [0, 5, 15] });
    }
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN /subscribe typed inside a forum post (the interaction\'s channel is the post\'s thread) THEN the forum is subscribed and the reply says so', async () => {
    const post = snowflake();
    const answer = await fake.interact({
      type: 2, guildId: guild.id, channelId: post, channel: { type: 11, parentId: forum }, permissions: MANAGE,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [] },
    });
    expect(await forumSubscriptions()).toHaveLength(1);
    expect(await fixture.store.subscriptions.listForChannel('discord', post)).toEqual([]);
    const content = String((answer.callbacks[0]?.data as { content?: string }).content);
    expect(content).toMatch(new RegExp(`^Subscribed <#${forum}> \\\\\\(the forum this thread belongs to\\\\\\)`));
    expect(fake.violations).toEqual([]);

    // Unsubscribing from the same post acts on the forum too.
    const off = await fake.interact({
      type: 2, guildId: guild.id, channelId: post, channel: { type: 11, parentId: forum }, permissions: MANAGE,
      data: { id: snowflake(), name: 'unsubscribe', type: 1, options: [] },
    });
    expect(String((off.callbacks[0]?.data as { content?: string }).content)).toMatch(new RegExp(`^Unsubscribed <#${forum}> \\\\\\(the forum this thread belongs to\\\\\\) from`));
    expect(await forumSubscriptions()).toEqual([]);
  });

  it('GIVEN /subscribe channel:#paper-forum typed in #general by someone who manages the forum (not #general) THEN the forum is subscribed', async () => {
    const picked = fake.channelOption('channel', forum, MANAGE);
    const answer = await fake.interact({
      type: 2, guildId: guild.id, channelId: general, permissions: 0n,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [picked.option], resolved: picked.resolved },
    });
    expect(await forumSubscriptions()).toHaveLength(1);
    expect(await fixture.store.subscriptions.listForChannel('discord', general)).toEqual([]);
    const data = answer.callbacks[0]?.data as { content?: string; components?: unknown[] };
    expect(data.content).toMatch(new RegExp(`^Subscribed <#${forum}>\\\\?: `));
    expect(data.content).toContain('New posts will appear there');
    expect(data.components ?? []).toEqual([]); // "Post the latest now" would act in #general: not offered

    // Again: the refusal names the forum, not "this channel" (#general).
    const again = await fake.interact({
      type: 2, guildId: guild.id, channelId: general, permissions: 0n,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [picked.option], resolved: picked.resolved },
    });
    expect((again.callbacks[0]?.data as { content?: string }).content).toMatch(new RegExp(`^<#${forum}>\\\\?: This channel is already subscribed`));
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN /subscribe channel:#news by someone who manages #general but not #news THEN it is refused privately and nothing changes', async () => {
    const picked = fake.channelOption('channel', announcements, 0n);
    const answer = await fake.interact({
      type: 2, guildId: guild.id, channelId: general, permissions: MANAGE,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [picked.option], resolved: picked.resolved },
    });
    const data = answer.callbacks[0]?.data as { content?: string; flags?: number };
    expect(data.flags).toBe(64);
    expect(data.content).toContain(`Only people who can manage <#${announcements}>`);
    expect(await fixture.store.subscriptions.listForChannel('discord', announcements)).toEqual([]);
    expect(await fixture.store.subscriptions.listForChannel('discord', general)).toEqual([]);
    expect(fake.violations).toEqual([]);
  });
});

describe('subscribing a forum from one of its posts over HTTP interactions', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN /subscribe typed inside a forum post THEN the forum is subscribed; with channel: and no manage permission there it is refused', async () => {
    const forum = snowflake();
    const general = snowflake();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: general, name: 'general' }, { id: forum, name: 'paper-forum', type: 15 as const, tags: [] }] };
    const appId = snowflake();
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild] });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startDiscordHttpAdapter({ token: TOKEN, appId, publicKey: hex, apiUrl: fake.apiUrl, services: fixture.core.commandServices, logger: createSilentLogger(), commands: ALL_COMMANDS });
    const server = createServer((req, res) => adapter.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop(), () => new Promise<void>((resolve) => server.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;

    const refused = fake.channelOption('channel', forum, 0n);
    const no = await fake.interactOverHttp(endpoint, privateKey, {
      type: 2, guildId: guild.id, channelId: general, permissions: MANAGE,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [refused.option], resolved: refused.resolved },
    });
    expect(no.text).toContain('Only people who can manage');
    expect(await fixture.store.subscriptions.listForChannel('discord', forum)).toEqual([]);

    const post = snowflake();
    const yes = await fake.interactOverHttp(endpoint, privateKey, {
      type: 2, guildId: guild.id, channelId: post, channel: { type: 11, parentId: forum }, permissions: MANAGE,
      data: { id: snowflake(), name: 'subscribe', type: 1, options: [] },
    });
    expect(JSON.parse(yes.text).data.content).toMatch(new RegExp(`^Subscribed <#${forum}> \\\\\\(the channel this thread belongs to\\\\\\)`));
    expect(await fixture.store.subscriptions.listForChannel('discord', forum)).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { startDiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { runAction, runAutocomplete, runCommand } from '../../src/commands/command-runner.ts';
import type { CommandContext, CommandSpec, Invoker, Place } from '../../src/commands/command-spec.ts';
import type { Reply } from '../../src/commands/reply.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { ok } from '../../src/result.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';

const FEED = 'https://dailyink.substack.com/feed';
const SLOW_DOWN = /^You're going a bit fast — try again in (\d+) s\.$/;

function draft(slug: string, title: string, text: string): PostDraft {
  return {
    key: `slug:${slug}`, guid: null, url: `https://dailyink.substack.com/p/${slug}`, title, subtitle: null, author: 'A',
    publishedAt: new Date('2023-02-27T16:00:00Z'), coverImageUrl: null, html: `<p>${text}</p>`, text, wordCount: 300,
    readingMinutes: 2, tldr: text.slice(0, 280), previewOnly: false, papers: [],
  };
}

async function seededFixture(env: Record<string, string> = {}) {
  const fixture = createCoreFixture({ FEED_URLS: FEED, ...env });
  const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
  await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(), drafts: [draft('flash', 'FlashAttention tiles attention', 'SRAM tiling makes attention fast')] });
  return fixture;
}

const spec = (name: string): CommandSpec => ALL_COMMANDS.find((c) => c.name === name)!;
const person = (userId: string): Invoker => ({ userId, displayName: userId, canManage: false });
const inServer = (workspaceId: string, platform: Place['platform'] = 'discord'): Place => ({ platform, workspaceId, channelId: `${workspaceId}-papers`, isDirect: false });
const replyText = (reply: Reply) => reply.blocks.map((b) => (b.kind === 'text' ? b.spans.map((s) => s.text).join('') : `[card ${b.card.title}]`)).join('\n');

describe('command rates, through the real command runner', () => {
  let fixture: Awaited<ReturnType<typeof seededFixture>>;
  afterEach(async () => fixture?.store.close());
  const context = (invoker: Invoker, place: Place): CommandContext => ({ invoker, place, services: fixture.core.commandServices });
  const search = (invoker: Invoker, place: Place, query = 'SRAM tiling') => runCommand(spec('search'), context(invoker, place), { query });

  it('GIVEN 5 /search by one member THEN the 6th within 10 s is refused privately with the retry time; another member and another server are unaffected', async () => {
    fixture = await seededFixture();
    const ann = person('ann');
    for (let i = 0; i < 5; i++) expect(replyText(await search(ann, inServer('guild-a')))).toMatch(/FlashAttention/);
    const refused = await search(ann, inServer('guild-a'));
    expect(refused.visibility).toBe('private');
    expect(replyText(refused)).toBe("You're going a bit fast — try again in 2 s.");
    expect(refused.buttons).toBeUndefined();
    expect(replyText(await search(person('bob'), inServer('guild-a')))).toMatch(/FlashAttention/);
    expect(replyText(await search(person('cat'), inServer('guild-b')))).toMatch(/FlashAttention/);
    // The member is one person everywhere on the platform: their allowance is not per server.
    expect(replyText(await search(ann, inServer('guild-b')))).toMatch(SLOW_DOWN);
  });

  it('GIVEN "Share in channel" presses THEN they count as searches, and a refused press shares nothing', async () => {
    fixture = await seededFixture();
    const ann = person('ann');
    const first = await search(ann, inServer('guild-a'));
    const share = first.buttons![0]!.action;
    for (let i = 0; i < 4; i++) expect((await runAction(ALL_COMMANDS, context(ann, inServer('guild-a')), share)).visibility).toBe('public');
    const refusedPress = await runAction(ALL_COMMANDS, context(ann, inServer('guild-a')), share);
    expect(refusedPress.visibility).toBe('private');
    expect(replyText(refusedPress)).toMatch(SLOW_DOWN);
    expect(replyText(await search(ann, inServer('guild-a')))).toMatch(SLOW_DOWN);
  });

  it('GIVEN a refusal THEN after the named wait (the fake clock moved, no sleeping) the member may search again', async () => {
    fixture = await seededFixture();
    const ann = person('ann');
    for (let i = 0; i < 5; i++) await search(ann, inServer('guild-a'));
    const seconds = Number(SLOW_DOWN.exec(replyText(await search(ann, inServer('guild-a'))))![1]);
    fixture.clock.advance(seconds * 1000 - 1);
    expect(replyText(await search(ann, inServer('guild-a')))).toMatch(SLOW_DOWN);
    fixture.clock.advance(1);
    expect(replyText(await search(ann, inServer('guild-a')))).toMatch(/FlashAttention/);
    fixture.clock.advance(10_000);
    for (let i = 0; i < 5; i++) expect(replyText(await search(ann, inServer('guild-a')))).toMatch(/FlashAttention/);
  });

  it('GIVEN the server rate spent THEN every member there gets a private refusal before anything else runs (no channel lookup), and other servers go on', async () => {
    fixture = await seededFixture({ COMMAND_RATE_SERVER: '3/10s' });
    for (const who of ['a', 'b', 'c']) expect(replyText(await runCommand(spec('latest'), context(person(who), inServer('guild-a')), {}))).not.toMatch(/try again/);
    let looked = 0;
    const refused = await runCommand(spec('subscribe'), {
      ...context(person('d'), inServer('guild-a')),
      resolveChannel: async () => {
        looked++;
        return ok({ channelId: 'other', name: 'other', kind: 'text', canManage: true });
      },
    }, { channel: '#other' });
    expect(refused.visibility).toBe('private');
    expect(replyText(refused)).toMatch(/^Inkwire is answering a lot of commands in this server right now — try again in \d+ s\.$/);
    expect(looked).toBe(0);
    expect(replyText(await runCommand(spec('latest'), context(person('d'), inServer('guild-b')), {}))).not.toMatch(/try again/);
  });

  it('GIVEN a member over the autocomplete rate THEN suggestions are empty (no error), and their commands still run', async () => {
    fixture = await seededFixture({ COMMAND_RATE_AUTOCOMPLETE: '2/10s' });
    const ann = person('ann');
    for (let i = 0; i < 2; i++) expect(await runAutocomplete(spec('search'), context(ann, inServer('guild-a')), 'query', 'flash')).not.toEqual([]);
    expect(await runAutocomplete(spec('search'), context(ann, inServer('guild-a')), 'query', 'flash')).toEqual([]);
    expect(await runAutocomplete(spec('search'), context(person('bob'), inServer('guild-a')), 'query', 'flash')).not.toEqual([]);
    expect(replyText(await search(ann, inServer('guild-a')))).toMatch(/FlashAttention/);
  });

  it('GIVEN DMs THEN they count per member; the console operator is exempt; a rate set to off is not applied', async () => {
    fixture = await seededFixture({ COMMAND_RATE_MEMBER: '3/10s' });
    const dm: Place = { platform: 'discord', workspaceId: null, channelId: 'dm-ann', isDirect: true };
    for (let i = 0; i < 3; i++) expect(replyText(await search(person('ann'), dm))).toMatch(/FlashAttention/);
    expect(replyText(await search(person('ann'), dm))).toMatch(SLOW_DOWN);
    expect(replyText(await search(person('bob'), { ...dm, channelId: 'dm-bob' }))).toMatch(/FlashAttention/);
    for (let i = 0; i < 30; i++) expect(replyText(await search(person('operator'), inServer('console', 'console')))).toMatch(/FlashAttention/);
    await fixture.store.close();
    fixture = await seededFixture({ COMMAND_RATE_SEARCH: 'off', COMMAND_RATE_MEMBER: 'off', COMMAND_RATE_SERVER: 'off' });
    for (let i = 0; i < 30; i++) expect(replyText(await search(person('ann'), inServer('guild-a')))).toMatch(/FlashAttention/);
  });
});

describe('command rates, through the Discord adapter (real discord.js against the fake Discord)', () => {
  const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
  const papers = guild.channels[0]!.id;
  const appId = snowflake();
  let fake: FakeDiscord;
  let fixture: Awaited<ReturnType<typeof seededFixture>>;
  let adapter: DiscordAdapter;

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: 'rate-token', appId, guilds: [guild] });
    fixture = await seededFixture();
    adapter = await startDiscordAdapter({
      token: 'rate-token', appId, apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
      onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  const searchAs = (userId: string, value: string) =>
    fake.interact({ type: 2, guildId: guild.id, channelId: papers, userId, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value }] } });
  type Callback = { type: number; data: { content?: string; flags?: number; embeds?: unknown[] } };

  it('GIVEN a 6th /search within 10 s, even one asking to share THEN the refusal is ephemeral (only the member sees it), names the wait, and posts nothing', async () => {
    const userId = snowflake();
    for (let i = 0; i < 5; i++) expect(((await searchAs(userId, 'SRAM tiling')).callbacks[0] as Callback).data.embeds).toHaveLength(1);
    const refused = await fake.interact({
      type: 2, guildId: guild.id, channelId: papers, userId,
      data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'SRAM tiling' }, { name: 'share', type: 5, value: true }] },
    });
    // Answered at once (the refusal costs nothing), as an ephemeral message: never the public reply share:true asked for.
    expect(refused.callbacks).toHaveLength(1);
    const data = (refused.callbacks[0] as Callback).data;
    expect(data.flags).toBe(64);
    expect(data.content).toMatch(/^You're going a bit fast — try again in 2 s\.$/);
    expect(refused.followups).toEqual([]);
    expect(fake.messagesIn(papers)).toEqual([]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a member over the limit pressing "Share in channel" THEN the press is refused ephemerally and nothing is shared', async () => {
    const userId = snowflake();
    for (let i = 0; i < 5; i++) await searchAs(userId, 'SRAM tiling');
    const press = await fake.interact({ type: 3, guildId: guild.id, channelId: papers, userId, data: { custom_id: 'share:5:1:SRAM tiling', component_type: 2 } });
    const data = (press.callbacks[0] as Callback).data;
    expect(data.flags).toBe(64);
    expect(data.content).toMatch(/You're going a bit fast — try again in \d+ s\./);
    expect(data.content).not.toMatch(/Shared by/);
    const other = await fake.interact({ type: 3, guildId: guild.id, channelId: papers, userId: snowflake(), data: { custom_id: 'share:5:1:SRAM tiling', component_type: 2 } });
    expect((other.callbacks[0] as Callback).data.content).toMatch(/^Shared by/);
    expect(fake.violations).toEqual([]);
  });
});

describe('command rates, through the Discord HTTP-interactions adapter', () => {
  it('GIVEN a member over the search rate THEN /search and "Share in channel" get an ephemeral "try again" as the immediate answer, and nothing is shared', async () => {
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    const papers = guild.channels[0]!.id;
    const appId = snowflake();
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const fake = await startFakeDiscord({ token: 'rate-http-token', appId, guilds: [guild] });
    const fixture = await seededFixture();
    const adapter = await startDiscordHttpAdapter({ token: 'rate-http-token', appId, publicKey: hex, apiUrl: fake.apiUrl, services: fixture.core.commandServices, logger: createSilentLogger(), commands: ALL_COMMANDS });
    const server = createServer((req, res) => adapter.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
      const userId = snowflake();
      const searchOnce = () => fake.interactOverHttp(endpoint, privateKey, { type: 2, guildId: guild.id, channelId: papers, userId, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'SRAM tiling' }] } });
      for (let i = 0; i < 5; i++) expect(JSON.parse((await searchOnce()).text).data.embeds).toHaveLength(1);
      const refused = JSON.parse((await searchOnce()).text) as { type: number; data: { content: string; flags: number } };
      expect(refused.data.flags).toBe(64);
      expect(refused.data.content).toBe("You're going a bit fast — try again in 2 s.");
      const press = await fake.interactOverHttp(endpoint, privateKey, { type: 3, guildId: guild.id, channelId: papers, userId, data: { custom_id: 'share:5:1:SRAM tiling', component_type: 2 } });
      const pressed = JSON.parse(press.text) as { data: { content: string; flags: number } };
      expect(pressed.data.flags).toBe(64);
      expect(pressed.data.content).toMatch(/^You're going a bit fast/);
      expect(fake.violations).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await adapter.stop();
      await fake.close();
      await fixture.store.close();
    }
  });
});

import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { startDiscordHttpAdapter, type DiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { GENERIC_FAILURE } from '../../src/commands/command-runner.ts';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { textReply } from '../../src/commands/reply.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { spawnInkwire, untilPlatformConnected } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { seedSubscribedFeed } from '../fakes/seeded-database.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const MANAGE = 1n << 4n;

/** An application key pair as the Developer Portal holds it: the public half as 64 hex characters. */
function applicationKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return { hex, privateKey };
}

describe('Discord over HTTP interactions (DISCORD_PUBLIC_KEY)', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  async function startBot(options: { db: string; feedUrl: string; guilds: Parameters<typeof startFakeDiscord>[0]['guilds'] }) {
    const appId = snowflake();
    const keys = applicationKeys();
    const discord = await startFakeDiscord({ token: 'http-mode-token', appId, guilds: options.guilds });
    const port = await freePort();
    const bot = spawnInkwire(['start'], {
      FEED_URLS: options.feedUrl, DATABASE_URL: options.db, POLL_JITTER_SECONDS: '0', DELIVERY_RETRY_BASE_SECONDS: '1',
      DISCORD_TOKEN: 'http-mode-token', DISCORD_APP_ID: appId, DISCORD_API_URL: discord.apiUrl, DISCORD_PUBLIC_KEY: keys.hex,
      HTTP_PORT: String(port),
    });
    cleanups.push(() => discord.close(), () => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/http server listening/, { stream: 'stderr' });
    await untilPlatformConnected(port, 'discord');
    const endpoint = `http://127.0.0.1:${port}/discord/interactions`;
    return { discord, bot, endpoint, keys, base: `http://127.0.0.1:${port}` };
  }

  it('GIVEN signed requests THEN PING, commands, autocomplete and buttons are answered within 3 s; a bad, missing or stale signature gets 401 and changes nothing', async () => {
    const feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    cleanups.push(() => feeds.close());
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    const { discord, bot, endpoint, keys, base } = await startBot({ db: dir.file('http-commands.db'), feedUrl: feeds.url('/feed'), guilds: [guild] });
    await bot.waitFor(/feed seen for the first time/, { stream: 'stderr' });
    const papers = guild.channels[0]!.id;

    const ping = await discord.interactOverHttp(endpoint, keys.privateKey, { type: 1, guildId: null, channelId: papers, data: {} });
    expect(ping.status).toBe(200);
    expect(JSON.parse(ping.text)).toEqual({ type: 1 });

    // Forged requests: nothing runs, nothing is stored.
    const subscribe = { type: 2 as const, guildId: guild.id, channelId: papers, permissions: MANAGE, data: { id: snowflake(), name: 'subscribe', type: 1, options: [] } };
    for (const signature of ['wrong', 'missing', 'stale'] as const) {
      const forged = await discord.interactOverHttp(endpoint, keys.privateKey, { ...subscribe, signature });
      expect(forged.status, signature).toBe(401);
      expect(forged.interaction.callbacks, signature).toEqual([]);
    }
    const other = applicationKeys(); // signed, but by some other key
    expect((await discord.interactOverHttp(endpoint, other.privateKey, subscribe)).status).toBe(401);
    const before = openSqliteStore(dir.file('http-commands.db'));
    expect(await before.subscriptions.listForChannel('discord', papers)).toEqual([]);
    await before.close();
    expect((await fetch(endpoint)).status).toBe(405);

    // A member without Manage Channels is refused; a manager subscribes the channel.
    const member = await discord.interactOverHttp(endpoint, keys.privateKey, { ...subscribe, permissions: 0n });
    expect(member.interaction.callbacks[0]).toMatchObject({ type: 4, data: { flags: 64, content: expect.stringMatching(/Only people who can manage this channel/) } });
    const admin = await discord.interactOverHttp(endpoint, keys.privateKey, subscribe);
    expect(admin.elapsedMs).toBeLessThan(3000);
    expect(admin.interaction.callbacks[0]).toMatchObject({ type: 4, data: { content: expect.stringMatching(/^Subscribed\\: \*\*/) } });

    const search = await discord.interactOverHttp(endpoint, keys.privateKey, { type: 2, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'SRAM tiling' }] } });
    const found = search.interaction.callbacks[0] as { type: number; data: { flags: number; embeds: Array<{ title: string }> } };
    expect(found.type).toBe(4);
    expect(found.data.flags).toBe(64);
    expect(found.data.embeds[0]!.title).toMatch(/^FlashAttention/);

    const auto = await discord.interactOverHttp(endpoint, keys.privateKey, { type: 4, guildId: guild.id, channelId: papers, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'flash', focused: true }] } });
    const choices = auto.interaction.callbacks[0] as { type: number; data: { choices: Array<{ name: string }> } };
    expect(choices.type).toBe(8);
    expect(choices.data.choices.some((c) => c.name.startsWith('FlashAttention'))).toBe(true);

    const shared = await discord.interactOverHttp(endpoint, keys.privateKey, { type: 3, guildId: guild.id, channelId: papers, data: { custom_id: 'share', component_type: 2 } });
    expect(shared.interaction.callbacks[0]).toMatchObject({ type: 4, data: { content: 'Shared by reader:', embeds: [{ title: 'Shared card' }], allowed_mentions: { parse: [] } } });
    const forgedButton = await discord.interactOverHttp(endpoint, keys.privateKey, { type: 3, guildId: guild.id, channelId: papers, permissions: MANAGE, data: { custom_id: 'sub:latest:99999', component_type: 2 } });
    expect(forgedButton.interaction.callbacks[0]).toMatchObject({ type: 4, data: { flags: 64, content: expect.stringMatching(/no longer matches/) } });

    // No gateway: the bot never identified, and /readyz counts Discord as connected.
    expect(discord.counters.identifies).toBe(0);
    expect(await (await fetch(`${base}/readyz`)).text()).toMatch(/ok {3}discord connected/);
    expect(discord.violations).toEqual([]);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });

  it('GIVEN a new post THEN it reaches a text channel and a forum over REST, and a deleted or hidden channel loses its subscriptions at the first refusal', async () => {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    const [text, forum, deleted, hidden] = [snowflake(), snowflake(), snowflake(), snowflake()];
    const guild = {
      id: snowflake(), name: 'Readers',
      channels: [
        { id: text, name: 'papers' }, { id: forum, name: 'explainers', type: 15 as const, tags: [{ id: snowflake(), name: 'attention' }] },
        { id: deleted, name: 'old' }, { id: hidden, name: 'private' },
      ],
    };
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const db = dir.file('http-deliveries.db');
    await seedSubscribedFeed(db, feeds.url('/feed'), [text, forum, deleted, hidden].map((channelId) => ({ platform: 'discord' as const, workspaceId: guild.id, channelId })));
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    const { discord, bot } = await startBot({ db, feedUrl: feeds.url('/feed'), guilds: [guild] });
    discord.deleteChannel(deleted);
    discord.revokeAccess(hidden);

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(discord.messagesIn(text).length === 1 && discord.threads.length === 1 && /subscriptions are removed[\s\S]*subscriptions are removed/.test(bot.stderr()))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(discord.messagesIn(text)).toHaveLength(1);
    // The forum was taken for a text channel, answered 50008, was looked up once, and got a forum post.
    expect(discord.threads).toEqual([expect.objectContaining({ parentId: forum, fromMessageId: null })]);
    expect(discord.counters.channelLookups).toBe(1);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);

    const store = openSqliteStore(db);
    try {
      for (const gone of [deleted, hidden]) expect(await store.subscriptions.listForChannel('discord', gone), gone).toEqual([]);
      for (const kept of [text, forum]) expect(await store.subscriptions.listForChannel('discord', kept), kept).toHaveLength(1);
      const failed = await store.deliveries.list({ limit: 10, status: 'failed' });
      expect(failed).toEqual([]); // the pruned channels' deliveries went with their subscriptions
    } finally {
      await store.close();
    }
    expect(discord.counters.identifies).toBe(0);
    expect(discord.violations).toEqual([]);
  });
});

describe('Discord HTTP interactions that take longer than 2 s', () => {
  const slow = (name: string, ms: number, visibility: 'public' | 'private', fail = false): CommandSpec => ({
    name, description: 'slow', options: [], permission: 'everyone',
    handle: async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (fail) throw new Error('the database went away');
      return textReply(visibility, `${name} done`);
    },
  });
  const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
  const appId = snowflake();
  const keys = applicationKeys();
  let fake: FakeDiscord;
  let adapter: DiscordHttpAdapter;
  let server: Server;
  let endpoint: string;
  let fixture: ReturnType<typeof createCoreFixture>;

  beforeAll(async () => {
    fake = await startFakeDiscord({ token: 'slow-token', appId, guilds: [guild] });
    fixture = createCoreFixture();
    adapter = await startDiscordHttpAdapter({
      token: 'slow-token', appId, publicKey: keys.hex, apiUrl: fake.apiUrl, services: fixture.core.commandServices, logger: createSilentLogger(),
      commands: [slow('slowprivate', 2200, 'private'), slow('slowpublic', 2200, 'public'), slow('slowfail', 2200, 'private', true)],
    });
    server = createServer((req, res) => adapter.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
  });
  afterAll(async () => {
    await adapter?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await fake?.close();
    await fixture?.store.close();
  });

  const run = (name: string) => fake.interactOverHttp(endpoint, keys.privateKey, { type: 2, guildId: guild.id, channelId: guild.channels[0]!.id, data: { id: snowflake(), name, type: 1, options: [] } });

  it('GIVEN a slow private answer THEN the HTTP answer is a deferral within 3 s and the reply is edited in', async () => {
    const { interaction, elapsedMs } = await run('slowprivate');
    expect(elapsedMs).toBeLessThan(3000);
    expect(interaction.callbacks).toEqual([{ type: 5, data: { flags: 64 } }]);
    expect(interaction.edits).toEqual([expect.objectContaining({ content: 'slowprivate done' })]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a slow public answer THEN the private placeholder is removed and the answer follows up for everyone', async () => {
    const { interaction } = await run('slowpublic');
    expect(interaction.deleted).toBe(true);
    expect(interaction.followups).toEqual([expect.objectContaining({ content: 'slowpublic done' })]);
    expect((interaction.followups[0] as { flags?: number }).flags ?? 0).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a command that fails after the deferral THEN the "thinking…" reply is replaced by an apology, never left', async () => {
    const { interaction } = await run('slowfail');
    expect(interaction.callbacks[0]).toMatchObject({ type: 5 });
    expect(interaction.edits).toEqual([expect.objectContaining({ content: GENERIC_FAILURE })]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a body over 1 MB, not JSON, or an interaction of an unknown type THEN it is refused or answered without running anything', async () => {
    const big = await fetch(endpoint, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) }).catch((error: unknown) => error);
    if (big instanceof Response) expect(big.status).toBe(413);
    else expect(String(big)).toMatch(/fetch failed|socket|reset/i); // the connection is cut after the 413
    const timestamp = String(Math.floor(Date.now() / 1000));
    const garbage = '{"type": 2, "data": ';
    const signedGarbage = await fetch(endpoint, {
      method: 'POST', body: garbage,
      headers: { 'x-signature-timestamp': timestamp, 'x-signature-ed25519': sign(null, Buffer.from(timestamp + garbage), keys.privateKey).toString('hex') },
    });
    expect(signedGarbage.status).toBe(400);
    expect(await signedGarbage.text()).toMatch(/not JSON/);
    // A signed interaction of a kind Inkwire does not handle: a polite private answer, not a crash.
    const unknown = JSON.stringify({ id: snowflake(), application_id: appId, type: 99, token: 't', version: 1 });
    const answered = await fetch(endpoint, {
      method: 'POST', body: unknown,
      headers: { 'x-signature-timestamp': timestamp, 'x-signature-ed25519': sign(null, Buffer.from(timestamp + unknown), keys.privateKey).toString('hex') },
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ type: 4, data: { flags: 64, content: expect.stringMatching(/does not handle that kind of interaction/) } });
  });
});

import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach, type Cleanups } from '../fakes/cleanups.ts';
import { startDiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createLogger, createSilentLogger } from '../../src/logger.ts';
import { admin, createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscordOptions } from '../fakes/discord/fake-discord.ts';
import { makeDraft } from '../fakes/post-drafts.ts';

const FEED = 'https://dailyink.substack.com/feed';
const POST = makeDraft('mixture-of-experts', { title: 'Mixture of Experts, Explained', tldr: 'Sparse experts: more parameters, same compute.' });

/** A gateway bot on the fake, one subscription of `channel`, one post published, and an engine to drain it. */
async function setUp(cleanups: Cleanups, guild: { id: string; name: string; channels: FakeDiscordOptions['guilds'][number]['channels'] }, channelId: string, fake: Omit<FakeDiscordOptions, 'token' | 'appId' | 'guilds'>, request: { thread?: boolean }) {
  const discord = await startFakeDiscord({ token: 'once-token', appId: snowflake(), guilds: [guild], ...fake });
  // The clock starts now: a thread's id carries Discord's time, and the look-up compares them.
  const fixture = createCoreFixture({ FEED_URLS: FEED }, new Date());
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => void lines.push(line) } });
  const adapter = await startDiscordAdapter({
    token: 'once-token', appId: snowflake(), apiUrl: discord.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices,
    logger, onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
  });
  cleanups.push(() => discord.close(), () => fixture.store.close(), () => adapter.stop());
  const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
  const sub = await fixture.core.subscriptions.subscribe({ platform: 'discord', workspaceId: guild.id, channelId, isDirect: false }, admin, request);
  if (!sub.ok) throw sub.error;
  await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [POST], announceKeys: new Set([POST.key]) });
  const engine = createDeliveryEngine({
    platform: adapter, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
    concurrency: 2, leaseMs: 60_000, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 10_000,
  });
  const drain = async () => {
    for (let i = 0; i < 5; i++) {
      await engine.drain();
      if ((await fixture.store.deliveries.list({ status: 'sent', limit: 1 })).length === 1) return;
      fixture.clock.advance(1000);
    }
  };
  return { discord, fixture, drain, lines };
}

describe('a Discord thread or forum post is made once per delivery, even when its answer is lost', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN the fake Discord THEN a repeated forum post makes a second post and a second thread start on one message answers 160004, as Discord does', async () => {
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }, { id: snowflake(), name: 'paper-forum', type: 15 as const }] };
    const discord = await startFakeDiscord({ token: 'fake-token', appId: snowflake(), guilds: [guild] });
    cleanups.push(() => discord.close());
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${discord.apiUrl}/v10${path}`, { method, headers: { authorization: 'Bot fake-token', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const forumPost = { name: 'A post', message: { content: 'hello', allowed_mentions: { parse: [] } } };
    expect((await call('POST', `/channels/${guild.channels[1]!.id}/threads`, forumPost)).status).toBe(201);
    expect((await call('POST', `/channels/${guild.channels[1]!.id}/threads`, forumPost)).status).toBe(201);
    expect(discord.threads.filter((t) => t.parentId === guild.channels[1]!.id)).toHaveLength(2);

    const sent = (await (await call('POST', `/channels/${guild.channels[0]!.id}/messages`, { content: 'card', allowed_mentions: { parse: [] } })).json()) as { id: string };
    expect((await call('POST', `/channels/${guild.channels[0]!.id}/messages/${sent.id}/threads`, { name: 'Talk' })).status).toBe(201);
    const again = await call('POST', `/channels/${guild.channels[0]!.id}/messages/${sent.id}/threads`, { name: 'Talk' });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { code: number }).code).toBe(160004);
    expect(discord.threads.filter((t) => t.fromMessageId === sent.id)).toHaveLength(1);
    expect(discord.violations).toEqual([]);
  });

  it('GIVEN a forum post Discord made but whose answer was lost THEN the retry finds that post by its look-up and makes no second one', async () => {
    const forum = snowflake();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: forum, name: 'paper-forum', type: 15 as const }] };
    let creates = 0;
    const { discord, fixture, drain, lines } = await setUp(cleanups, guild, forum, { threadFault: () => (creates++ === 0 ? 'lose' : null) }, {});
    await drain();
    const posts = discord.threads.filter((t) => t.parentId === forum);
    expect(posts).toHaveLength(1);
    expect(discord.counters.lostResponses).toBe(1);
    expect(discord.counters.activeThreadLookups).toBe(1); // the uncertain retry looked before posting
    const [delivery] = await fixture.store.deliveries.list({ limit: 1 });
    expect(delivery).toMatchObject({ status: 'sent', messageId: posts[0]!.threadId });
    expect(lines.join('')).toContain('an earlier attempt had made this forum post');
    expect(discord.violations).toEqual([]);
  });

  it('GIVEN thread:true and a thread start whose answer was lost THEN the card has one thread, and Inkwire takes Discord\'s 160004 as "already started"', async () => {
    const papers = snowflake();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: papers, name: 'papers' }] };
    let creates = 0;
    const { discord, drain, lines } = await setUp(cleanups, guild, papers, { threadFault: () => (creates++ === 0 ? 'lose' : null) }, { thread: true });
    await drain();
    expect(discord.counters.lostResponses).toBe(1);
    expect(discord.counters.threadRepeats).toBe(1); // asked once more: Discord said it already exists
    const [card] = discord.messagesIn(papers);
    expect(discord.threads.filter((t) => t.fromMessageId === card!.id)).toHaveLength(1);
    expect(lines.join('')).not.toContain('could not start the discussion thread');
    expect(discord.violations).toEqual([]);
  });

  it('GIVEN thread:true and a card whose answer was lost THEN the retry gets the same card back by its nonce and the card has one thread', async () => {
    const papers = snowflake();
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: papers, name: 'papers' }] };
    let posts = 0;
    const { discord, drain, lines } = await setUp(cleanups, guild, papers, { fault: () => (posts++ === 0 ? 'lose' : null) }, { thread: true });
    await drain();
    expect(discord.counters.nonceRepeats).toBe(1);
    const [card] = discord.messagesIn(papers);
    expect(discord.messagesIn(papers)).toHaveLength(1);
    expect(discord.threads.filter((t) => t.fromMessageId === card!.id)).toHaveLength(1);
    expect(lines.join('')).not.toContain('could not start the discussion thread');
    expect(discord.violations).toEqual([]);
  });
});

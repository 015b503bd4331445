import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { startDiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import { admin, createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';

const FEED = 'https://dailyink.substack.com/feed';
const POST = makeDraft('mixture-of-experts', { title: 'Mixture of Experts, Explained', text: 'A router sends each token to two experts.', tldr: 'Sparse experts: more parameters, same compute.', papers: [{ kind: 'arxiv', id: '1701.06538' }] });

async function deliverTo(fixture: ReturnType<typeof createCoreFixture>, platform: ChatPlatform, place: { platform: 'discord' | 'slack'; workspaceId: string; channelId: string }, request: { thread?: boolean }) {
  const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
  const sub = await fixture.core.subscriptions.subscribe({ ...place, isDirect: false }, admin, request);
  if (!sub.ok) throw sub.error;
  await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [POST], announceKeys: new Set([POST.key]) });
  await createDeliveryEngine({
    platform, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
    concurrency: 2, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000,
  }).drain();
  expect((await fixture.store.deliveries.list({ limit: 5 }))[0]?.status).toBe('sent');
}

describe('a discussion in one place for each paper', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN thread:true on Discord THEN the card gets a public thread named after the post; a forum channel gets one tagged forum post per explainer', async () => {
    const moe = { id: snowflake(), name: 'Mixture of Experts' };
    const guild = {
      id: snowflake(), name: 'Readers',
      channels: [{ id: snowflake(), name: 'papers' }, { id: snowflake(), name: 'paper-forum', type: 15 as const, tags: [moe, { id: snowflake(), name: 'Diffusion' }] }],
    };
    const [papers, forum] = [guild.channels[0]!.id, guild.channels[1]!.id];
    const fake = await startFakeDiscord({ token: 'thread-token', appId: snowflake(), guilds: [guild] });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startDiscordAdapter({
      token: 'thread-token', appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices,
      logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
    await deliverTo(fixture, adapter, { platform: 'discord', workspaceId: guild.id, channelId: papers }, { thread: true });
    const [card] = fake.messagesIn(papers);
    expect(fake.threads).toContainEqual(expect.objectContaining({ parentId: papers, fromMessageId: card!.id, name: 'Mixture of Experts, Explained' }));

    const second = createCoreFixture({ FEED_URLS: FEED });
    cleanups.push(() => second.store.close());
    await deliverTo(second, adapter, { platform: 'discord', workspaceId: guild.id, channelId: forum }, {});
    const post = fake.threads.find((t) => t.parentId === forum);
    expect(post).toMatchObject({ name: 'Mixture of Experts, Explained', fromMessageId: null, appliedTags: [moe.id] });
    expect(fake.messagesIn(post!.threadId)).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN thread:true on Slack THEN the card\'s thread starts with the tl;dr and the papers', async () => {
    const fake = await startFakeSlack({ tokens: { T1: 'xoxb-t' }, channels: { CPAPERS: {} }, perChannelPerSecond: 5 });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startSlackAdapter({
      signingSecret: 's', botToken: 'xoxb-t', port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'everyone',
      commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
    await deliverTo(fixture, adapter, { platform: 'slack', workspaceId: 'T1', channelId: 'CPAPERS' }, { thread: true });
    const [card, reply] = fake.postsIn('CPAPERS');
    expect(reply?.threadTs).toBe(card!.ts);
    expect(JSON.stringify(reply?.blocks)).toContain('Sparse experts: more parameters, same compute.');
    expect(JSON.stringify(reply?.blocks)).toContain('<https://arxiv.org/abs/1701.06538|arXiv:1701.06538>');
    expect(fake.violations).toEqual([]);
  });
});

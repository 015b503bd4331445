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

/** Subscribes `channelId` on `platform`, publishes one post, and returns a drain that moves the clock past retries. */
async function oneDelivery(fixture: ReturnType<typeof createCoreFixture>, platform: ChatPlatform, place: { platform: 'discord' | 'slack'; workspaceId: string; channelId: string }) {
  const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
  const sub = await fixture.core.subscriptions.subscribe({ ...place, isDirect: false }, admin, {});
  if (!sub.ok) throw sub.error;
  await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [makeDraft('moe', { title: 'Mixture of Experts' })], announceKeys: new Set(['slug:moe']) });
  const engine = createDeliveryEngine({
    platform, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
    concurrency: 2, leaseMs: 60_000, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 10_000,
  });
  return async () => {
    for (let i = 0; i < 4; i++) {
      await engine.drain();
      if ((await fixture.store.deliveries.list({ status: 'sent', limit: 1 })).length === 1) return;
      fixture.clock.advance(1000);
    }
  };
}

describe('a message accepted by the platform whose answer is lost appears once', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN Discord (de-duplicates by nonce) creates the message and drops the connection THEN the retry returns the same message', async () => {
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    let lost = 0;
    const fake = await startFakeDiscord({ token: 't0ken', appId: snowflake(), guilds: [guild], fault: () => (lost++ === 0 ? 'lose' : null) });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startDiscordAdapter({
      token: 't0ken', appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices,
      logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
    const drain = await oneDelivery(fixture, adapter, { platform: 'discord', workspaceId: guild.id, channelId: guild.channels[0]!.id });
    await drain();
    expect(fake.counters.lostResponses).toBe(1);
    expect(fake.counters.nonceRepeats).toBe(1); // the repeat carried the same nonce
    expect(fake.messagesIn(guild.channels[0]!.id)).toHaveLength(1);
    expect((await fixture.store.deliveries.list({ limit: 1 }))[0]).toMatchObject({ status: 'sent', messageId: fake.messages[0]!.id });
    expect(fake.violations).toEqual([]);
  });

  for (const fault of ['lose', 'hang'] as const) {
    it(`GIVEN Slack (no idempotency key) posts the message and then ${fault === 'lose' ? 'drops the connection' : 'never answers'} THEN Inkwire finds its message by key instead of posting again`, async () => {
      let faults = 0;
      const fake = await startFakeSlack({ tokens: { T1: 'xoxb-t' }, channels: { CPAPERS: {} }, fault: () => (faults++ === 0 ? fault : null) });
      const fixture = createCoreFixture({ FEED_URLS: FEED }, new Date()) // Slack's ts are real time: the look-up's window is on the same clock;
      const adapter = await startSlackAdapter({
        signingSecret: 's', botToken: 'xoxb-t', port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'everyone',
        commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(), requestTimeoutMs: 500,
      });
      cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
      const drain = await oneDelivery(fixture, adapter, { platform: 'slack', workspaceId: 'T1', channelId: 'CPAPERS' });
      await drain();
      expect(fake.postsIn('CPAPERS')).toHaveLength(1);
      expect(fake.historyCalls).toEqual([expect.objectContaining({ channel: 'CPAPERS', includeMetadata: true })]);
      expect((await fixture.store.deliveries.list({ limit: 1 }))[0]).toMatchObject({ status: 'sent', messageId: fake.posts[0]!.ts });
      expect(fake.violations).toEqual([]);
    });
  }

  it('GIVEN Slack answers 500 without posting THEN the retry posts (no look-up needed) and the channel has one message', async () => {
    let faults = 0;
    const fake = await startFakeSlack({ tokens: { T1: 'xoxb-t' }, channels: { CPAPERS: {} }, fault: () => (faults++ === 0 ? '500' : null) });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startSlackAdapter({
      signingSecret: 's', botToken: 'xoxb-t', port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'everyone',
      commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
    const drain = await oneDelivery(fixture, adapter, { platform: 'slack', workspaceId: 'T1', channelId: 'CPAPERS' });
    await drain();
    expect(fake.faults.errors500).toBe(1);
    expect(fake.postsIn('CPAPERS')).toHaveLength(1);
    expect(fake.historyCalls).toEqual([]);
  });

  it('GIVEN Discord refuses one message body (50035) THEN that delivery fails alone, the subscription stays active and the next post arrives', async () => {
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    const channelId = guild.channels[0]!.id;
    let posts = 0;
    const fake = await startFakeDiscord({ token: 't0ken', appId: snowflake(), guilds: [guild], fault: () => (posts++ === 0 ? '50035' : null) });
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const adapter = await startDiscordAdapter({
      token: 't0ken', appId: snowflake(), apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: fixture.core.commandServices,
      logger: createSilentLogger(), onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop());
    const drain = await oneDelivery(fixture, adapter, { platform: 'discord', workspaceId: guild.id, channelId });
    await drain();
    const [subscription] = await fixture.store.subscriptions.listForChannel('discord', channelId);
    expect(subscription?.pausedAt).toBeNull();
    expect((await fixture.store.deliveries.list({ status: 'failed', limit: 5 }))[0]?.lastError).toMatch(/delivery\/invalid-payload/);
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.store.posts.ingest({ feedId: feed.id, at: fixture.clock.now(), drafts: [makeDraft('next-post', { title: 'Next post' })], announceKeys: new Set(['slug:next-post']) });
    await createDeliveryEngine({
      platform: adapter, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
      concurrency: 2, leaseMs: 60_000, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 10_000,
    }).drain();
    expect(fake.messagesIn(channelId).map((m) => (m.body.embeds as Array<{ title: string }>)[0]!.title)).toEqual(['Next post']);
  });
});

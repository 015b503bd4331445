import { describe, expect, it } from 'vitest';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { admin, createCoreFixture } from '../fakes/core-fixture.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';

const CONFIGURED = 'https://dailyink.substack.com/feed';
const PRIVATE = 'https://private.example.com/feed';

describe('personal alerts see only the feeds their own server can see', () => {
  it('GIVEN a private feed added in server A THEN its posts reach alerts of A\'s members, not B\'s; configured feeds reach both', async () => {
    const fixture = createCoreFixture({ FEED_URLS: CONFIGURED, ALLOW_ANY_FEED: 'true' });
    const recorder = createRecordingPlatform();
    const configured = await fixture.store.feeds.ensure(CONFIGURED, fixture.clock.now());
    const privateFeed = await fixture.store.feeds.ensure(PRIVATE, fixture.clock.now(), { addedBy: 'console:server-a' });
    await fixture.store.subscriptions.create({
      kind: 'channel', platform: 'console', workspaceId: 'server-a', channelId: 'a-news', feedId: privateFeed.id, keywords: [],
      mode: 'instant', mentionId: null, createdBy: 'u-admin', createdAt: fixture.clock.now(),
    });
    for (const [server, user] of [['server-a', 'alice'], ['server-b', 'bob']] as const) {
      const added = await fixture.core.subscriptions.addAlert({ platform: 'console', workspaceId: server, channelId: 'general', isDirect: false }, { ...admin, userId: user }, 'experts');
      expect(added.ok).toBe(true);
    }
    await fixture.store.posts.ingest({ feedId: privateFeed.id, at: fixture.clock.now(), drafts: [makeDraft('internal-moe', { text: 'experts, internal' })], announceKeys: new Set(['slug:internal-moe']) });
    await fixture.store.posts.ingest({ feedId: configured.id, at: fixture.clock.now(), drafts: [makeDraft('public-moe', { text: 'experts, public' })], announceKeys: new Set(['slug:public-moe']) });
    await createDeliveryEngine({
      platform: recorder.platform, deliveries: fixture.store.deliveries, clock: fixture.clock, logger: createSilentLogger(),
      concurrency: 4, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000,
    }).drain();
    const dms = (user: string) => recorder.sends.filter((s) => s.destination.direct && s.destination.channelId === user).map((s) => (s.message.kind === 'post' ? s.message.card.title : ''));
    expect(dms('alice').sort()).toEqual(['internal moe', 'public moe']);
    expect(dms('bob')).toEqual(['public moe']);
    expect(recorder.sendsTo('a-news')).toHaveLength(1);
    await fixture.store.close();
  });
});

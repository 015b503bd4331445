import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { digestPeriod } from '../../src/delivery/digest-scheduler.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { admin, channel, createCoreFixture } from '../fakes/core-fixture.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';

const FEED = 'https://dailyink.substack.com/feed';

function draft(slug: string, title: string, text: string, publishedAt: string): PostDraft {
  return {
    key: `slug:${slug}`, guid: null, url: `https://dailyink.substack.com/p/${slug}`, title, subtitle: null, author: 'A',
    publishedAt: new Date(publishedAt), coverImageUrl: null, html: `<p>${text}</p>`, text, wordCount: 10, readingMinutes: 1,
    tldr: text, previewOnly: false, papers: [],
  };
}

describe('the delivery engine with a recording platform', () => {
  let fixture: ReturnType<typeof createCoreFixture>;
  let recorder: ReturnType<typeof createRecordingPlatform>;
  let feedId: number;

  const engine = (overrides: Partial<Parameters<typeof createDeliveryEngine>[0]> = {}) =>
    createDeliveryEngine({
      platform: recorder.platform,
      deliveries: fixture.store.deliveries,
      clock: fixture.clock,
      logger: createSilentLogger(),
      concurrency: 4,
      leaseMs: 60_000,
      maxAttempts: 5,
      retryBaseMs: 1000,
      retryMaxMs: 60_000,
      ...overrides,
    });

  const publish = async (...drafts: PostDraft[]) =>
    fixture.store.posts.ingest({ feedId, at: fixture.clock.now(), drafts, announceKeys: new Set(drafts.map((d) => d.key)) });

  const subscribe = async (channelId: string, request: Parameters<typeof fixture.core.subscriptions.subscribe>[2] = {}) => {
    const result = await fixture.core.subscriptions.subscribe(channel(channelId), admin, request);
    if (!result.ok) throw result.error;
    return result.value.subscription;
  };

  beforeEach(async () => {
    fixture = createCoreFixture({ FEED_URLS: FEED });
    recorder = createRecordingPlatform();
    feedId = (await fixture.store.feeds.ensure(FEED, fixture.clock.now())).id;
  });
  afterEach(async () => fixture.store.close());

  it('GIVEN N subscribed channels and one new post THEN exactly N sends, each with its own idempotency key', async () => {
    for (let i = 0; i < 25; i++) await subscribe(`c${i}`);
    await publish(draft('moe', 'Mixture of Experts', 'router experts', '2023-03-10T00:00:00Z'));
    await engine().drain();
    expect(recorder.sends).toHaveLength(25);
    expect(new Set(recorder.sends.map((s) => s.destination.channelId)).size).toBe(25);
    expect(new Set(recorder.sends.map((s) => s.idempotencyKey)).size).toBe(25);
    await engine().drain(); // nothing left: a second pass sends nothing
    expect(recorder.sends).toHaveLength(25);
  });

  it('GIVEN keyword filters THEN only matching channels get the post (case- and accent-insensitive, phrases)', async () => {
    await subscribe('experts', { keywords: 'EXPERTS' });
    await subscribe('phrase', { keywords: '"mixture of experts"' });
    await subscribe('accents', { keywords: 'routér' });
    await subscribe('other', { keywords: 'diffusion, rlhf' });
    await publish(draft('moe', 'Mixture of Experts', 'a router sends tokens', '2023-03-10T00:00:00Z'));
    await engine().drain();
    expect(recorder.sends.map((s) => s.destination.channelId).sort()).toEqual(['accents', 'experts', 'phrase']);
  });

  it('GIVEN one channel and three posts THEN they arrive oldest first, one at a time', async () => {
    await subscribe('ordered');
    recorder.slowDown('ordered', 20);
    await publish(
      draft('c', 'Third', 'x', '2023-03-12T00:00:00Z'),
      draft('a', 'First', 'x', '2023-03-10T00:00:00Z'),
      draft('b', 'Second', 'x', '2023-03-11T00:00:00Z'),
    );
    await engine({ concurrency: 8 }).drain();
    expect(recorder.sends.map((s) => (s.message.kind === 'post' ? s.message.card.title : ''))).toEqual(['First', 'Second', 'Third']);
  });

  it('GIVEN a deleted channel THEN its subscription pauses with the reason, others are not delayed, and the server is told', async () => {
    const gone = await subscribe('gone');
    await subscribe('fine-1');
    await subscribe('fine-2');
    recorder.failPermanently('gone');
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    await engine().drain();
    expect(recorder.sends.map((s) => s.destination.channelId).sort()).toEqual(['fine-1', 'fine-2']);
    const paused = await fixture.store.subscriptions.get(gone.id);
    expect(paused?.pausedReason).toBe('the channel was deleted');
    const notices = await fixture.core.subscriptions.takeNotices(channel('anywhere'));
    expect(notices).toEqual([expect.stringContaining('paused delivery to channel gone')]);
    expect(await fixture.core.subscriptions.takeNotices(channel('anywhere'))).toEqual([]); // told once
    // A later post is not even attempted for the paused subscription.
    await publish(draft('next', 'Next', 'x', '2023-03-11T00:00:00Z'));
    await engine().drain();
    expect(recorder.sends.filter((s) => s.destination.channelId === 'gone')).toHaveLength(0);
  });

  it('GIVEN a transient failure THEN the delivery backs off, retries and succeeds', async () => {
    await subscribe('flaky');
    recorder.failTransiently('flaky', 2);
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    const e = engine();
    await e.drain();
    expect(recorder.sends).toHaveLength(0);
    const [pending] = await fixture.store.deliveries.list({ status: 'pending', limit: 5 });
    expect(pending?.lastError).toMatch(/503/);
    fixture.clock.advance(1000);
    await e.drain();
    fixture.clock.advance(2000);
    await e.drain();
    expect(recorder.sends).toHaveLength(1);
    expect((await fixture.store.deliveries.list({ limit: 5 }))[0]).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('GIVEN Retry-After on a rate-limit error THEN waits at least that long', async () => {
    await subscribe('limited');
    let calls = 0;
    const original = recorder.platform.send.bind(recorder.platform);
    recorder.platform.send = async (...args) => {
      if (calls++ === 0) throw new DeliveryError('delivery/rate-limited', 'rate limited', { retryAfterMs: 30_000 });
      return original(...args);
    };
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    await engine().drain();
    const [pending] = await fixture.store.deliveries.list({ status: 'pending', limit: 1 });
    expect(pending!.nextAttemptAt.getTime() - fixture.clock.now().getTime()).toBe(30_000);
  });

  it('GIVEN a worker that claimed a delivery and died THEN another sends it after the lease, with the same key', async () => {
    await subscribe('crash');
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    const [claimed] = await fixture.store.deliveries.claimDue({ now: fixture.clock.now(), limit: 1, leaseMs: 60_000, owner: 'dead', platform: 'console' });
    await engine().drain();
    expect(recorder.sends).toHaveLength(0); // still leased by the dead worker
    fixture.clock.advance(60_001);
    await engine().drain();
    expect(recorder.sends).toHaveLength(1);
    expect(recorder.sends[0]!.idempotencyKey).toBe(claimed!.idempotencyKey);
  });

  it('GIVEN daily digest subscriptions THEN one digest per channel per day, none when empty', async () => {
    await subscribe('digest', { mode: 'daily' });
    await subscribe('instant');
    await publish(draft('a', 'First', 'x', '2023-03-10T00:00:00Z'), draft('b', 'Second', 'x', '2023-03-10T06:00:00Z'));
    const e = engine();
    await e.drain();
    expect(recorder.sendsTo('digest')).toHaveLength(0);
    expect(recorder.sendsTo('instant')).toHaveLength(2);
    const period = digestPeriod('daily', fixture.clock.now(), 'UTC');
    expect(await fixture.store.deliveries.bundleDigests('daily', period, fixture.clock.now())).toBe(1);
    expect(await fixture.store.deliveries.bundleDigests('daily', period, fixture.clock.now())).toBe(0);
    await e.drain();
    const [digest] = recorder.sendsTo('digest');
    expect(digest?.message.kind === 'digest' && digest.message.cards.map((c) => c.title)).toEqual(['First', 'Second']);
    fixture.clock.advance(24 * 3600_000);
    expect(await fixture.store.deliveries.bundleDigests('daily', digestPeriod('daily', fixture.clock.now(), 'UTC'), fixture.clock.now())).toBe(0);
  });

  it('GIVEN a personal alert THEN the matching post goes to that member as a direct message', async () => {
    const added = await fixture.core.subscriptions.addAlert(channel('general'), { ...admin, userId: 'u42' }, 'experts');
    expect(added.ok).toBe(true);
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'), draft('other', 'Diffusion', 'noise', '2023-03-10T01:00:00Z'));
    await engine().drain();
    expect(recorder.sends).toHaveLength(1);
    expect(recorder.sends[0]!.destination).toMatchObject({ channelId: 'u42', direct: true });
  });

  it('GIVEN an unsubscribe with posts pending THEN they are removed with it, never sent', async () => {
    await subscribe('leaving');
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    await fixture.core.subscriptions.unsubscribe(channel('leaving'), undefined);
    await engine().drain();
    expect(recorder.sends).toHaveLength(0);
    expect(await fixture.store.deliveries.list({ limit: 5 })).toEqual([]);
  });

  it('GIVEN a delivered post is edited THEN the sent message is edited where the platform can', async () => {
    await subscribe('edits');
    await publish(draft('moe', 'Mixture of Experts', 'x', '2023-03-10T00:00:00Z'));
    const e = engine();
    await e.drain();
    const result = await fixture.store.posts.ingest({ feedId, at: fixture.clock.now(), drafts: [draft('moe', 'Mixture of Experts, Revised', 'x', '2023-03-10T00:00:00Z')], announceKeys: new Set() });
    await e.postsUpdated(result.updated);
    expect(recorder.edits).toHaveLength(1);
    expect(recorder.edits[0]!.messageId).toBe(recorder.sends[0]!.messageId);
    expect(recorder.sends).toHaveLength(1);
  });
});

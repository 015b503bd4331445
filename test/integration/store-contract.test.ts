import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import type { Pool } from 'pg';
import type { Store } from '../../src/storage/store.ts';
import type { NewSubscription } from '../../src/storage/subscription-store.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { createRecordingPlatform } from '../fakes/recording-platform.ts';
import { STORE_BACKENDS, type StoreBackend } from '../fakes/store-backends.ts';

const FEED = 'https://dailyink.substack.com/feed';
const T0 = new Date('2025-01-01T00:00:00Z');

const channelSub = (feedId: number, channelId: string, overrides: Partial<NewSubscription> = {}): NewSubscription => ({
  kind: 'channel', platform: 'console', workspaceId: 'ws', channelId, feedId, keywords: [], mode: 'instant', mentionId: null,
  createdBy: 'test', createdAt: T0, ...overrides,
});

/**
 * The store contract: what the core relies on from every store, run unchanged against SQLite and
 * PostgreSQL (each test its own database or schema).
 */
describe.each(STORE_BACKENDS)('the store contract on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let store: Store;
  const clock = createManualClock(T0);
  const publish = async (feedId: number, drafts: PostDraft[], announce = true) =>
    store.posts.ingest({ feedId, at: clock.now(), drafts, announceKeys: new Set(announce ? drafts.map((d) => d.key) : []) });

  beforeEach(async (context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
    clock.set(T0);
    store = await backend.open({ clock });
  });
  /**
   * Lets `ms` pass for the outbox. SQLite runs on the injected clock; PostgreSQL compares every lease and due
   * time with the database's clock, which a test cannot move, so there every stored outbox time moves back
   * by `ms` instead — the same thing for each comparison the store makes (stored time <= the clock's now).
   */
  const elapse = async (ms: number) => {
    clock.advance(ms);
    const pool = (store as Store & { pool?: Pool }).pool;
    if (!pool) return;
    await pool.query(
      `UPDATE deliveries SET next_attempt_at = next_attempt_at - make_interval(secs => $1::float8 / 1000),
         lease_until = lease_until - make_interval(secs => $1::float8 / 1000) WHERE status IN ('pending', 'sending')`,
      [ms],
    );
  };
  /** How long until the next delivery is due, measured on the store's clock. */
  const dueInMs = async () => {
    const now = clock.now();
    const at = await store.deliveries.nextDueAt('console', now);
    return at === null ? null : at.getTime() - now.getTime();
  };
  afterAll(async () => backend?.cleanup());

  describe('feeds', () => {
    it('GIVEN a URL THEN ensure creates it once, records failures, 304s and backfills, and counts posts and subscriptions', async () => {
      const feed = await store.feeds.ensure(FEED, T0, { addedBy: 'user-1' });
      expect(await store.feeds.ensure(FEED, new Date(T0.getTime() + 5)).then((f) => f.id)).toBe(feed.id);
      expect(feed).toMatchObject({ url: FEED, bootstrapped: false, consecutiveFailures: 0, addedBy: 'user-1', createdAt: T0, postCount: 0 });
      await store.feeds.recordFailure(feed.id, { at: new Date(T0.getTime() + 1000), code: 'feed/timeout', message: 'slow', nextPollAt: new Date(T0.getTime() + 61_000) });
      let got = (await store.feeds.get(FEED))!;
      expect(got).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'feed/timeout', lastError: 'slow', nextPollAt: new Date(T0.getTime() + 61_000), lastPolledAt: new Date(T0.getTime() + 1000) });
      await store.feeds.recordNotModified(feed.id, new Date(T0.getTime() + 2000), new Date(T0.getTime() + 3000));
      got = (await store.feeds.get(FEED))!;
      expect(got).toMatchObject({ consecutiveFailures: 0, lastError: null, lastSuccessAt: new Date(T0.getTime() + 2000) });
      await store.feeds.recordBackfill(feed.id, { completedAt: new Date(T0.getTime() + 4000), error: null });
      await store.feeds.recordBackfill(feed.id, { completedAt: null, error: 'stopped' });
      got = (await store.feeds.get(FEED))!;
      expect(got).toMatchObject({ backfillCompletedAt: new Date(T0.getTime() + 4000), backfillError: 'stopped' });
      await publish(feed.id, [makeDraft('one'), makeDraft('two')], false);
      await store.subscriptions.create(channelSub(feed.id, 'c1'));
      expect((await store.feeds.list()).map((f) => [f.url, f.postCount, f.subscriptionCount])).toEqual([[FEED, 2, 1]]);
      expect(await store.feeds.get('https://other.example/feed')).toBeNull();
    });
  });

  describe('posts', () => {
    it('GIVEN a poll THEN new posts are stored once, an edit is an update, a new guid or a repeated link is the same post, and the feed is updated in the same step', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      const first = await store.posts.ingest({
        feedId: feed.id, at: clock.now(), drafts: [makeDraft('moe', { publishedAt: new Date('2024-02-01T00:00:00Z'), papers: [{ kind: 'arxiv', id: '2401.04088', title: 'Mixtral' }] }), makeDraft('rlhf', { publishedAt: new Date('2024-01-01T00:00:00Z') })],
        announceKeys: new Set(['slug:moe']),
        feedUpdate: { title: 'The Daily Ink', siteUrl: 'https://dailyink.substack.com', isSubstack: true, validators: { etag: '"e1"', lastModified: null }, nextPollAt: new Date(T0.getTime() + 60_000) },
      });
      expect(first.created.map((p) => p.key)).toEqual(['slug:rlhf', 'slug:moe']); // oldest first
      expect(first.announced.map((p) => p.key)).toEqual(['slug:moe']);
      expect(first.created[1]).toMatchObject({ feedUrl: FEED, feedTitle: 'The Daily Ink', papers: [{ kind: 'arxiv', id: '2401.04088', title: 'Mixtral' }], announced: true, previewOnly: false });
      expect(await store.feeds.get(FEED)).toMatchObject({ title: 'The Daily Ink', isSubstack: true, bootstrapped: true, validators: { etag: '"e1"', lastModified: null } });

      const again = await publish(feed.id, [makeDraft('moe', { guid: 'a-new-guid', publishedAt: new Date('2024-02-01T00:00:00Z'), papers: [{ kind: 'arxiv', id: '2401.04088', title: 'Mixtral' }] }), makeDraft('rlhf', { title: 'RLHF, explained again', publishedAt: new Date('2024-01-01T00:00:00Z') })]);
      expect(again.created).toEqual([]);
      expect(again.unchanged).toBe(1);
      expect(again.updated.map((p) => [p.key, p.title])).toEqual([['slug:rlhf', 'RLHF, explained again']]);
      // The same post under a new key (guid churn) is found by its link: no new post.
      const churn = await publish(feed.id, [makeDraft('moe-renamed', { url: 'https://dailyink.substack.com/p/moe', publishedAt: new Date('2024-02-01T00:00:00Z') })]);
      expect(churn.created).toEqual([]);

      expect(await store.posts.count()).toBe(2);
      expect(await store.posts.count(feed.id)).toBe(2);
      expect((await store.posts.latest({ limit: 10 })).map((p) => p.key)).toEqual(['slug:moe', 'slug:rlhf']);
      expect((await store.posts.latest({ limit: 1, offset: 1, feedId: feed.id })).map((p) => p.key)).toEqual(['slug:rlhf']);
      expect((await store.posts.findByUrl('https://dailyink.substack.com/p/rlhf'))?.key).toBe('slug:rlhf');
      expect((await store.posts.findByUrl('slug:moe'))?.key).toBe('slug:moe');
      expect(await store.posts.findByUrl('https://nowhere.example/p/x')).toBeNull();
      expect(await store.posts.newestPublishedAt(feed.id)).toEqual(new Date('2024-02-01T00:00:00Z'));
      expect(await store.posts.existingKeys(feed.id, ['slug:moe', 'slug:nope'])).toEqual(new Set(['slug:moe']));
    });

    it('GIVEN posts without a date THEN they come after dated ones, newest first', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      await publish(feed.id, [makeDraft('undated', { publishedAt: null }), makeDraft('dated', { publishedAt: new Date('2024-01-01T00:00:00Z') })], false);
      expect((await store.posts.latest({ limit: 10 })).map((p) => p.key)).toEqual(['slug:dated', 'slug:undated']);
      expect(await store.posts.newestPublishedAt(feed.id)).toEqual(new Date('2024-01-01T00:00:00Z'));
    });
  });

  describe('subscriptions', () => {
    it('GIVEN a channel THEN one subscription per feed, listing by channel, workspace and alerts, updates, notices once, and deletes with their outbox rows', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      const sub = (await store.subscriptions.create(channelSub(feed.id, 'c1', { keywords: ['moe', 'diffusion'], thread: true })))!;
      expect(sub).toMatchObject({ kind: 'channel', channelId: 'c1', keywords: ['diffusion', 'moe'], thread: true, feedUrl: FEED, pausedAt: null, createdAt: T0 });
      expect(await store.subscriptions.create(channelSub(feed.id, 'c1'))).toBeNull();
      const alert = (await store.subscriptions.create({ ...channelSub(null as unknown as number, 'U1'), kind: 'alert', feedId: null, keywords: ['moe'] }))!;
      expect(await store.subscriptions.create({ ...channelSub(null as unknown as number, 'U1'), kind: 'alert', feedId: null, keywords: ['moe'] })).toBeNull();
      expect((await store.subscriptions.listForChannel('console', 'c1')).map((s) => s.id)).toEqual([sub.id]);
      expect((await store.subscriptions.listForWorkspace('console', 'ws')).map((s) => s.id)).toEqual([sub.id]);
      expect((await store.subscriptions.listAlerts('console', 'U1')).map((s) => s.id)).toEqual([alert.id]);
      expect(await store.subscriptions.countForWorkspace('console', 'ws')).toBe(1);
      await store.subscriptions.update(sub.id, { keywords: ['rlhf'], mode: 'daily', mentionId: '123456789012345678' });
      expect(await store.subscriptions.get(sub.id)).toMatchObject({ keywords: ['rlhf'], mode: 'daily', mentionId: '123456789012345678', thread: true });

      await store.subscriptions.addNotice('console', 'ws', 'first', T0);
      await store.subscriptions.addNotice('console', 'ws', 'second', T0);
      expect(await store.subscriptions.takeNotices('console', 'ws', T0)).toEqual(['first', 'second']);
      expect(await store.subscriptions.takeNotices('console', 'ws', T0)).toEqual([]);

      await store.subscriptions.update(sub.id, { keywords: [], mode: 'instant', mentionId: null });
      await publish(feed.id, [makeDraft('moe')]);
      expect((await store.deliveries.list({ limit: 10 })).length).toBe(2); // the channel and the alert (operator feed)
      expect(await store.subscriptions.deleteForChannel('console', 'c1')).toBe(1);
      expect((await store.deliveries.list({ limit: 10 })).map((d) => d.subscriptionId)).toEqual([alert.id]);
      expect(await store.subscriptions.deleteForWorkspace('console', 'ws')).toBe(1);
      expect(await store.subscriptions.get(alert.id)).toBeNull();
      expect(await store.subscriptions.delete([])).toBe(0);
    });
  });

  describe('the outbox', () => {
    it('GIVEN a new post THEN its deliveries are written with it, claimed one per channel in order, fenced, renewed and completed', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      const a = (await store.subscriptions.create(channelSub(feed.id, 'a')))!;
      await store.subscriptions.create(channelSub(feed.id, 'b', { keywords: ['nothing-matches-this'] }));
      await publish(feed.id, [makeDraft('older', { publishedAt: new Date('2024-01-01T00:00:00Z') }), makeDraft('newer', { publishedAt: new Date('2024-02-01T00:00:00Z') })]);
      const records = await store.deliveries.list({ limit: 10 });
      expect(records).toHaveLength(2); // channel b's keywords match neither post
      expect(records.every((r) => r.subscriptionId === a.id && r.status === 'pending')).toBe(true);

      const claim = { now: clock.now(), limit: 10, leaseMs: 30_000, platform: 'console', owner: 'one' };
      const [first, ...rest] = await store.deliveries.claimDue(claim);
      expect(rest).toEqual([]); // one per destination at a time
      expect(first).toMatchObject({ kind: 'post', attempts: 1, uncertainSince: null, label: null, idempotencyKey: expect.stringMatching(/^p\d+-s\d+$/) });
      expect(first!.posts.map((p) => p.key)).toEqual(['slug:older']); // the oldest first
      expect(first!.subscription.id).toBe(a.id);
      expect(await store.deliveries.claimDue({ ...claim, owner: 'two' })).toEqual([]);
      expect(await store.deliveries.renew([first!, { id: first!.id, claimToken: 'forged' }], { now: clock.now(), leaseMs: 60_000 })).toEqual(new Set([first!.id]));
      expect(await store.deliveries.complete({ id: first!.id, claimToken: 'forged' }, { messageId: 'm', at: T0 })).toBe(false);
      expect(await store.deliveries.complete(first!, { messageId: 'm1', at: T0 })).toBe(true);
      expect(await store.deliveries.complete(first!, { messageId: 'm1', at: T0 })).toBe(false); // once
      const [second] = await store.deliveries.claimDue(claim);
      expect(second!.posts.map((p) => p.key)).toEqual(['slug:newer']);
      expect(await store.deliveries.retryLater(second!, { error: 'busy', at: clock.now(), delayMs: 5000, uncertainSince: T0 })).toBe(true);
      expect(await store.deliveries.claimDue(claim)).toEqual([]);
      const wait = await dueInMs();
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(5000); // exactly 5000 on SQLite's clock; on the database's, less the time since
      await elapse(5000);
      const [retried] = await store.deliveries.claimDue({ ...claim, now: clock.now() });
      expect(retried).toMatchObject({ id: second!.id, attempts: 2, uncertainSince: T0 });
      expect(await store.deliveries.fail(retried!, { error: 'refused', at: T0 })).toBe(true);
      expect((await store.deliveries.list({ limit: 10, status: 'failed' })).map((r) => r.lastError)).toEqual(['refused']);
      expect((await store.deliveries.list({ limit: 10, status: 'sent' })).map((r) => r.messageId)).toEqual(['m1']);
      expect((await store.subscriptions.get(a.id))!.lastDeliveryAt).toEqual(T0);
      expect(await store.deliveries.nextDueAt('console', clock.now())).toBeNull();
    });

    it('GIVEN a lease that runs out THEN the next claim is marked "maybe sent", and the old holder can neither record nor renew', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      await store.subscriptions.create(channelSub(feed.id, 'a'));
      await publish(feed.id, [makeDraft('moe')]);
      const claim = { now: T0, limit: 5, leaseMs: 1000, platform: 'console' };
      const [first] = await store.deliveries.claimDue({ ...claim, owner: 'a' });
      expect(await store.deliveries.markSending(first!, { at: T0, resolved: false })).toBe(true); // its request began
      const wait = await dueInMs(); // when the lease runs out
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(1000);
      expect(await store.deliveries.claimDue({ ...claim, owner: 'b' })).toEqual([]); // the lease is live
      await elapse(1000);
      const [second] = await store.deliveries.claimDue({ ...claim, now: clock.now(), owner: 'b' });
      expect(second).toMatchObject({ id: first!.id, attempts: 2, uncertainSince: T0 });
      expect(await store.deliveries.complete(first!, { messageId: 'old', at: T0 })).toBe(false);
      expect(await store.deliveries.renew([first!], { now: clock.now(), leaseMs: 9000 })).toEqual(new Set());
      expect(await store.deliveries.retryLater(first!, { error: 'x', at: clock.now(), delayMs: 0 })).toBe(false);
      expect(await store.deliveries.complete(second!, { messageId: 'new', at: T0 })).toBe(true);
    });

    it('GIVEN excluded destinations and other platforms THEN they are not claimed', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      await store.subscriptions.create(channelSub(feed.id, 'a'));
      await store.subscriptions.create(channelSub(feed.id, 'b'));
      await store.subscriptions.create(channelSub(feed.id, 'C1', { platform: 'slack', workspaceId: 'T1' }));
      await publish(feed.id, [makeDraft('moe')]);
      const claimed = await store.deliveries.claimDue({ now: T0, limit: 10, leaseMs: 1000, platform: 'console', owner: 'o', excludeDestinations: new Set(['console:a']) });
      expect(claimed.map((c) => c.subscription.channelId)).toEqual(['b']);
      expect((await store.deliveries.claimDue({ now: T0, limit: 10, leaseMs: 1000, platform: 'slack', owner: 'o' })).map((c) => c.subscription.channelId)).toEqual(['C1']);
      expect(await store.deliveries.stats()).toEqual({ pending: 3, oldestPendingAt: T0, pausedSubscriptions: 0 });
    });

    it('GIVEN a channel that cannot receive THEN its subscription pauses with a notice, later posts wait, and a resume releases them (old ones as one summary)', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      const sub = (await store.subscriptions.create(channelSub(feed.id, 'a')))!;
      await publish(feed.id, [makeDraft('first', { publishedAt: new Date('2024-01-01T00:00:00Z') })]);
      const [claimed] = await store.deliveries.claimDue({ now: T0, limit: 5, leaseMs: 1000, platform: 'console', owner: 'o' });
      expect(await store.deliveries.holdAndPause(claimed!, { error: '[delivery/channel-gone] gone', reason: 'the channel no longer exists', at: T0 })).toBe(true);
      expect((await store.subscriptions.get(sub.id))!.pausedAt).toEqual(T0);
      expect(await store.subscriptions.takeNotices('console', 'ws', T0)).toEqual([expect.stringMatching(/paused delivery to channel a\b.*the channel no longer exists/)]);
      await publish(feed.id, [makeDraft('second', { publishedAt: new Date('2024-01-02T00:00:00Z') }), makeDraft('third', { publishedAt: new Date('2024-01-03T00:00:00Z') })]);
      expect(await store.deliveries.claimDue({ now: new Date(T0.getTime() + 10_000), limit: 5, leaseMs: 1000, platform: 'console', owner: 'o' })).toEqual([]);
      expect(await store.deliveries.stats()).toMatchObject({ pending: 0, pausedSubscriptions: 1 });
      await store.subscriptions.resume(sub.id);
      const later = new Date(T0.getTime() + 48 * 3600_000);
      expect(await store.deliveries.releaseHeld(sub.id, { at: later, summariseBefore: new Date(T0.getTime() + 3600_000) })).toEqual({ held: 0, summarised: 3 });
      const [summary] = await store.deliveries.claimDue({ now: later, limit: 5, leaseMs: 1000, platform: 'console', owner: 'o' });
      expect(summary).toMatchObject({ kind: 'digest', label: 'held' });
      expect(summary!.posts.map((p) => p.key)).toEqual(['slug:first', 'slug:second', 'slug:third']);
    });

    it('GIVEN digest subscriptions THEN posts queue and bundle once per period; "post the latest now" enqueues once', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      const daily = (await store.subscriptions.create(channelSub(feed.id, 'd', { mode: 'daily' })))!;
      await publish(feed.id, [makeDraft('one', { publishedAt: new Date('2024-01-01T00:00:00Z') }), makeDraft('two', { publishedAt: new Date('2024-01-02T00:00:00Z') })]);
      expect(await store.deliveries.list({ limit: 10 })).toEqual([]);
      expect(await store.deliveries.bundleDigests('daily', '2025-01-01', T0)).toBe(1);
      expect(await store.deliveries.bundleDigests('daily', '2025-01-01', T0)).toBe(0);
      const [digest] = await store.deliveries.claimDue({ now: T0, limit: 5, leaseMs: 1000, platform: 'console', owner: 'o' });
      expect(digest).toMatchObject({ kind: 'digest', idempotencyKey: `d${daily.id}-2025-01-01` });
      expect(digest!.posts.map((p) => p.key)).toEqual(['slug:one', 'slug:two']);
      expect((await store.deliveries.forPost(digest!.posts[0]!.id)).map((r) => r.id)).toEqual([digest!.id]);
      const post = (await store.posts.findByUrl('slug:two'))!;
      const instant = (await store.subscriptions.create(channelSub(feed.id, 'i')))!;
      const queued = await store.deliveries.enqueuePost(instant.id, post.id, T0);
      expect(queued).toEqual(expect.any(Number));
      expect(await store.deliveries.enqueuePost(instant.id, post.id, T0)).toBeNull();
    });

    it('GIVEN two engines on one store and a platform that de-duplicates nothing THEN each of 30 channels gets the post once', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      for (let i = 0; i < 30; i++) await store.subscriptions.create(channelSub(feed.id, `c${i}`));
      await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });
      // The recording platform keeps every send (it de-duplicates nothing); each takes 5 ms.
      const recording = createRecordingPlatform();
      for (let i = 0; i < 30; i++) recording.slowDown(`c${i}`, 5);
      const platform = recording.platform;
      const engines = ['one', 'two'].map((owner) =>
        createDeliveryEngine({ platform, deliveries: store.deliveries, clock: { now: () => new Date() }, logger: createSilentLogger(), concurrency: 4, leaseMs: 30_000, maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner }),
      );
      await Promise.all(engines.map((engine) => engine.drain()));
      const perChannel = new Map<string, number>();
      for (const sent of recording.sends) perChannel.set(sent.destination.channelId, (perChannel.get(sent.destination.channelId) ?? 0) + 1);
      expect(perChannel.size).toBe(30);
      expect([...perChannel.values()].every((n) => n === 1)).toBe(true);
      expect((await store.deliveries.list({ limit: 100, status: 'sent' })).length).toBe(30);
    });
  });

  describe('installations', () => {
    it('GIVEN an install THEN it is saved, replaced, counted and deleted', async () => {
      await store.installations.save('slack', 'T1', '{"a":1}', T0);
      await store.installations.save('slack', 'T1', '{"a":2}', T0);
      expect(await store.installations.get('slack', 'T1')).toBe('{"a":2}');
      expect(await store.installations.count('slack')).toBe(1);
      expect(await store.installations.delete('slack', 'T1')).toBe(true);
      expect(await store.installations.delete('slack', 'T1')).toBe(false);
      expect(await store.installations.get('slack', 'T1')).toBeNull();
    });
  });

  describe('search', () => {
    it('GIVEN posts THEN phrases, exclusions, prefixes, author and date filters, paper look-up and autocomplete work, each snippet from its own post', async () => {
      const feed = await store.feeds.ensure(FEED, T0);
      await publish(feed.id, [
        makeDraft('moe', { title: 'Mixture of Experts, Explained', text: 'A router sends each token to a few experts. Sparse experts scale capacity cheaply.', author: 'Ada Lovelace', publishedAt: new Date('2024-03-01T00:00:00Z'), papers: [{ kind: 'arxiv', id: '2401.04088' }] }),
        makeDraft('flash', { title: 'FlashAttention tiles attention', text: 'Tiling keeps attention in fast SRAM and avoids reading the matrix from memory.', author: 'Grace Hopper', publishedAt: new Date('2024-02-01T00:00:00Z') }),
        makeDraft('rlhf', { title: 'Learning from human feedback', text: 'A reward model learns what people prefer; the policy is tuned against it with experts labelling.', author: 'Ada Lovelace', publishedAt: new Date('2023-06-01T00:00:00Z') }),
      ], false);
      const search = (raw: string, parsed: Parameters<Store['search']['search']>[0], anyWord = false) => store.search.search({ ...{ paper: null, notice: null, author: null, before: null, after: null }, ...parsed, raw }, { limit: 10, offset: 0, anyWord });
      const term = (tokens: string[], extra: Partial<{ prefix: boolean; negated: boolean; phrase: boolean }> = {}) => ({ tokens, phrase: tokens.length > 1, prefix: false, negated: false, hyphenated: false, ...extra });
      const titles = (page: Awaited<ReturnType<typeof search>>) => page.hits.map((h) => h.post.title);

      const experts = await search('experts', { terms: [term(['experts'])] } as never);
      expect(titles(experts)[0]).toBe('Mixture of Experts, Explained');
      expect(experts.total).toBe(2);
      for (const hit of experts.hits) {
        const bold = hit.snippet.filter((s) => s.bold).map((s) => s.text.toLowerCase());
        expect(bold.length, hit.post.title).toBeGreaterThan(0);
        for (const word of bold) expect(hit.post.text.toLowerCase(), hit.post.title).toContain(word); // from its own post
      }
      // A page past the end: no hits, and still the whole count.
      const past = await store.search.search({ raw: 'experts', terms: [term(['experts'])], paper: null, notice: null, author: null, before: null, after: null } as never, { limit: 10, offset: 5, anyWord: false });
      expect({ hits: past.hits.length, total: past.total }).toEqual({ hits: 0, total: 2 });
      const secondPage = await store.search.search({ raw: 'experts', terms: [term(['experts'])], paper: null, notice: null, author: null, before: null, after: null } as never, { limit: 1, offset: 1, anyWord: false });
      expect({ titles: secondPage.hits.map((h) => h.post.title), total: secondPage.total }).toEqual({ titles: [titles(experts)[1]], total: 2 });
      expect(titles(await search('"fast sram"', { terms: [term(['fast', 'sram'])] } as never))).toEqual(['FlashAttention tiles attention']);
      expect(titles(await search('"sram fast"', { terms: [term(['sram', 'fast'])] } as never))).toEqual([]);
      expect(titles(await search('experts -router', { terms: [term(['experts']), term(['router'], { negated: true })] } as never))).toEqual(['Learning from human feedback']);
      expect(titles(await search('learnin*', { terms: [term(['learnin'], { prefix: true })] } as never))).toEqual(['Learning from human feedback']);
      expect(titles(await search('experts author:ada before:2024-01-01', { terms: [term(['experts'])], author: ['ada'], before: new Date('2024-01-01T00:00:00Z') } as never))).toEqual(['Learning from human feedback']);
      expect(titles(await search('author:grace', { terms: [], author: ['grace'] } as never))).toEqual(['FlashAttention tiles attention']);
      expect(titles(await search('after:2024-01-15', { terms: [], after: new Date('2024-01-15T00:00:00Z') } as never))).toEqual(['Mixture of Experts, Explained', 'FlashAttention tiles attention']);
      expect(titles(await search('sram router', { terms: [term(['sram']), term(['router'])] } as never, true)).sort()).toEqual(['FlashAttention tiles attention', 'Mixture of Experts, Explained']);
      // Query syntax typed by a user is only text.
      expect((await search('" OR * :', { terms: [term(['or'])] } as never)).hits.length).toBeGreaterThanOrEqual(0);
      expect((await store.search.postsCitingPaper({ kind: 'arxiv', id: '2401.04088' }, 5)).map((p) => p.title)).toEqual(['Mixture of Experts, Explained']);
      expect((await store.search.autocomplete('flash', 5)).map((s) => s.label)).toEqual(['FlashAttention tiles attention']);
      expect((await store.search.autocomplete('expl', 5)).map((s) => s.label)).toEqual(['Mixture of Experts, Explained']);
      expect(await store.search.autocomplete('', 5)).toEqual([]);
      expect((await store.search.reindex()).posts).toBe(3);
    });
  });
});

// Slack deliveries under the history limits of a distributed, non-Marketplace app (1 history call per
// minute per workspace, 15 messages a page), with thread replies as part of each delivery. The fake Slack
// enforces the limited tier and de-duplicates nothing; fake and bot run on the same scaled-down clock
// (`timeScale`), so a Slack minute takes a fraction of a second here.
import { describe, expect, it } from 'vitest';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { systemClock } from '../../src/clock.ts';
import { buildCore } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';

const FEED = 'https://dailyink.substack.com/feed';
const TEAM = 'T0LIMITED';
const TOKEN = 'xoxb-limited';

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * An OAuth (distributed) install of Inkwire in one workspace the fake holds to the limited tier, `channels`
 * subscribed channels on the real clock, and an engine over the real bolt adapter, both on `timeScale`.
 */
async function limitedWorkspace(cleanups: ReturnType<typeof cleanupsAfterEach>, options: {
  channels: number;
  thread?: boolean;
  timeScale: number;
  fault?: Parameters<typeof startFakeSlack>[0]['fault'];
  maxAttempts?: number;
}) {
  const channelIds = Array.from({ length: options.channels }, (_, i) => `C${String(i).padStart(3, '0')}`);
  const fake = await startFakeSlack({
    tokens: { [TEAM]: TOKEN },
    channels: Object.fromEntries(channelIds.map((id) => [id, {}])),
    limitedHistoryTeams: [TEAM],
    timeScale: options.timeScale,
    ...(options.fault ? { fault: options.fault } : {}),
  });
  const store = openSqliteStore(':memory:', { clock: systemClock });
  await store.installations.save('slack', TEAM, JSON.stringify({ team: { id: TEAM }, bot: { token: TOKEN } }), new Date());
  const core = buildCore({ config: loadConfig({ FEED_URLS: FEED }), store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands: ALL_COMMANDS });
  const adapter = await startSlackAdapter({
    signingSecret: 's', port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'everyone', commands: ALL_COMMANDS,
    services: core.commandServices, logger: createSilentLogger(), requestTimeoutMs: 2000,
    oauth: { clientId: 'c', clientSecret: 's', stateSecret: 'st', installations: store.installations, now: () => new Date() },
    timeScale: options.timeScale,
    // The same as the default (1 s on Slack's clock); spelled out so the landed code paces on this scale too.
    channelPacingMs: 1000 * options.timeScale,
  });
  cleanups.push(() => fake.close(), () => adapter.stop(), () => store.close());
  const feed = await store.feeds.ensure(FEED, new Date());
  for (const channelId of channelIds) {
    await store.subscriptions.create({
      kind: 'channel', platform: 'slack', workspaceId: TEAM, channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null,
      createdBy: 'test', createdAt: new Date(0), ...(options.thread ? { thread: true } : {}),
    });
  }
  const engine = createDeliveryEngine({
    platform: adapter, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 8, leaseMs: 60_000,
    maxAttempts: options.maxAttempts ?? 2, retryBaseMs: 20, retryMaxMs: 500, idleMs: 50,
  });
  cleanups.push(() => engine.stop({ timeoutMs: 1000 }));
  let n = 0;
  const publish = async (count = 1) => {
    const drafts = Array.from({ length: count }, () => makeDraft(`post-${++n}`, { title: `Post ${n}` }));
    await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts, announceKeys: new Set(drafts.map((d) => d.key)) });
  };
  return { fake, store, adapter, engine, channelIds, publish };
}

/** Inkwire's cards in a channel (not thread replies, not someone else's chatter). */
const cardsIn = (fake: FakeSlack, channel: string) => fake.postsIn(channel).filter((p) => p.team === TEAM && p.threadTs === undefined);
const repliesIn = (fake: FakeSlack, channel: string) => fake.postsIn(channel).filter((p) => p.team === TEAM && p.threadTs !== undefined);

async function settled(store: Store, total: number): Promise<boolean> {
  const sent = await store.deliveries.list({ status: 'sent', limit: total + 1 });
  const failed = await store.deliveries.list({ status: 'failed', limit: 1 });
  if (failed.length > 0) throw new Error(`a delivery failed: ${failed[0]!.lastError}`);
  return sent.length === total;
}

describe('Slack history look-ups within the limited tier (1 call a minute per workspace, 15 a page)', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN 8 channels whose first post loses its answer THEN one look-up each, paced by the workspace budget: no 429, no call inside a Retry-After, none given up, each channel once', async () => {
    const lost = new Set<string>();
    const w = await limitedWorkspace(cleanups, {
      channels: 8,
      timeScale: 0.005, // a Slack minute is 300 ms here
      fault: ({ channel }) => (lost.has(channel) ? null : (lost.add(channel), 'lose')),
      maxAttempts: 2,
    });
    await w.publish();
    w.engine.start();
    await until(() => settled(w.store, 8), 'all 8 deliveries sent');
    for (const channel of w.channelIds) expect(cardsIn(w.fake, channel)).toHaveLength(1);
    expect(w.fake.faults.lost).toBe(8);
    // One page per look-up (the window), none refused, none while a Retry-After was in force.
    expect(w.fake.historyCalls.filter((c) => c.method === 'conversations.history').map((c) => `${c.channel}:${c.status}`).sort()).toEqual(w.channelIds.map((c) => `${c}:200`));
    expect(w.fake.counters.history429).toBe(0);
    expect(w.fake.counters.historyDuringRetryAfter).toBe(0);
    // Spaced a Slack minute apart at least (the mechanism, on the fake's own record).
    const at = w.fake.historyCalls.map((c) => c.at);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(300);
    expect(w.fake.violations).toEqual([]);
  });

  it('GIVEN a worker that died with 8 deliveries claimed, 6 of them with their request started (4 landed) THEN only those 6 are looked up and every channel has its post once', async () => {
    const w = await limitedWorkspace(cleanups, { channels: 8, timeScale: 0.005 });
    await w.publish();
    // The dead worker: claimed all 8 with a short lease, started the request of 6, and 4 of those landed.
    const claims = await w.store.deliveries.claimDue({ now: new Date(), limit: 8, leaseMs: 150, owner: 'dead', platform: 'slack' });
    expect(claims).toHaveLength(8);
    for (const claim of claims.slice(0, 6)) expect(await w.store.deliveries.markSending(claim, { at: new Date(), resolved: false })).toBe(true);
    for (const claim of claims.slice(0, 4)) {
      const response = await fetch(`${w.fake.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: claim.subscription.channelId, text: 'landed', metadata: { event_type: 'inkwire_delivery', event_payload: { key: claim.idempotencyKey } } }),
      });
      expect(((await response.json()) as { ok: boolean }).ok).toBe(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the dead worker's leases run out
    w.engine.start();
    await until(() => settled(w.store, 8), 'all 8 deliveries sent');
    for (const channel of w.channelIds) expect(cardsIn(w.fake, channel)).toHaveLength(1);
    const looked = w.fake.historyCalls.map((c) => c.channel).sort();
    expect(looked).toEqual(claims.slice(0, 6).map((c) => c.subscription.channelId).sort());
    expect(w.fake.counters.history429).toBe(0);
    expect(w.fake.counters.historyDuringRetryAfter).toBe(0);
  });
});

describe('Slack thread:true deliveries are the card and its thread reply, each exactly once', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN the card\'s answer is lost and thousands of messages follow it in the channel THEN the look-up finds the card in one page and the thread is still started', async () => {
    let busy: FakeSlack | null = null;
    let posts = 0;
    const w = await limitedWorkspace(cleanups, {
      channels: 1,
      thread: true,
      timeScale: 0.005,
      fault: ({ channel }) => {
        if (++posts !== 1) return null;
        // The channel moves on: 3,000 messages after the card, later than the attempt could have landed.
        busy?.addMessages(channel, 3000, Math.floor(Date.now() / 1000) + 600);
        return 'lose';
      },
    });
    busy = w.fake;
    await w.publish();
    w.engine.start();
    await until(() => settled(w.store, 1), 'the delivery sent');
    const [card, ...others] = cardsIn(w.fake, 'C000');
    expect(others).toEqual([]);
    expect(repliesIn(w.fake, 'C000')).toEqual([expect.objectContaining({ threadTs: card!.ts })]);
    expect(w.fake.historyCalls).toEqual([expect.objectContaining({ method: 'conversations.history', status: 200 })]);
    expect((await w.store.deliveries.list({ limit: 1 }))[0]).toMatchObject({ status: 'sent', messageId: card!.ts });
  });

  it('GIVEN the thread reply\'s answer is lost THEN the retry finds it with conversations.replies and sends neither card nor reply again', async () => {
    let posts = 0;
    const w = await limitedWorkspace(cleanups, { channels: 1, thread: true, timeScale: 0.005, fault: () => (++posts === 2 ? 'lose' : null) });
    await w.publish();
    w.engine.start();
    await until(() => settled(w.store, 1), 'the delivery sent');
    expect(cardsIn(w.fake, 'C000')).toHaveLength(1);
    expect(repliesIn(w.fake, 'C000')).toHaveLength(1);
    expect(w.fake.historyCalls).toEqual([expect.objectContaining({ method: 'conversations.replies', status: 200 })]);
  });

  it('GIVEN seven posts to one channel with threads THEN every reply is paced like a card, retried after a 429\'s Retry-After, and all 7 cards and 7 replies arrive once', async () => {
    const w = await limitedWorkspace(cleanups, { channels: 1, thread: true, timeScale: 0.1 });
    await w.publish(7);
    w.engine.start();
    await until(() => settled(w.store, 7), 'all 7 deliveries sent');
    const cards = cardsIn(w.fake, 'C000');
    const replies = repliesIn(w.fake, 'C000');
    expect(cards).toHaveLength(7);
    expect(replies.map((r) => r.threadTs).sort()).toEqual(cards.map((c) => c.ts).sort());
    expect(w.fake.counters.postsDuringRetryAfter).toBe(0);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { REST } from 'discord.js';
import { createDiscordDelivery } from '../../adapters/discord/discord-delivery.ts';
import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import type { CommandServices } from '../../src/commands/command-spec.ts';
import { systemClock } from '../../src/clock.ts';
import { createDeliveryEngine, type DeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { OutgoingMessage } from '../../src/platform/chat-platform.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';
import { startTcpProxy } from '../fakes/tcp-proxy.ts';

const TOKEN = 'xoxb-handback';
const OTHER_TOKEN = 'xoxb-handback-other';

const pgTarget = () => {
  const url = new URL(TEST_DATABASE_URL);
  return { host: url.hostname, port: Number(url.port || 5432) };
};
const FEED = 'https://dailyink.substack.com/feed';

/** Polls `condition` until it holds; fails with `what` after a generous limit (never a timing assertion). */
async function until(what: string, condition: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const card = (title: string): OutgoingMessage => ({
  kind: 'post',
  card: { postId: 1, title, url: 'https://dailyink.substack.com/p/x', subtitle: null, author: null, publishedAt: null, readingMinutes: 1, tldr: null, coverImageUrl: null, papers: [], previewOnly: false, feedTitle: null },
});

describe('a send cut off by shutdown', () => {
  const cleanups = cleanupsAfterEach();
  const schemas: string[] = [];
  afterAll(async () => dropSchemas(schemas));

  async function slackAdapter(fake: FakeSlack, requestTimeoutMs: number, botToken = TOKEN): Promise<SlackAdapter> {
    const adapter = await startSlackAdapter({
      signingSecret: 's', botToken, port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'admins', commands: [],
      services: {} as CommandServices, logger: createSilentLogger(), channelPacingMs: 0, requestTimeoutMs,
    });
    cleanups.push(() => adapter.stop());
    return adapter;
  }

  it('GIVEN a Slack post held by Slack WHEN the attempt is aborted THEN the adapter cancels its HTTP request at once (not at its timeout)', async () => {
    const fake = await startFakeSlack({ tokens: { T1: TOKEN }, channels: { C1: {} }, fault: () => 'hold' });
    cleanups.push(() => fake.close());
    // A request timeout far beyond the wait below: only the abort can end the request in time.
    const adapter = await slackAdapter(fake, 120_000);
    const controller = new AbortController();
    const sent = adapter.send({ platform: 'slack', workspaceId: 'T1', channelId: 'C1' }, card('held'), { idempotencyKey: 'k1', signal: controller.signal });
    const outcome = sent.then(() => 'sent', () => 'rejected');
    await until('the fake holds the post', () => fake.faults.held === 1);
    controller.abort();
    await until('the client left the held request', () => fake.faults.heldAbandoned === 1, 60_000);
    expect(await outcome).toBe('rejected');
  }, 90_000);

  it('GIVEN a Discord post held by Discord WHEN the attempt is aborted THEN discord.js cancels its request (and does not retry it)', async () => {
    const channelId = snowflake();
    const discord = await startFakeDiscord({ token: 'd-token', appId: snowflake(), guilds: [{ id: snowflake(), name: 'g', channels: [{ id: channelId, name: 'papers' }] }], fault: () => 'hold' });
    cleanups.push(() => discord.close());
    // discord.js retries a timed-out request: with the 120 s timeout, only the abort ends it in time.
    const rest = new REST({ api: discord.apiUrl, timeout: 120_000 }).setToken('d-token');
    const delivery = createDiscordDelivery({ rest, channelInfo: () => null, logger: createSilentLogger() });
    const controller = new AbortController();
    const outcome = delivery.send({ platform: 'discord', workspaceId: null, channelId }, card('held'), { idempotencyKey: 'k1', signal: controller.signal }).then(() => 'sent', () => 'rejected');
    await until('the fake holds the post', () => discord.counters.held === 1);
    controller.abort();
    await until('the client left the held request', () => discord.counters.heldAbandoned === 1, 60_000);
    expect(await outcome).toBe('rejected');
    expect(discord.counters.held).toBe(1); // not retried after the abort
  }, 90_000);

  describe.skipIf(!TEST_DATABASE_URL)('two instances on one PostgreSQL database', () => {
    async function instanceStore(schema: string): Promise<Store> {
      const store = await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 2 });
      cleanups.push(() => store.close());
      return store;
    }

    const engineFor = (platform: SlackAdapter, store: Store, owner: string): DeliveryEngine =>
      createDeliveryEngine({
        platform, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 2, leaseMs: 30_000, maxAttempts: 5,
        retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner, landingMarginMs: 500,
      });

    it('GIVEN a Slack post still on the wire at the shutdown deadline THEN another instance does not send it before it could land, and the channel gets exactly 1 message', async () => {
      const schema = uniqueSchema('handback');
      schemas.push(schema);
      const first = await instanceStore(schema);
      const second = await instanceStore(schema);
      // Slack takes the first post and holds it (it lands when released); nothing de-duplicates a repeat.
      const fake = await startFakeSlack({ tokens: { T1: TOKEN }, channels: { C1: {} }, fault: ({ count }) => (count === 1 ? 'hold' : null) });
      cleanups.push(() => fake.close());
      const feed = await first.feeds.ensure(FEED, new Date());
      await first.subscriptions.create({ kind: 'channel', platform: 'slack', workspaceId: 'T1', channelId: 'C1', feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 't', createdAt: new Date(0) });
      await first.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });

      const requestTimeoutMs = 1500;
      const a = engineFor(await slackAdapter(fake, requestTimeoutMs), first, 'a');
      a.start();
      await until('the first instance\'s post is held by Slack', () => fake.faults.held === 1);
      const stoppedFrom = Date.now();
      await a.stop({ timeoutMs: 50 }); // the deadline hits with the post on the wire

      const [row] = await second.deliveries.list({ limit: 10 });
      expect(row?.status).toBe('pending');
      expect(row?.lastError).toMatch(/outcome unknown/); // "maybe sent": the next attempt looks first
      // Not due before the abandoned request could still land: its timeout plus the margin.
      expect(row!.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(stoppedFrom + requestTimeoutMs + 500);
      await until('the first instance aborted its request', () => fake.faults.heldAbandoned === 1);

      // The second instance looks now: nothing is due, so it sends nothing (it would find no copy yet).
      const b = engineFor(await slackAdapter(fake, requestTimeoutMs), second, 'b');
      await b.drain();
      expect(fake.posts).toHaveLength(0);

      // Slack had taken the request: it lands late. After the window the second instance finds it.
      fake.releaseHeld();
      await until('the held post landed', () => fake.posts.length >= 1);
      await until('the hand-back window passed', () => Date.now() > row!.nextAttemptAt.getTime());
      await until('the delivery is recorded as sent', async () => {
        await b.drain();
        return (await second.deliveries.list({ limit: 10 }))[0]?.status === 'sent';
      });
      expect(fake.posts.filter((p) => p.channel === 'C1')).toHaveLength(1);
      const [done] = await second.deliveries.list({ limit: 10 });
      expect(done?.messageId).toBe(fake.posts[0]!.ts);
      expect(fake.historyCalls.length).toBeGreaterThan(0);
    }, 90_000);

    it('GIVEN an instance whose database goes away while it holds claims THEN it starts no send its lease could not cover, so the instance that takes the claim over posts it exactly once', async () => {
      const schema = uniqueSchema('leaseloss');
      schemas.push(schema);
      const proxy = await startTcpProxy(pgTarget());
      cleanups.push(() => proxy.close());
      // The first instance reaches PostgreSQL through the proxy; the second directly.
      const first = await openPostgresStore(proxy.url(TEST_DATABASE_URL), { schema, poolSize: 2 });
      cleanups.push(() => first.close().catch(() => {}));
      const second = await instanceStore(schema);
      // Slack holds any post of the first instance (its own token) to C2: it lands when released. Nothing
      // de-duplicates a repeat.
      const fake = await startFakeSlack({ tokens: { T1: TOKEN, T2: OTHER_TOKEN }, channels: { C1: {}, C2: {} }, fault: ({ channel, team }) => (channel === 'C2' && team === 'T1' ? 'hold' : null) });
      cleanups.push(() => fake.close());
      const feed = await second.feeds.ensure(FEED, new Date());
      for (const channelId of ['C1', 'C2']) {
        await second.subscriptions.create({ kind: 'channel', platform: 'slack', workspaceId: 'T1', channelId, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 't', createdAt: new Date(0) });
      }
      await second.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe')], announceKeys: new Set(['slug:moe']) });

      // One send every 5 s: the C2 send comes 5 s into a 6 s lease, which renewals would normally extend.
      const a = createDeliveryEngine({
        platform: await slackAdapter(fake, 1500), deliveries: first.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 2, leaseMs: 6000,
        maxAttempts: 5, retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner: 'a', landingMarginMs: 500, ratePerSecond: 0.2,
      });
      cleanups.push(() => a.stop({ timeoutMs: 100 }));
      a.start();
      const rows = async () => second.deliveries.list({ limit: 10 });
      await until('the first instance claimed both and sent C1', async () => (await rows()).filter((r) => r.status === 'sent').length === 1 && fake.posts.length === 1);
      expect((await rows()).filter((r) => r.status === 'sending')).toHaveLength(1);
      // PostgreSQL is gone for the first instance: its renewals fail from here on.
      proxy.refuse();
      proxy.cut();

      // The second instance takes C2 over once the lease ran out ("maybe sent": it looks first, finds nothing).
      const b = engineFor(await slackAdapter(fake, 1500, OTHER_TOKEN), second, 'b');
      await until('the second instance delivered C2', async () => {
        await b.drain();
        return (await rows()).every((r) => r.status === 'sent');
      });
      // Anything the first instance had put on the wire lands now.
      fake.releaseHeld();
      await until('held requests landed', () => fake.postsIn('C2').length >= 1 + fake.faults.held);
      expect(fake.postsIn('C2')).toHaveLength(1);
      expect(fake.faults.held).toBe(0); // the first instance never started a send its lease could not cover
      expect(fake.postsIn('C1')).toHaveLength(1);
    }, 90_000);
  });
});

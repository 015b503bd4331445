import { REST } from 'discord.js';
import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDiscordDelivery } from '../../adapters/discord/discord-delivery.ts';
import { systemClock } from '../../src/clock.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import type { SendBudget } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';

const CHANNELS = 60;
/** Readers with a keyword alert: each DM opens the reader's DM channel first (one more request). */
const READERS = 20;
/** The shared rate the engines pace at, well under the fake's global 50/s so a loaded machine's late timers cannot reach it. */
const RATE = 30;

describe.skipIf(!TEST_DATABASE_URL)('one request budget per token across instances, for every request a delivery makes', () => {
  const schemas: string[] = [];
  const cleanups = cleanupsAfterEach();
  afterAll(async () => dropSchemas(schemas));

  /**
   * Logs every change of the platform's `send_budget.next_at` (the end of the slots one statement reserved)
   * and reads back how much of the database's timeline the reservations took, in ms of its clock.
   */
  async function watchSendBudget(pool: Pool, schema: string) {
    await pool.query(`
      CREATE TABLE ${schema}.send_budget_log (platform text NOT NULL, old_next_at timestamptz, next_at timestamptz NOT NULL, logged_at timestamptz NOT NULL);
      CREATE FUNCTION ${schema}.log_send_budget() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO ${schema}.send_budget_log VALUES (NEW.platform, CASE WHEN TG_OP = 'UPDATE' THEN OLD.next_at END, NEW.next_at, clock_timestamp());
          RETURN NEW;
        END $$;
      CREATE TRIGGER log_send_budget AFTER INSERT OR UPDATE ON ${schema}.send_budget FOR EACH ROW EXECUTE FUNCTION ${schema}.log_send_budget();`);
    return async (platform: string) => {
      const { rows } = await pool.query<{ chained: boolean; span_ms: number }>(`
        WITH log AS (SELECT *, lag(next_at) OVER (ORDER BY next_at) AS previous FROM ${schema}.send_budget_log WHERE platform = $1)
        SELECT bool_and(previous IS NULL OR old_next_at = previous) AS chained,
               (extract(epoch FROM max(next_at) - min(logged_at) FILTER (WHERE previous IS NULL)) * 1000)::float8 AS span_ms
        FROM log`, [platform]);
      return rows[0]!;
    };
  }

  it('GIVEN three engines on one PostgreSQL delivering to 60 Discord channels with thread:true and 20 DMs THEN every request at Discord (message, thread, DM channel) took a slot of the one shared budget, and none was rate limited', async () => {
    const guild = { id: snowflake(), name: 'Readers', channels: Array.from({ length: CHANNELS }, (_, i) => ({ id: snowflake(), name: `papers-${i}` })) };
    const fake = await startFakeDiscord({ token: 'budget-token', appId: snowflake(), guilds: [guild], globalLimit: 50 });
    cleanups.push(() => fake.close());
    const schema = uniqueSchema('request_budget');
    schemas.push(schema);
    const stores = await Promise.all([0, 1, 2].map(() => openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 3 })));
    cleanups.push(() => Promise.all(stores.map((s) => s.close())).then(() => {}));
    const [first] = stores;
    const budgetSeen = await watchSendBudget(first!.pool, schema);

    const feed = await first!.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    for (const channel of guild.channels) {
      await first!.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId: guild.id, channelId: channel.id, feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, thread: true, createdBy: 't', createdAt: new Date(0) });
    }
    const readers = Array.from({ length: READERS }, () => snowflake());
    for (const reader of readers) {
      await first!.subscriptions.create({ kind: 'alert', platform: 'discord', workspaceId: guild.id, channelId: reader, feedId: null, keywords: ['experts'], mode: 'instant', mentionId: null, createdBy: reader, createdAt: new Date(0) });
    }
    await first!.posts.ingest({ feedId: feed.id, at: new Date(), drafts: [makeDraft('moe', { title: 'Mixture of Experts, Explained' })], announceKeys: new Set(['slug:moe']) });

    // Each engine is one instance: its own REST client (discord.js's own global limiter is per process) and its
    // own store, whose budget is counted here: one reserve() is one slot.
    let slots = 0;
    const requestsBefore = fake.counters.requests;
    const engines = stores.map((store, i) => {
      const counted: SendBudget = {
        reserve: (platform, rate) => {
          slots++;
          return store.sendBudget!.reserve(platform, rate);
        },
      };
      const rest = new REST({ api: fake.apiUrl, timeout: 15_000 }).setToken('budget-token');
      const delivery = createDiscordDelivery({ rest, logger: createSilentLogger(), channelInfo: () => ({ forum: false, tags: [] }) });
      const platform: ChatPlatform = { name: 'discord', send: delivery.send, edit: delivery.edit, requestTimeoutMs: delivery.requestTimeoutMs };
      return createDeliveryEngine({
        platform, deliveries: store.deliveries, clock: systemClock, logger: createSilentLogger(), concurrency: 8, leaseMs: 60_000, maxAttempts: 5,
        retryBaseMs: 100, retryMaxMs: 1000, idleMs: 50, owner: `e${i}`, ratePerSecond: RATE, sendBudget: counted,
      });
    });
    await Promise.all(engines.map((engine) => engine.drain()));

    const requests = fake.counters.requests - requestsBefore;
    expect(fake.messages.filter((m) => guild.channels.some((c) => c.id === m.channelId))).toHaveLength(CHANNELS);
    expect(fake.threads).toHaveLength(CHANNELS);
    expect(fake.messages.filter((m) => !guild.channels.some((c) => c.id === m.channelId))).toHaveLength(READERS); // the DMs
    // Every request Discord saw (a card and a thread per channel, a DM channel and a DM per reader) had its
    // own slot: no request went unpaced.
    expect(slots).toBe(requests);
    expect(requests).toBe(CHANNELS * 2 + READERS * 2);
    // On the database's clock the slots of all three instances were chained on the one row and took at least
    // one interval each: no second of that timeline holds more than RATE requests of this token.
    const seen = await budgetSeen('discord');
    expect(seen.chained).toBe(true);
    expect(seen.span_ms).toBeGreaterThanOrEqual(requests * (1000 / RATE) - 10);
    // So together the instances stayed under Discord's global limit: not one 429.
    expect(fake.counters.globalRateLimited).toBe(0);
    expect(fake.violations).toEqual([]);
  });
});

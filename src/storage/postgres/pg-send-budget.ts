import type { Pool } from 'pg';
import type { SendBudget } from '../store.ts';

/** The most slots one statement reserves (a larger queue takes several statements, one after another). */
const MAX_SLOTS_PER_STATEMENT = 256;
/** How far back the lowest clock offset is taken from (the clocks' drift apart in that time is negligible). */
const OFFSET_WINDOW_MS = 10_000;

/** Sends waiting for a slot of one platform at one rate, and whether a reservation is on its way to the database. */
interface Lane {
  readonly waiting: Array<{ resolve: (waitMs: number) => void; reject: (error: unknown) => void }>;
  busy: boolean;
}

/**
 * One send rate for every instance, kept in PostgreSQL: the platform's row (`next_at`) is the next free
 * slot, slots are spaced 1/rate apart by the database's own clock, and each send waits until its slot (so
 * instances' clocks do not matter). N instances together send at most `ratePerSecond`, evenly spread —
 * never N times it.
 *
 * Within one process the reservations are coalesced: while one statement is on its way, the sends that
 * ask meanwhile queue, and the next statement reserves all of their slots at once (consecutive slots,
 * handed out in the order asked). So each process has at most one statement per platform on the shared
 * row at a time. One statement per send had every in-flight send of every instance queue on that row's
 * lock, each holding a pool connection the outbox's claims and records then waited for: three instances
 * sent slower than one (bench:scale).
 */
export function createPostgresSendBudget(pool: Pool): SendBudget {
  const lanes = new Map<string, Lane>();

  /** Local time (performance.now()) minus database time, per answer, for `localOffset`. */
  const offsets: Array<{ at: number; offsetMs: number }> = [];

  /**
   * Where the database's slot times fall on this process's clock. Each answer says what the database's
   * clock read when it reserved; local time on arrival minus that is the clock offset plus the answer's
   * delay, which varies (a busy event loop, a slow round trip). Using each answer's own delay would let a
   * late answer's slots crowd the next answer's, several a second over the rate; the lowest offset seen
   * in the last seconds puts every answer on one timeline, spaced exactly as the database spaced them.
   */
  function localOffset(nowMs: number, dbNowMs: number): number {
    offsets.push({ at: nowMs, offsetMs: nowMs - dbNowMs });
    while (offsets.length > 1 && (offsets.length > 256 || offsets[0]!.at < nowMs - OFFSET_WINDOW_MS)) offsets.shift();
    return Math.min(...offsets.map((o) => o.offsetMs));
  }

  async function reserveSlots(platform: string, ratePerSecond: number, count: number): Promise<{ firstSlotMs: number; dbNowMs: number }> {
    // clock_timestamp() in SET and RETURNING reads the clock once the row is locked: a statement that queued
    // behind another instance's answers with the time it was actually served.
    const { rows } = await pool.query<{ first_slot_ms: number; db_now_ms: number }>(
      `INSERT INTO send_budget AS b (platform, next_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8 * $3::int))
       ON CONFLICT (platform) DO UPDATE SET next_at = greatest(b.next_at, clock_timestamp()) + make_interval(secs => $2::float8 * $3::int)
       RETURNING (extract(epoch from b.next_at) * 1000 - 1000 * $2::float8 * $3::int)::float8 AS first_slot_ms,
                 (extract(epoch from clock_timestamp()) * 1000)::float8 AS db_now_ms`,
      [platform, 1 / ratePerSecond, count],
    );
    return { firstSlotMs: rows[0]!.first_slot_ms, dbNowMs: rows[0]!.db_now_ms };
  }

  async function drain(lane: Lane, platform: string, ratePerSecond: number): Promise<void> {
    lane.busy = true;
    try {
      while (lane.waiting.length > 0) {
        const batch = lane.waiting.splice(0, MAX_SLOTS_PER_STATEMENT);
        try {
          const { firstSlotMs, dbNowMs } = await reserveSlots(platform, ratePerSecond, batch.length);
          const nowMs = performance.now();
          const firstMs = firstSlotMs + localOffset(nowMs, dbNowMs) - nowMs;
          const spacingMs = 1000 / ratePerSecond;
          batch.forEach((waiter, i) => waiter.resolve(Math.max(0, firstMs + i * spacingMs)));
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      lane.busy = false;
    }
  }

  return {
    reserve(platform, ratePerSecond) {
      const key = `${platform}\u0000${ratePerSecond}`;
      const lane = lanes.get(key) ?? { waiting: [], busy: false };
      lanes.set(key, lane);
      const promise = new Promise<number>((resolve, reject) => lane.waiting.push({ resolve, reject }));
      if (!lane.busy) void drain(lane, platform, ratePerSecond);
      return promise;
    },
  };
}

import type { Pool } from 'pg';
import type { SendBudget } from '../store.ts';

/**
 * One send rate for every instance, kept in PostgreSQL: each send reserves the next free slot of its
 * platform (one row, `next_at`), spaced 1/rate apart, and waits until it. Slots are handed out by the
 * database's own clock and the wait is measured against it, so instances' clocks do not matter. N
 * instances together send at most `ratePerSecond`, evenly spread — never N times it.
 */
export function createPostgresSendBudget(pool: Pool): SendBudget {
  return {
    async reserve(platform, ratePerSecond) {
      const { rows } = await pool.query<{ wait_ms: number }>(
        `INSERT INTO send_budget AS b (platform, next_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8))
         ON CONFLICT (platform) DO UPDATE SET next_at = greatest(b.next_at, clock_timestamp()) + make_interval(secs => $2::float8)
         RETURNING (extract(epoch from (b.next_at - make_interval(secs => $2::float8) - clock_timestamp())) * 1000)::float8 AS wait_ms`,
        [platform, 1 / ratePerSecond],
      );
      return Math.max(0, rows[0]!.wait_ms);
    },
  };
}

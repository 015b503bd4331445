import type { Pool } from 'pg';
import { prunesNowAndThen, type InteractionReceipts } from '../interaction-receipts.ts';

/**
 * Receipts in PostgreSQL, shared by every instance: one upsert, which inserts a new id or takes over an
 * expired one; of two instances claiming one id at once, the unique key lets exactly one through. Times are
 * the instances' own (as the signature check's are); the window's margin covers their differences.
 */
export function createPostgresInteractionReceipts(pool: Pool): InteractionReceipts {
  const prune = async (at: Date) => (await pool.query('DELETE FROM interaction_receipts WHERE expires_at <= $1', [at])).rowCount ?? 0;
  const pruneSometimes = prunesNowAndThen(prune);
  return {
    async claim(id, at, ttlMs) {
      await pruneSometimes(at);
      const { rowCount } = await pool.query(
        `INSERT INTO interaction_receipts (id, claimed_at, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
         WHERE interaction_receipts.expires_at <= excluded.claimed_at`,
        [id, at, new Date(at.getTime() + ttlMs)],
      );
      return (rowCount ?? 0) > 0;
    },
    prune,
  };
}

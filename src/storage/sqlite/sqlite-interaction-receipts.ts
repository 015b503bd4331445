import type { Database } from 'better-sqlite3';
import { prunesNowAndThen, type InteractionReceipts } from '../interaction-receipts.ts';

/** Receipts in the SQLite file: one upsert, which inserts a new id or takes over an expired one. */
export function createSqliteInteractionReceipts(db: Database): InteractionReceipts {
  const claim = db.prepare(
    `INSERT INTO interaction_receipts (id, claimed_at, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
     WHERE interaction_receipts.expires_at <= excluded.claimed_at`,
  );
  const prune = async (at: Date) => db.prepare('DELETE FROM interaction_receipts WHERE expires_at <= ?').run(at.getTime()).changes;
  const pruneSometimes = prunesNowAndThen(prune);
  return {
    async claim(id, at, ttlMs) {
      await pruneSometimes(at);
      return claim.run(id, at.getTime(), at.getTime() + ttlMs).changes > 0;
    },
    prune,
  };
}

/**
 * The interactions already taken: a Discord interaction id, a Slack event_id or trigger_id. A platform may
 * deliver one interaction twice (Slack retries an event it thinks was lost; anyone holding a captured signed
 * request may replay it while its timestamp is fresh), and several stateless instances may share one
 * database behind a load balancer: the first to claim an id runs it, every other sight of it is refused.
 */
export interface InteractionReceipts {
  /**
   * Records `id` as handled from `at` until `at + ttlMs`. Resolves true for the first claim (atomic: of two
   * instances claiming at once, exactly one gets true), false while an earlier claim has not expired.
   * Expired receipts are pruned along the way, at most once per `RECEIPT_PRUNE_EVERY_MS` per process.
   */
  claim(id: string, at: Date, ttlMs: number): Promise<boolean>;
  /** Deletes the receipts expired at `at`; resolves with how many. */
  prune(at: Date): Promise<number>;
}

/** How often one process deletes expired receipts (on a claim; no timer of its own). */
export const RECEIPT_PRUNE_EVERY_MS = 60_000;

/**
 * Runs `prune` when the last run is `RECEIPT_PRUNE_EVERY_MS` old: a claim keeps the table small without
 * paying for a delete every time.
 */
export function prunesNowAndThen(prune: (at: Date) => Promise<number>): (at: Date) => Promise<void> {
  let last = Number.NEGATIVE_INFINITY;
  return async (at) => {
    if (at.getTime() - last < RECEIPT_PRUNE_EVERY_MS) return;
    last = at.getTime();
    await prune(at);
  };
}

/** Receipts kept in this process only: for an adapter started without a store (one process, tests). */
export function createMemoryInteractionReceipts(): InteractionReceipts {
  const expiries = new Map<string, number>();
  const prune = async (at: Date) => {
    let removed = 0;
    for (const [id, expires] of expiries) if (expires <= at.getTime() && expiries.delete(id)) removed++;
    return removed;
  };
  const pruneSometimes = prunesNowAndThen(prune);
  return {
    async claim(id, at, ttlMs) {
      await pruneSometimes(at);
      const expires = expiries.get(id);
      if (expires !== undefined && expires > at.getTime()) return false;
      expiries.set(id, at.getTime() + ttlMs);
      return true;
    },
    prune,
  };
}

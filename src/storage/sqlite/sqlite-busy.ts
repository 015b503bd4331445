import { setTimeout as sleep } from 'node:timers/promises';

/** How long one SQLite call may block the event loop waiting for another process's write lock. */
export const SQLITE_BUSY_TIMEOUT_MS = 20;

export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED');
}

/**
 * Runs `work` again while SQLite answers "busy" (another process — `inkwire reindex`, `backfill` — holds
 * the write lock), waiting between tries with timers, so the event loop keeps serving chat while it waits.
 * Each try blocks at most `SQLITE_BUSY_TIMEOUT_MS`. Gives up with the last error after `maxWaitMs`.
 */
export async function retryWhileBusy<T>(work: () => Promise<T>, options: { maxWaitMs?: number } = {}): Promise<T> {
  const deadline = performance.now() + (options.maxWaitMs ?? 15_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isSqliteBusy(error) || performance.now() > deadline) throw error;
      await sleep(Math.min(250, 5 * 2 ** attempt));
    }
  }
}

/** Wraps every method of a store so that each call retries while the database is busy. */
export function busyTolerant<T extends object>(store: T, options: { maxWaitMs?: number } = {}): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    wrapped[name] = typeof value === 'function'
      ? (...args: unknown[]) => retryWhileBusy(async () => (value as (...a: unknown[]) => unknown).apply(store, args), options)
      : value;
  }
  return wrapped as T;
}

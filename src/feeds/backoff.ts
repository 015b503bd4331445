/**
 * How long a failing feed waits: doubling from `baseMs`, at least what Retry-After asks, and never more
 * than `maxMs` (a server asking for a year, or for a 400-digit number of seconds, waits `maxMs`).
 */
export function backoffDelayMs(
  consecutiveFailures: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number | null },
): number {
  const exponent = Math.max(0, consecutiveFailures - 1);
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  const retryAfter = options.retryAfterMs ?? 0;
  const asked = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : retryAfter > 0 ? options.maxMs : 0;
  return Math.min(options.maxMs, Math.max(exponential, asked));
}

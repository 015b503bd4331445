/** How long a failing feed waits: doubling from `baseMs`, capped at `maxMs`, never less than Retry-After. */
export function backoffDelayMs(
  consecutiveFailures: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number | null },
): number {
  const exponent = Math.max(0, consecutiveFailures - 1);
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  return Math.max(exponential, options.retryAfterMs ?? 0);
}

import type { Clock } from '../clock.ts';
import { err, ok, type Result } from '../result.ts';
import type { Invoker, Place } from './command-spec.ts';

/** At most `count` in any `windowMs`, refilled evenly (a token bucket: `count` tokens, one back every `windowMs / count`). */
export interface Rate {
  readonly count: number;
  readonly windowMs: number;
}

/** The limits a public bot applies to commands; a null rate is off. */
export interface CommandRates {
  /** Every command and button press of one member (platform + user id), wherever typed. */
  readonly member: Rate | null;
  /** Expensive commands (`/search` and its share button) of one member, on top of `member`. */
  readonly search: Rate | null;
  /** Every command and button press in one server or workspace (platform + workspace id). */
  readonly server: Rate | null;
  /** Autocomplete requests of one member (a keystroke each); they never use up the command allowances. */
  readonly autocomplete: Rate | null;
}

/** What an invocation costs: a command or press (the expensive class too), or an autocomplete request. */
export type CommandCost = 'command' | 'expensive' | 'autocomplete';

/** Allowed, or refused with when to retry and whose allowance ran out. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number; scope: 'member' | 'server' };

/** The rate check every command, press and autocomplete passes (`src/commands/command-runner.ts`). */
export interface CommandRateLimiter {
  /** Counts one invocation if every allowance it needs has room; otherwise counts nothing and says when to retry. */
  take(who: { invoker: Pick<Invoker, 'userId'>; place: Pick<Place, 'platform' | 'workspaceId'> }, cost: CommandCost): RateDecision;
  /** Buckets held now (idle ones are dropped), for tests and memory checks. */
  size(): number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** Above this many buckets the oldest are dropped even if not yet full (they start over full). */
export const DEFAULT_MAX_BUCKETS = 100_000;

/**
 * Per-process token buckets, keyed by member and by server. The console is exempt: its only user is the
 * operator at the terminal (`/as` switches who they type as), so there is nobody to protect from.
 *
 * Memory stays bounded: a bucket untouched for the longest window is full again (the same as no bucket), so
 * a sweep once a window drops those; a hard cap (`maxBuckets`) drops the earliest-made beyond it, so a
 * burst of many new members in one window cannot grow the map without end.
 */
export function createCommandRateLimiter(options: { rates: CommandRates; clock: Clock; maxBuckets?: number }): CommandRateLimiter {
  const { rates, clock } = options;
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  const buckets = new Map<string, Bucket>();
  const longestWindowMs = Math.max(0, ...[rates.member, rates.search, rates.server, rates.autocomplete].map((r) => r?.windowMs ?? 0));

  let sweptAt = Number.NEGATIVE_INFINITY;
  const sweep = (now: number) => {
    sweptAt = now;
    for (const [key, bucket] of buckets) if (now - bucket.at >= longestWindowMs) buckets.delete(key);
  };
  /**
   * Full buckets (untouched for the longest window) are dropped once a window. Beyond the cap, after a sweep,
   * the earliest-made go until a tenth of the cap is free: each pass is O(n) but comes at most once per
   * n/10 new buckets, so every call stays amortised O(1).
   */
  const prune = (now: number) => {
    if (now - sweptAt >= longestWindowMs) sweep(now);
    if (buckets.size <= maxBuckets) return;
    sweep(now);
    const keep = Math.floor(maxBuckets * 0.9);
    for (const key of buckets.keys()) {
      if (buckets.size <= keep) break;
      buckets.delete(key);
    }
  };
  /** The bucket's tokens now (refilled since it was last seen). */
  const level = (key: string, rate: Rate, now: number): number => {
    const bucket = buckets.get(key);
    if (!bucket) return rate.count;
    return Math.min(rate.count, bucket.tokens + (Math.max(0, now - bucket.at) * rate.count) / rate.windowMs);
  };

  return {
    take({ invoker, place }, cost) {
      if (place.platform === 'console') return { allowed: true };
      const now = clock.now().getTime();
      const member = `${place.platform}:${invoker.userId}`;
      const needs: Array<{ key: string; rate: Rate; scope: 'member' | 'server' }> = [];
      const need = (key: string, rate: Rate | null, scope: 'member' | 'server') => void (rate && needs.push({ key, rate, scope }));
      if (cost === 'autocomplete') {
        need(`autocomplete|${member}`, rates.autocomplete, 'member');
      } else {
        need(`member|${member}`, rates.member, 'member');
        if (cost === 'expensive') need(`search|${member}`, rates.search, 'member');
        // A Discord DM has no server: it counts for the member only.
        if (place.workspaceId !== null) need(`server|${place.platform}:${place.workspaceId}`, rates.server, 'server');
      }
      const levels = needs.map((n) => level(n.key, n.rate, now));
      // Refused until every allowance it needs has a token again; the member's own is named first.
      const short = needs.flatMap((n, i) => (levels[i]! >= 1 ? [] : [{ scope: n.scope, retryAfterMs: Math.ceil(((1 - levels[i]!) * n.rate.windowMs) / n.rate.count) }]));
      if (short.length > 0) {
        return { allowed: false, retryAfterMs: Math.max(...short.map((s) => s.retryAfterMs)), scope: short.some((s) => s.scope === 'member') ? 'member' : 'server' };
      }
      needs.forEach((n, i) => {
        const bucket = buckets.get(n.key);
        if (bucket) Object.assign(bucket, { tokens: levels[i]! - 1, at: now });
        else buckets.set(n.key, { tokens: levels[i]! - 1, at: now });
      });
      prune(now);
      return { allowed: true };
    },
    size: () => buckets.size,
  };
}

/** The polite private refusal, naming when to retry in whole seconds (at least 1). */
export function slowDownMessage(decision: { retryAfterMs: number; scope: 'member' | 'server' }): string {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return decision.scope === 'member'
    ? `You're going a bit fast — try again in ${seconds} s.`
    : `Inkwire is answering a lot of commands in this server right now — try again in ${seconds} s.`;
}

const UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * `5/10s` (5 per 10 seconds), `30/m`, `100/1h`, or `off`. The count is 1-10000; the window 1 s to 1 h.
 * Returns the rate (null for `off`) or why the text is not one.
 */
export function parseRate(text: string): Result<Rate | null, string> {
  const value = text.trim().toLowerCase();
  if (value === 'off') return ok(null);
  const match = /^(\d{1,6})\s*\/\s*(\d{0,5})\s*(s|m|h)$/.exec(value);
  if (!match) return err('must be a count per window such as 5/10s, 30/1m or 100/1h, or off');
  const count = Number(match[1]);
  const windowMs = (match[2] === '' ? 1 : Number(match[2])) * UNITS_MS[match[3] as keyof typeof UNITS_MS];
  if (count < 1 || count > 10_000) return err('the count must be from 1 to 10000 (or off)');
  if (windowMs < 1000 || windowMs > 3_600_000) return err('the window must be from 1s to 1h');
  return ok({ count, windowMs });
}

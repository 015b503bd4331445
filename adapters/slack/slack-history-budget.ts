/**
 * Slack's rate tier for `conversations.history` / `conversations.replies`. `limited`: commercially
 * distributed apps outside the Slack Marketplace (new ones since 2025-05-29, existing installs since
 * 2026-03-03) get 1 request per minute per workspace and at most 15 messages a page. `tier3`: internal
 * (single-workspace) and Marketplace apps, 50+ per minute.
 */
export type SlackHistoryTier = 'limited' | 'tier3';

/** Messages per page and history calls per minute per workspace, per tier (real time). */
export const HISTORY_TIERS = {
  limited: { pageSize: 15, perMinute: 1 },
  tier3: { pageSize: 200, perMinute: 50 },
} as const satisfies Record<SlackHistoryTier, { pageSize: number; perMinute: number }>;

/** The history budget of every workspace this process posts to. */
export interface HistoryBudget {
  /**
   * Asks for a history call now for `key` (one delivery's look-up) in `workspace`: 0 means go (the call is
   * counted), otherwise how many ms until this key's turn. Keys are served in the order they first asked,
   * so a look-up waiting its turn keeps it while its delivery is back in the outbox.
   */
  take(workspace: string, key: string): number;
  /**
   * A granted call has been answered: the next one is spaced from now, not from when it was sent (Slack
   * counts a call when it arrives, which is somewhere in between).
   */
  answered(workspace: string): void;
  /** Slack answered 429: no history call in this workspace before `retryAfterMs` from now. */
  blocked(workspace: string, retryAfterMs: number): void;
  /** The average spacing of calls at the budget's rate. */
  readonly intervalMs: number;
}

interface Lane {
  /** When the calls of the last window were made (answered, once they are), oldest first. */
  calls: number[];
  /** No call before this (a Retry-After in force). */
  until: number;
  /** Keys waiting, first come first served, each with the time it was told to come back. */
  queue: Array<{ key: string; at: number }>;
  /**
   * Calls sent and not yet answered. Slack counts a call when it arrives, which may be any time before the
   * answer: while a window's worth are in flight no other call goes, however long ago they were sent.
   */
  inFlight: number;
}

/**
 * A per-workspace budget for Slack history calls: at most `perWindow` calls in any `windowMs` (a minute on
 * Slack's clock), a 429's Retry-After honoured in full, and waiting look-ups served in order. It never
 * sleeps: a caller told to wait gives its slot back to the delivery engine (the delivery is retried after
 * the wait), so one channel's wait never holds up another channel's send. A key that does not come back
 * within one interval of its turn loses it.
 */
export function createHistoryBudget(options: { perWindow: number; windowMs: number; now?: () => number }): HistoryBudget {
  const now = options.now ?? Date.now;
  const { perWindow, windowMs } = options;
  const interval = windowMs / perWindow;
  const lanes = new Map<string, Lane>();
  const laneOf = (workspace: string): Lane => {
    let lane = lanes.get(workspace);
    if (!lane) lanes.set(workspace, (lane = { calls: [], until: 0, queue: [], inFlight: 0 }));
    return lane;
  };
  return {
    intervalMs: interval,
    take(workspace, key) {
      const lane = laneOf(workspace);
      const t = now();
      // A call still in flight stays counted (its arrival, and so Slack's count of it, is still to come).
      lane.calls = lane.calls.filter((at, i) => t - at < windowMs || i >= lane.calls.length - lane.inFlight);
      lane.queue = lane.queue.filter((e) => e.key === key || t <= e.at + interval);
      let index = lane.queue.findIndex((e) => e.key === key);
      // When the next call may go: a call of the window must leave it, and no Retry-After be in force.
      const free = Math.max(lane.calls.length < perWindow ? t : lane.calls[lane.calls.length - perWindow]! + windowMs, lane.until, lane.inFlight >= perWindow ? t + interval : 0);
      // The first in line goes when the budget allows; a newcomer only when nobody is waiting.
      if ((index === 0 || (index < 0 && lane.queue.length === 0)) && t >= free) {
        if (index === 0) lane.queue.shift();
        lane.calls.push(t);
        lane.inFlight++;
        return 0;
      }
      if (index < 0) index = lane.queue.push({ key, at: 0 }) - 1;
      const at = Math.max(free, t) + index * interval;
      lane.queue[index]!.at = at;
      return Math.max(1, Math.ceil(at - t));
    },
    answered(workspace) {
      // Slack counts a call when it arrives, somewhere between sent and answered: count it from the answer.
      const lane = laneOf(workspace);
      lane.inFlight = Math.max(0, lane.inFlight - 1);
      if (lane.calls.length > 0) lane.calls[lane.calls.length - 1] = Math.max(lane.calls[lane.calls.length - 1]!, now());
    },
    blocked(workspace, retryAfterMs) {
      const lane = laneOf(workspace);
      lane.until = Math.max(lane.until, now() + retryAfterMs);
    },
  };
}

/**
 * Reserves a slot of a shared rate (the `SendBudget` port's `reserve`): resolves with the ms until it. Where
 * several instances share one PostgreSQL database, the slot is spaced by the database's clock from every
 * instance's slots of the same bucket.
 */
export type ReserveSlot = (bucket: string, ratePerSecond: number) => Promise<number>;

/** A workspace's history calls paced across every instance (see `createSharedHistoryGate`). */
export interface SharedHistoryGate {
  /**
   * 0 when the look-up `key` in `workspace` holds a shared slot that has come: it may call now (then
   * `used`). Otherwise the ms until its slot, which it keeps for when its delivery comes back.
   */
  ready(workspace: string, key: string): Promise<number>;
  /** The look-up made its call: its slot is spent. */
  used(key: string): void;
}

/**
 * Slack's history tier is per workspace (and app), not per process: with several instances on one database
 * each look-up also takes a slot of the workspace's shared bucket (`slack-history:<workspace>`, at the
 * tier's rate), so N instances together make at most the tier's calls. Like the local budget it never
 * sleeps: a look-up whose slot is later hands its delivery back to the engine with the wait and keeps the
 * slot (a ticket by key) for when it comes back; a ticket not used within one interval of its time lapses.
 */
export function createSharedHistoryGate(options: { reserve: ReserveSlot; perWindow: number; windowMs: number; now?: () => number }): SharedHistoryGate {
  const now = options.now ?? Date.now;
  const interval = options.windowMs / options.perWindow;
  const ratePerSecond = (options.perWindow * 1000) / options.windowMs;
  /** The local time each look-up's reserved slot comes, by key. */
  const tickets = new Map<string, number>();
  return {
    async ready(workspace, key) {
      let at = tickets.get(key);
      if (at !== undefined && now() > at + interval) at = undefined; // lapsed: another call may have used its time
      if (at === undefined) {
        const wait = await options.reserve(`slack-history:${workspace}`, ratePerSecond);
        at = now() + wait;
        if (tickets.size >= 10_000) tickets.delete(tickets.keys().next().value!);
        tickets.set(key, at);
      }
      return Math.max(0, Math.ceil(at - now()));
    },
    used(key) {
      tickets.delete(key);
    },
  };
}

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
    if (!lane) lanes.set(workspace, (lane = { calls: [], until: 0, queue: [] }));
    return lane;
  };
  return {
    intervalMs: interval,
    take(workspace, key) {
      const lane = laneOf(workspace);
      const t = now();
      lane.calls = lane.calls.filter((at) => t - at < windowMs);
      lane.queue = lane.queue.filter((e) => e.key === key || t <= e.at + interval);
      let index = lane.queue.findIndex((e) => e.key === key);
      // When the next call may go: a call of the window must leave it, and no Retry-After be in force.
      const free = Math.max(lane.calls.length < perWindow ? t : lane.calls[lane.calls.length - perWindow]! + windowMs, lane.until);
      // The first in line goes when the budget allows; a newcomer only when nobody is waiting.
      if ((index === 0 || (index < 0 && lane.queue.length === 0)) && t >= free) {
        if (index === 0) lane.queue.shift();
        lane.calls.push(t);
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
      if (lane.calls.length > 0) lane.calls[lane.calls.length - 1] = Math.max(lane.calls[lane.calls.length - 1]!, now());
    },
    blocked(workspace, retryAfterMs) {
      const lane = laneOf(workspace);
      lane.until = Math.max(lane.until, now() + retryAfterMs);
    },
  };
}

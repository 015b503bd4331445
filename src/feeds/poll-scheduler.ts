import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CronScheduler } from '../scheduling/cron-scheduler.ts';
import type { FeedStore } from '../storage/feed-store.ts';
import type { PollOutcome } from './feed-poller.ts';

export interface PollSchedulerOptions {
  cron: CronScheduler;
  expression: string;
  feeds: FeedStore;
  clock: Clock;
  logger: Logger;
  /** Polls one feed (its URL and whose row it is: `ownerKey`, ADR 005); must not throw for feed faults. */
  poll: (url: string, signal: AbortSignal, ownerKey: string) => Promise<PollOutcome>;
  /** Called with each successful outcome (e.g. to announce new posts), and the feed's owner key. */
  onOutcome: (outcome: PollOutcome, ownerKey: string) => Promise<void>;
  /** Each due feed waits a random 0..jitterMs before its poll, so feeds on one host spread out. */
  jitterMs: number;
  concurrency: number;
  random?: () => number;
  /** This process, as named in the poll lease (instances sharing one database each poll a feed in turn). */
  owner?: string;
  /** How long a poll lease lasts if the process dies holding it (default 5 min). */
  pollLeaseMs?: number;
  /**
   * A feed polled (by any instance) this recently is not polled again: half the cron interval, so that an
   * instance starting up, or ticking a little after another, does not fetch what was just fetched.
   */
  minPollGapMs?: number;
}

export interface PollScheduler {
  /** Polls every due feed now (also what each cron tick does). Resolves when those polls finish. */
  runDue(): Promise<void>;
  /** Stops scheduling and aborts polls in flight; resolves when they have settled. */
  stop(): Promise<void>;
}

/**
 * Runs feed polls on a cron expression: each due feed (its backoff has passed) is polled after a
 * jitter, at most `concurrency` at once; a feed already being polled is skipped, so polls of one
 * feed never overlap, and a slow feed never holds up the others.
 */
export function startPollScheduler(options: PollSchedulerOptions): PollScheduler {
  const log = options.logger;
  const random = options.random ?? Math.random;
  const inFlight = new Set<number>(); // feed ids: two tenants' rows of one URL are two feeds (ADR 005)
  const controller = new AbortController();
  const running = new Set<Promise<void>>();
  let active = 0;
  const waiting: Array<() => void> = [];
  let stopped = false;

  const acquire = async () => {
    if (active < options.concurrency) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
  };
  const release = () => {
    active--;
    waiting.shift()?.();
  };

  // The abort listener goes when the sleep ends: one per sleep on a process-long signal would pile up.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || controller.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        controller.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      controller.signal.addEventListener('abort', done, { once: true });
    });

  const owner = options.owner ?? `${process.pid}`;
  const pollLeaseMs = options.pollLeaseMs ?? 5 * 60_000;
  const pollOne = async (feed: { id: number; url: string; ownerKey: string }, tick: Date) => {
    const { url } = feed;
    inFlight.add(feed.id);
    try {
      await sleep(Math.floor(random() * options.jitterMs));
      if (controller.signal.aborted) return;
      await acquire();
      try {
        if (controller.signal.aborted) return;
        // Another instance on the same database may hold this feed, or have polled it on this tick already.
        const now = options.clock.now();
        const notPolledSince = new Date(Math.min(tick.getTime(), now.getTime() - (options.minPollGapMs ?? 0)));
        if (!(await options.feeds.claimPoll(feed.id, { owner, now, leaseMs: pollLeaseMs, notPolledSince }))) {
          log.debug({ feedUrl: url }, 'polled by another instance on this tick; skipped');
          return;
        }
        try {
          const outcome = await options.poll(url, controller.signal, feed.ownerKey);
          await options.onOutcome(outcome, feed.ownerKey);
        } finally {
          await options.feeds.releasePoll(feed.id, owner).catch((error: unknown) => log.warn({ err: error, feedUrl: url }, 'could not release the poll lease; it expires on its own'));
        }
      } finally {
        release();
      }
    } catch (error) {
      log.error({ err: error, feedUrl: url }, 'feed poll crashed; will retry on the next tick');
    } finally {
      inFlight.delete(feed.id);
    }
  };

  const runDue = async () => {
    if (stopped) return;
    const tick = options.clock.now();
    const now = tick.getTime();
    let feeds;
    try {
      feeds = await options.feeds.list();
    } catch (error) {
      log.error({ err: error }, 'could not list feeds');
      return;
    }
    const started: Promise<void>[] = [];
    for (const feed of feeds) {
      if (inFlight.has(feed.id)) {
        log.debug({ feedUrl: feed.url }, 'previous poll still running; skipped');
        continue;
      }
      if (feed.nextPollAt && feed.nextPollAt.getTime() > now) continue;
      const task = pollOne(feed, tick);
      running.add(task);
      void task.finally(() => running.delete(task));
      started.push(task);
    }
    await Promise.all(started);
  };

  const job = options.cron.schedule(options.expression, () => void runDue());

  return {
    runDue,
    async stop() {
      if (stopped) return;
      stopped = true;
      await job.stop();
      controller.abort();
      await Promise.allSettled([...running]);
    },
  };
}

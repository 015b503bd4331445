import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { buildPostCard, withAlertMatches } from '../cards/post-card.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { ChatPlatform, Destination, OutgoingMessage } from '../platform/chat-platform.ts';
import type { Post } from '../posts/post.ts';
import type { ClaimedDelivery, DeliveryStore } from '../storage/delivery-store.ts';
import type { SendBudget } from '../storage/store.ts';
import { DeliveryError, type DeliveryErrorCode } from './delivery-error.ts';
import { destinationKeyOf } from './delivery-plan.ts';
import { destinationOf } from './subscription.ts';

export interface DeliveryEngineOptions {
  platform: ChatPlatform;
  deliveries: DeliveryStore;
  clock: Clock;
  logger: Logger;
  /** Claims held (in flight or about to be) at once for this platform. */
  concurrency: number;
  /** A claim not renewed for this long is presumed abandoned (crashed worker) and is retried. Renewed every third of it. */
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * The longest backoff before retrying a send whose outcome is unknown. Discord de-duplicates a repeated
   * nonce only for a few minutes, so that retry must come well inside that window (default 30 s). A
   * platform's Retry-After is never cut short by it.
   */
  uncertainRetryMaxMs?: number;
  /**
   * Added to the platform's request timeout to make the "not due before" window of a send abandoned while
   * on the wire (shutdown deadline): another attempt must not start while the abandoned request could still
   * land (default 5 s).
   */
  landingMarginMs?: number;
  /** The longest sleep when nothing is due (new rows also wake the engine directly). */
  idleMs?: number;
  /** Sends per second for platforms whose client does not pace itself; unlimited when absent. */
  ratePerSecond?: number;
  /**
   * Where several instances share one database: `ratePerSecond` is then paced across all of them (a
   * platform's limit is per bot token, not per process). When absent the pacing is this process's own.
   */
  sendBudget?: SendBudget;
  /** Identifies this process's claims in the outbox. */
  owner?: string;
  /**
   * Removes a channel's subscriptions. Called on a platform that does not announce removals
   * (`announcesRemovals: false`) when a delivery finds the channel gone or out of reach.
   */
  onChannelGone?: (destination: Destination) => Promise<void>;
  /** Told each settled attempt (for metrics). */
  onOutcome?: (outcome: 'sent' | 'retry' | 'failed' | 'held' | 'released') => void;
}

export interface DeliveryEngine {
  start(): void;
  /** There may be new work: look now instead of after the idle wait. */
  wake(): void;
  /** Runs until nothing is due, then resolves (for the CLI and tests). */
  drain(): Promise<void>;
  /** Edits the already-sent messages of updated posts where the platform can. */
  postsUpdated(posts: readonly Post[]): Promise<void>;
  /**
   * Stops claiming; claims not yet sent go back at once; sends on the wire may finish for `timeoutMs`, after
   * which each is aborted and handed back as "maybe sent" (the next attempt looks first), not due again
   * before the platform's request timeout plus a margin has passed, so nothing stays claimed and an abandoned
   * request that still lands is found by that look instead of being posted twice.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/** Builds what a claimed delivery should say. */
export function messageFor(delivery: ClaimedDelivery): OutgoingMessage {
  if (delivery.kind === 'digest') {
    const n = delivery.posts.length;
    const plural = n === 1 ? '' : 's';
    if (delivery.label === 'held') {
      return { kind: 'digest', title: `While delivery here was paused: ${n} explainer${plural}`, cards: delivery.posts.map(buildPostCard) };
    }
    const mode = delivery.subscription.mode === 'weekly' ? 'weekly' : 'daily';
    return { kind: 'digest', title: `Your ${mode} digest: ${n} new explainer${plural}`, cards: delivery.posts.map(buildPostCard) };
  }
  return { kind: 'post', card: withAlertMatches(buildPostCard(delivery.posts[0]!), delivery.matched), mentionId: delivery.subscription.mentionId, thread: delivery.subscription.thread };
}

/** What a platform without removal events takes as "this channel is gone": prune, not pause. */
const PRUNED = new Set<DeliveryErrorCode>(['delivery/channel-gone', 'delivery/missing-access']);

/** A claim this engine holds: waiting for a slot, or being sent. */
interface Held {
  delivery: ClaimedDelivery;
  destination: string;
  /** Aborts the attempt: at shutdown before it was sent, or when the lease was lost to another worker. */
  controller: AbortController;
  lost: boolean;
  startedAt: Date | null;
  /** A request that may post was started (recorded in the outbox) in this attempt. */
  sendStarted: boolean;
  /** The earlier unknown outcome was looked for and settled in this attempt. */
  resolved: boolean;
  /** When (this engine's clock, ms) the call that last granted the lease began: it runs `leaseMs` from no earlier. */
  leaseFrom: number;
}

type Outcome =
  | { kind: 'sent'; messageId: string }
  | { kind: 'failed'; error: unknown };

/**
 * Works through the outbox for one platform: claims due deliveries (one per channel at a time, oldest
 * first), sends each with its idempotency key, and records the outcome with the claim (fenced: a worker
 * that lost its lease cannot record over the new holder). The send and its bookkeeping are separate: once
 * the platform accepted a message, a failure to record it is retried, never answered by sending again.
 * Leases are renewed while a claim is held. Errors that mean the channel cannot receive pause the
 * subscription; a message the platform refuses fails alone; the rest back off and retry.
 */
export function createDeliveryEngine(options: DeliveryEngineOptions): DeliveryEngine {
  const log = options.logger;
  const owner = options.owner ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  const idleMs = options.idleMs ?? 5000;
  const uncertainRetryMaxMs = options.uncertainRetryMaxMs ?? 30_000;
  /** How long after it was abandoned an unanswered send could still land at the platform. */
  const landingWindowMs = (options.platform.requestTimeoutMs ?? 30_000) + (options.landingMarginMs ?? 5_000);
  /**
   * A send starts only with this much of its lease left (renewed first if need be): a lease that then runs
   * out (renewals failing, the database away) lets another worker in only after this send's request could
   * have landed, so its look for an earlier copy finds it. Capped at two thirds of the lease, which a fresh
   * claim always has; where the cap binds (a lease shorter than 1.5 windows) the protection is partial.
   */
  const sendLeaseMs = Math.min(landingWindowMs, Math.floor((options.leaseMs * 2) / 3));
  const leaseLeft = (entry: Held) => entry.leaseFrom + options.leaseMs - options.clock.now().getTime();
  const held = new Map<number, Held>();
  const waiting: Held[] = [];
  const sending = new Map<number, Promise<void>>();
  const busyDestinations = new Set<string>();
  const stopping = new AbortController();
  let running = false;
  let loop: Promise<void> | null = null;
  let nudge: (() => void) | null = null;
  const rate = options.ratePerSecond;
  const budget = options.sendBudget;
  const pacer = !rate ? null : budget ? sharedPacer(budget, options.platform.name, rate) : createPacer(rate);
  let renewTimer: NodeJS.Timeout | null = null;
  /** A renewal asked for by sends about to start: one at a time, shared by every send waiting on it. */
  let renewing: Promise<void> | null = null;

  const wakeLoop = () => {
    const resolve = nudge;
    nudge = null;
    resolve?.();
  };

  /** Records an outcome until the store takes it: a busy or failing database never turns into a resend. */
  async function record(what: string, entry: Held, write: () => Promise<boolean>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await write())) {
          log.warn({ deliveryId: entry.delivery.id }, `${what}: the claim was taken over by another worker; its outcome is theirs to record`);
        }
        return;
      } catch (error) {
        const giveUp = stopping.signal.aborted && attempt >= 5;
        log.error({ err: error, deliveryId: entry.delivery.id, attempt }, giveUp ? `${what}: could not be recorded; the lease will expire and the next attempt looks before sending` : `${what}: recording failed; retrying`);
        if (giveUp) return;
        await sleepFor(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /**
   * The delivery's main message is on the platform, its follow-up not yet: kept on the row (retried until
   * it sticks) before the follow-up starts, so a later attempt sends only the follow-up. Not recorded: the
   * attempt ends as "maybe sent" and the next one looks for the message.
   */
  async function recordPosted(entry: Held, messageId: string): Promise<void> {
    const claim = { id: entry.delivery.id, claimToken: entry.delivery.claimToken };
    for (let attempt = 0; ; attempt++) {
      try {
        if (await options.deliveries.recordMessage(claim, { messageId })) return;
        throw new DeliveryError('delivery/ambiguous', 'posted, but the claim was taken over before it was recorded');
      } catch (error) {
        if (error instanceof DeliveryError || entry.controller.signal.aborted || attempt >= 5) {
          throw error instanceof DeliveryError ? error : new DeliveryError('delivery/ambiguous', 'posted, but it could not be recorded; the next attempt looks for it', { cause: error });
        }
        log.error({ err: error, deliveryId: entry.delivery.id, attempt }, 'recording a posted message failed; retrying');
        await sleepFor(Math.min(5000, 100 * 2 ** attempt));
      }
    }
  }

  function release(entry: Held) {
    held.delete(entry.delivery.id);
    busyDestinations.delete(entry.destination);
    wakeLoop();
  }

  async function settle(entry: Held, outcome: Outcome): Promise<void> {
    const { delivery } = entry;
    const claim = { id: delivery.id, claimToken: delivery.claimToken };
    const now = options.clock.now();
    if (entry.lost) return; // another worker holds it now
    const told = (what: 'sent' | 'retry' | 'failed' | 'held' | 'released') => {
      try {
        options.onOutcome?.(what);
      } catch {
        // metrics never break delivery
      }
    };
    if (outcome.kind === 'sent') {
      told('sent');
      await record('delivery sent', entry, () => options.deliveries.complete(claim, { messageId: outcome.messageId, at: now }));
      return;
    }
    const error = outcome.error;
    const deliveryError = error instanceof DeliveryError ? error : null;
    // An aborted or unknown-outcome send may have posted: the next attempt looks first.
    const uncertain = deliveryError?.uncertain === true;
    const uncertainSince = uncertain ? (entry.startedAt ?? now) : null;
    if (stopping.signal.aborted && entry.startedAt === null) {
      told('released');
      // Shutting down before this one was sent: hand the claim back at once.
      await record('delivery released at shutdown', entry, () => options.deliveries.retryLater(claim, { error: 'interrupted by shutdown', at: now, delayMs: 0, uncertainSince }));
      return;
    }
    const destination = destinationOf(delivery.subscription);
    if (deliveryError && options.onChannelGone && options.platform.announcesRemovals === false && !destination.direct && PRUNED.has(deliveryError.code)) {
      // No deletion event will ever come: this answer is the news. The delivery is recorded as failed,
      // then the channel's subscriptions (and their pending deliveries) go.
      told('failed');
      log.warn({ deliveryId: delivery.id, channelId: destination.channelId, code: deliveryError.code }, `channel gone or out of reach; its subscriptions are removed: ${deliveryError.reason}`);
      await record('delivery failed', entry, () => options.deliveries.fail(claim, { error: `[${deliveryError.code}] ${deliveryError.reason}`, at: now }));
      await options.onChannelGone(destination).catch((error: unknown) => log.error({ err: error, channelId: destination.channelId }, 'removing the subscriptions of a gone channel failed'));
      return;
    }
    if (deliveryError?.effect === 'pause') {
      told('held');
      log.warn({ deliveryId: delivery.id, subscriptionId: delivery.subscription.id, code: deliveryError.code }, `channel cannot receive; subscription paused: ${deliveryError.reason}`);
      await record('delivery held', entry, () => options.deliveries.holdAndPause(claim, { error: `[${deliveryError.code}] ${deliveryError.reason}`, reason: deliveryError.reason, at: now }));
      return;
    }
    if (deliveryError?.effect === 'reject') {
      told('failed');
      // This message was refused; the channel is fine and the next post goes on.
      log.warn({ deliveryId: delivery.id, subscriptionId: delivery.subscription.id, code: deliveryError.code }, `the platform refused this message; delivery failed, subscription continues: ${deliveryError.reason}`);
      await record('delivery failed', entry, () => options.deliveries.fail(claim, { error: `[${deliveryError.code}] ${deliveryError.reason}`, at: now }));
      return;
    }
    const message = deliveryError ? `[${deliveryError.code}] ${deliveryError.reason}` : error instanceof Error ? error.message : String(error);
    const rateLimited = deliveryError?.code === 'delivery/rate-limited';
    // Rate-limited before any request that may post (a history look-up waiting for its budget): not an attempt.
    const refundAttempt = rateLimited && !entry.sendStarted;
    // Whether this delivery may already be on the platform: then it is never given up as failed (the next
    // complete look-up settles it), whatever the attempts.
    const unknown = uncertain || (delivery.uncertainSince !== null && !entry.resolved);
    if (delivery.attempts >= options.maxAttempts && !unknown && !refundAttempt) {
      told('failed');
      log.error({ deliveryId: delivery.id, attempts: delivery.attempts }, `delivery gave up after ${delivery.attempts} attempts: ${message}`);
      await record('delivery failed', entry, () => options.deliveries.fail(claim, { error: `gave up after ${delivery.attempts} attempts: ${message}`, at: now }));
      return;
    }
    const backoff = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.max(0, Math.min(delivery.attempts - 1, 30)));
    let wait = unknown ? Math.min(backoff, uncertainRetryMaxMs) : backoff;
    // Retry-After is the platform's word: honoured in full, never cut short by the cap above. A rate-limited
    // call waits exactly that long (the adapter's history budget hands out its next slot this way).
    const retryAfterMs = deliveryError?.retryAfterMs ?? null;
    if (retryAfterMs !== null) wait = rateLimited ? retryAfterMs : Math.max(wait, retryAfterMs);
    told('retry');
    log.info({ deliveryId: delivery.id, attempts: delivery.attempts, waitMs: wait, uncertain, unknown, refundAttempt }, `delivery will be retried: ${message}`);
    await record('delivery retry', entry, () => options.deliveries.retryLater(claim, { error: message, at: now, delayMs: wait, uncertainSince, refundAttempt }));
  }

  async function deliver(entry: Held): Promise<void> {
    const { delivery } = entry;
    let outcome: Outcome;
    try {
      if (pacer) await pacer(entry.controller.signal);
      if (leaseLeft(entry) < sendLeaseMs) await (renewing ??= renewLeases().finally(() => (renewing = null)));
      entry.controller.signal.throwIfAborted(); // the lease was lost (renewal), or shutdown
      if (leaseLeft(entry) < sendLeaseMs) throw new Error('not sent: the lease could not be renewed (is the database reachable?)');
      entry.startedAt = options.clock.now();
      const claim = { id: delivery.id, claimToken: delivery.claimToken };
      // "Send started" is in the outbox before each request that may post: only such a claim is looked for
      // after a crash. Not recorded (database away, claim taken over): nothing is sent.
      const sending = async ({ resolved }: { resolved: boolean }) => {
        entry.controller.signal.throwIfAborted();
        if (!(await options.deliveries.markSending(claim, { at: options.clock.now(), resolved }))) {
          throw new Error('not sent: the claim was taken over by another worker');
        }
        entry.sendStarted = true;
        if (resolved) entry.resolved = true;
      };
      if (!options.platform.reportsSends) await sending({ resolved: false });
      const { messageId } = await options.platform.send(destinationOf(delivery.subscription), messageFor(delivery), {
        idempotencyKey: delivery.idempotencyKey,
        signal: entry.controller.signal,
        uncertainSince: delivery.uncertainSince,
        uncertainLastAt: delivery.uncertainLastAt ?? null,
        messageId: delivery.messageId ?? null,
        sending,
        posted: (id) => recordPosted(entry, id),
        // Each further request of this send (thread, DM channel, look-up, reply) takes its own slot of the
        // same budget as the first: N instances together stay under the token's limit however many each makes.
        ...(pacer ? { reserveRequest: () => pacer(entry.controller.signal) } : {}),
      });
      outcome = { kind: 'sent', messageId };
    } catch (error) {
      outcome = { kind: 'failed', error };
    }
    await settle(entry, outcome);
  }

  function startSends() {
    while (sending.size < options.concurrency && waiting.length > 0) {
      const entry = waiting.shift()!;
      const promise = deliver(entry)
        .catch((error: unknown) => log.error({ err: error, deliveryId: entry.delivery.id }, 'delivery crashed'))
        .finally(() => {
          sending.delete(entry.delivery.id);
          release(entry);
        });
      sending.set(entry.delivery.id, promise);
    }
  }

  /** Claims what fits (a batch, so claims cost one query per batch) and starts sends while slots are free. */
  async function fill(): Promise<number> {
    const room = options.concurrency * 2 - held.size;
    let claimed = 0;
    if (waiting.length <= options.concurrency / 2 && room > 0) {
      const leaseFrom = options.clock.now().getTime();
      const batch = await options.deliveries.claimDue({
        now: options.clock.now(),
        limit: room,
        leaseMs: options.leaseMs,
        owner,
        platform: options.platform.name,
        excludeDestinations: busyDestinations,
      });
      for (const delivery of batch) {
        const entry: Held = { delivery, destination: destinationKeyOf(delivery.subscription), controller: new AbortController(), lost: false, startedAt: null, sendStarted: false, resolved: false, leaseFrom };
        held.set(delivery.id, entry);
        busyDestinations.add(entry.destination);
        waiting.push(entry);
      }
      claimed = batch.length;
    }
    startSends();
    return claimed;
  }

  /** Extends every held lease; a claim another worker took over is abandoned at once. */
  async function renewLeases(): Promise<void> {
    const entries = [...held.values()];
    if (entries.length === 0) return;
    try {
      const from = options.clock.now();
      const still = await options.deliveries.renew(entries.map((e) => e.delivery), { now: from, leaseMs: options.leaseMs });
      for (const entry of entries) {
        if (still.has(entry.delivery.id)) entry.leaseFrom = Math.max(entry.leaseFrom, from.getTime());
        if (still.has(entry.delivery.id) || !held.has(entry.delivery.id)) continue;
        entry.lost = true;
        entry.controller.abort();
        const at = waiting.indexOf(entry);
        if (at >= 0) {
          waiting.splice(at, 1);
          release(entry);
        }
        log.warn({ deliveryId: entry.delivery.id }, 'lost the lease on a delivery (another worker claimed it); abandoning this attempt');
      }
    } catch (error) {
      log.error({ err: error }, 'renewing delivery leases failed; retrying at the next renewal');
    }
  }

  async function run(untilIdle: boolean): Promise<void> {
    let failures = 0;
    while (running || untilIdle) {
      let claimed = 0;
      try {
        claimed = await fill();
        failures = 0;
      } catch (error) {
        failures++;
        log.error({ err: error }, 'claiming deliveries failed');
      }
      if (stopping.signal.aborted) break;
      if (untilIdle && claimed === 0 && held.size === 0) return;
      // Wait for a freed slot, a wake-up, or the next due time — whichever comes first — so a retry due
      // while other channels are sending starts on time.
      let waitMs = idleMs;
      if (failures > 0) {
        waitMs = Math.min(idleMs, 100 * 2 ** Math.min(failures, 6));
      } else if (sending.size < options.concurrency && claimed === 0) {
        const next = await options.deliveries.nextDueAt(options.platform.name, options.clock.now()).catch(() => null);
        if (next) waitMs = Math.min(idleMs, Math.max(25, next.getTime() - options.clock.now().getTime()));
      } else if (claimed > 0) {
        waitMs = 0; // claimed something: look again straight away (more may be due)
      }
      if (waitMs === 0 && sending.size < options.concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, untilIdle ? Math.min(waitMs, 50) : waitMs);
        function done() {
          clearTimeout(timer);
          if (nudge === done) nudge = null;
          resolve();
        }
        nudge = done;
      });
    }
    // Stopping: claims not yet started go straight back to the outbox.
    for (const entry of waiting.splice(0)) {
      await record('delivery released at shutdown', entry, () =>
        options.deliveries.retryLater(entry.delivery, { error: 'released at shutdown', at: options.clock.now(), delayMs: 0 }),
      );
      release(entry);
    }
  }

  const startRenewals = () => {
    if (renewTimer) return;
    renewTimer = setInterval(() => void renewLeases(), Math.max(50, Math.floor(options.leaseMs / 3)));
    renewTimer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      startRenewals();
      loop = run(false);
    },
    wake: wakeLoop,
    async drain() {
      startRenewals();
      try {
        await run(true);
        await Promise.all([...sending.values()]);
      } finally {
        if (!running && renewTimer) {
          clearInterval(renewTimer);
          renewTimer = null;
        }
      }
    },
    async postsUpdated(posts) {
      if (!options.platform.edit) return;
      for (const post of posts) {
        const records = await options.deliveries.forPost(post.id);
        for (const record of records) {
          if (record.kind !== 'post' || record.status !== 'sent' || !record.messageId || record.platform !== options.platform.name) continue;
          try {
            // An edit is a request of the same token: it takes a slot of the same budget as the sends.
            if (pacer) await pacer(stopping.signal);
            await options.platform.edit(
              {
                platform: options.platform.name,
                workspaceId: record.workspaceId,
                channelId: record.channelId,
                ...(record.subscriptionKind === 'alert' ? { direct: true } : {}),
              },
              record.messageId,
              { kind: 'post', card: buildPostCard(post) },
            );
          } catch (error) {
            log.warn({ err: error, deliveryId: record.id }, 'could not edit a delivered message');
          }
        }
      }
    },
    async stop(stopOptions = {}) {
      running = false;
      stopping.abort();
      // Claims not yet sent are released; sends already on the wire may finish, up to the shutdown timeout.
      for (const entry of held.values()) if (entry.startedAt === null) entry.controller.abort();
      wakeLoop();
      await loop;
      const settled = Promise.allSettled([...sending.values()]);
      const timeoutMs = stopOptions.timeoutMs ?? Number.POSITIVE_INFINITY;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = Number.isFinite(timeoutMs)
        ? await Promise.race([settled.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))])
        : (await settled, false);
      clearTimeout(timer);
      if (timedOut) {
        // Still on the wire: abort each and hand it back as "maybe sent", so the next process looks before
        // sending again; and not due before the abandoned request could still land (a client that cannot
        // abort, or a request the platform already took), or that look would find nothing and post twice.
        for (const entry of [...held.values()].filter((e) => e.startedAt !== null && !e.lost)) {
          entry.lost = true;
          entry.controller.abort();
          await options.deliveries
            .retryLater(entry.delivery, { error: 'interrupted by shutdown (outcome unknown)', at: options.clock.now(), delayMs: landingWindowMs, uncertainSince: entry.sendStarted ? entry.startedAt : null })
            .catch((error: unknown) => log.error({ err: error, deliveryId: entry.delivery.id }, 'could not release a delivery at shutdown; its lease will expire'));
        }
        log.warn({ released: held.size, notDueForMs: landingWindowMs }, 'shutdown timeout: sends still in flight were aborted and released as possibly sent, not due again before they could still land');
      }
      if (renewTimer) clearInterval(renewTimer);
      renewTimer = null;
    },
  };
}

/** Waits for the next send slot this platform has across every instance (reserved in the shared store). */
function sharedPacer(budget: SendBudget, platform: string, perSecond: number): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    const wait = await budget.reserve(platform, perSecond);
    if (wait > 0 && !signal.aborted) await sleepFor(wait, undefined, { signal }).catch(() => {});
  };
}

/** Spaces sends evenly at `perSecond` (a token bucket of one), for platforms that do not pace themselves. */
function createPacer(perSecond: number): (signal: AbortSignal) => Promise<void> {
  const interval = 1000 / perSecond;
  let next = 0;
  return async (signal) => {
    const now = performance.now();
    const at = Math.max(now, next);
    next = at + interval;
    const wait = at - now;
    if (wait > 0 && !signal.aborted) await sleepFor(wait, undefined, { signal }).catch(() => {});
  };
}

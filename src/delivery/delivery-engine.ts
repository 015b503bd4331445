import { randomUUID } from 'node:crypto';
import { buildPostCard } from '../cards/post-card.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { ChatPlatform, OutgoingMessage } from '../platform/chat-platform.ts';
import type { Post } from '../posts/post.ts';
import type { ClaimedDelivery, DeliveryStore } from '../storage/delivery-store.ts';
import { DeliveryError } from './delivery-error.ts';
import { destinationOf } from './subscription.ts';

export interface DeliveryEngineOptions {
  platform: ChatPlatform;
  deliveries: DeliveryStore;
  clock: Clock;
  logger: Logger;
  /** Sends in flight at once for this platform. */
  concurrency: number;
  /** A claim older than this is presumed abandoned (crashed worker) and is retried. */
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long to sleep when nothing is due (new rows also wake the engine directly). */
  idleMs?: number;
  /** Sends per second for platforms whose client does not pace itself; unlimited when absent. */
  ratePerSecond?: number;
  /** Identifies this process's claims in the outbox. */
  owner?: string;
}

export interface DeliveryEngine {
  start(): void;
  /** There may be new work: look now instead of after the idle wait. */
  wake(): void;
  /** Runs until nothing is due, then resolves (for the CLI and tests). */
  drain(): Promise<void>;
  /** Edits the already-sent messages of updated posts where the platform can. */
  postsUpdated(posts: readonly Post[]): Promise<void>;
  stop(): Promise<void>;
}

/** Builds what a claimed delivery should say. */
export function messageFor(delivery: ClaimedDelivery): OutgoingMessage {
  if (delivery.kind === 'digest') {
    const mode = delivery.subscription.mode === 'weekly' ? 'weekly' : 'daily';
    return {
      kind: 'digest',
      title: `Your ${mode} digest: ${delivery.posts.length} new explainer${delivery.posts.length === 1 ? '' : 's'}`,
      cards: delivery.posts.map(buildPostCard),
    };
  }
  return { kind: 'post', card: buildPostCard(delivery.posts[0]!), mentionId: delivery.subscription.mentionId };
}

/**
 * Works through the outbox for one platform: claims due deliveries (one per channel at a time, oldest
 * first), sends them with the delivery's idempotency key, and records the outcome. Permanent failures
 * pause the subscription with a readable reason; transient ones back off and retry.
 */
export function createDeliveryEngine(options: DeliveryEngineOptions): DeliveryEngine {
  const log = options.logger;
  const owner = options.owner ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  const idleMs = options.idleMs ?? 5000;
  const inFlight = new Map<number, { destination: string; promise: Promise<void> }>();
  const busyDestinations = new Set<string>();
  const controller = new AbortController();
  let running = false;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let slotFreed: (() => void) | null = null;
  const pacer = options.ratePerSecond ? createPacer(options.ratePerSecond) : null;

  const destinationOfDelivery = (d: ClaimedDelivery) => {
    const dest = destinationOf(d.subscription);
    return `${dest.platform}:${dest.direct ? 'dm:' : ''}${dest.channelId}`;
  };

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const destination = destinationOf(delivery.subscription);
    try {
      if (pacer) await pacer(controller.signal);
      const { messageId } = await options.platform.send(destination, messageFor(delivery), {
        idempotencyKey: delivery.idempotencyKey,
        signal: controller.signal,
      });
      await options.deliveries.complete(delivery.id, { messageId, at: options.clock.now() });
    } catch (error) {
      const now = options.clock.now();
      if (controller.signal.aborted) {
        // Shutting down: hand the claim back at once; the idempotency key makes a repeat harmless.
        await options.deliveries.retryLater(delivery.id, { error: 'interrupted by shutdown', nextAttemptAt: now });
        return;
      }
      if (error instanceof DeliveryError && error.permanent) {
        log.warn({ deliveryId: delivery.id, subscriptionId: delivery.subscription.id, code: error.code }, `delivery failed for good; subscription paused: ${error.reason}`);
        await options.deliveries.failAndPause(delivery.id, { error: `[${error.code}] ${error.reason}`, reason: error.reason, at: now });
        return;
      }
      const message = error instanceof DeliveryError ? `[${error.code}] ${error.reason}` : error instanceof Error ? error.message : String(error);
      if (delivery.attempts >= options.maxAttempts) {
        log.error({ deliveryId: delivery.id, attempts: delivery.attempts }, `delivery gave up after ${delivery.attempts} attempts: ${message}`);
        await options.deliveries.fail(delivery.id, { error: `gave up after ${delivery.attempts} attempts: ${message}`, at: now });
        return;
      }
      const backoff = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (delivery.attempts - 1));
      const wait = Math.max(backoff, error instanceof DeliveryError ? (error.retryAfterMs ?? 0) : 0);
      log.info({ deliveryId: delivery.id, attempts: delivery.attempts, waitMs: wait }, `delivery will be retried: ${message}`);
      await options.deliveries.retryLater(delivery.id, { error: message, nextAttemptAt: new Date(now.getTime() + wait) });
    }
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  /** Claimed deliveries waiting for a free send slot (claims are made in batches: one query per batch). */
  const buffer: ClaimedDelivery[] = [];

  /** Tops up the buffer when it runs low, then starts sends while slots are free. Returns how many started. */
  async function fill(): Promise<number> {
    const target = options.concurrency * 2;
    if (buffer.length <= options.concurrency / 2) {
      const claimed = await options.deliveries.claimDue({
        now: options.clock.now(),
        limit: target - buffer.length - inFlight.size,
        leaseMs: options.leaseMs,
        owner,
        platform: options.platform.name,
        excludeDestinations: busyDestinations,
      });
      for (const delivery of claimed) busyDestinations.add(destinationOfDelivery(delivery));
      buffer.push(...claimed);
    }
    let started = 0;
    while (inFlight.size < options.concurrency && buffer.length > 0) {
      const delivery = buffer.shift()!;
      const destination = destinationOfDelivery(delivery);
      const promise = deliver(delivery)
        .catch((error: unknown) => log.error({ err: error, deliveryId: delivery.id }, 'recording a delivery outcome failed'))
        .finally(() => {
          inFlight.delete(delivery.id);
          busyDestinations.delete(destination);
          slotFreed?.();
        });
      inFlight.set(delivery.id, { destination, promise });
      started++;
    }
    return started;
  }

  async function run(untilIdle: boolean): Promise<void> {
    while (running || untilIdle) {
      let started = 0;
      try {
        started = await fill();
      } catch (error) {
        log.error({ err: error }, 'claiming deliveries failed');
      }
      if (controller.signal.aborted) break;
      if (inFlight.size > 0) {
        // Wait for a slot to free up, then look again.
        await new Promise<void>((resolve) => {
          slotFreed = () => {
            slotFreed = null;
            resolve();
          };
        });
        continue;
      }
      if (buffer.length > 0) continue;
      // Nothing could be started: either nothing is due, or what is due waits behind a send that another
      // (possibly crashed) worker holds until its lease ends.
      if (untilIdle && started === 0) return;
      if (untilIdle) continue;
      const next = await options.deliveries.nextDueAt().catch(() => null);
      const untilNext = next ? Math.max(0, next.getTime() - options.clock.now().getTime()) : idleMs;
      await sleep(Math.min(idleMs, Math.max(untilNext, 250)));
    }
    // Stopping: claims not yet started go straight back to the outbox.
    for (const delivery of buffer.splice(0)) {
      await options.deliveries.retryLater(delivery.id, { error: 'released at shutdown', nextAttemptAt: options.clock.now() }).catch(() => {});
      busyDestinations.delete(destinationOfDelivery(delivery));
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run(false);
    },
    wake() {
      wakeUp?.();
    },
    async drain() {
      await run(true);
      await Promise.all([...inFlight.values()].map((f) => f.promise));
    },
    async postsUpdated(posts) {
      if (!options.platform.edit) return;
      for (const post of posts) {
        const records = await options.deliveries.forPost(post.id);
        for (const record of records) {
          if (record.kind !== 'post' || record.status !== 'sent' || !record.messageId || record.platform !== options.platform.name) continue;
          try {
            await options.platform.edit(
              { platform: options.platform.name, workspaceId: record.workspaceId, channelId: record.channelId },
              record.messageId,
              { kind: 'post', card: buildPostCard(post) },
            );
          } catch (error) {
            log.warn({ err: error, deliveryId: record.id }, 'could not edit a delivered message');
          }
        }
      }
    },
    async stop() {
      running = false;
      controller.abort();
      wakeUp?.();
      slotFreed?.();
      await loop;
      await Promise.allSettled([...inFlight.values()].map((f) => f.promise));
    },
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
    if (wait > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, wait));
  };
}

import type { Subscription } from '../delivery/subscription.ts';
import type { Post } from '../posts/post.ts';

/** Deleting a subscription deletes its rows, so there is no "cancelled" state to report. */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** Proof of holding a claim: only the current holder may record an outcome or renew the lease. */
export interface DeliveryClaim {
  id: number;
  claimToken: string;
}

/** A delivery a worker has claimed: send it, then complete, retry or fail it with its claim. */
export interface ClaimedDelivery extends DeliveryClaim {
  kind: 'post' | 'digest';
  subscription: Subscription;
  /** The post, or for a digest (or a summary of held posts) the posts it bundles (oldest first). */
  posts: Post[];
  idempotencyKey: string;
  attempts: number;
  /** When the lease runs out, on the store's clock (the database's, on PostgreSQL). */
  leaseUntil: Date;
  /**
   * When an earlier attempt whose outcome is unknown began (a lost response, a timeout, a worker that died
   * mid-send); null when every earlier attempt is known not to have posted. The adapter looks for the
   * message before sending again where the platform has no idempotency key.
   */
  uncertainSince: Date | null;
  /**
   * When the last request of this delivery whose outcome is unknown began (with `uncertainSince`, the window
   * in which an earlier copy may have landed); null when nothing is uncertain.
   */
  uncertainLastAt?: Date | null;
  /**
   * The delivery's main message, posted and recorded by an earlier attempt whose follow-up (a discussion
   * thread's first reply) is not yet sent: the next attempt sends only what follows it.
   */
  messageId?: string | null;
  /** `held` for the one message summarising posts held while the subscription was paused. */
  label: 'held' | null;
  /** For a person's alert direct message: the keywords of their alerts the post matched, to name on it. */
  matched?: readonly string[];
}

export interface DeliveryRecord {
  id: number;
  kind: 'post' | 'digest';
  subscriptionId: number;
  subscriptionKind: Subscription['kind'];
  platform: string;
  workspaceId: string | null;
  channelId: string;
  postId: number | null;
  postTitle: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  messageId: string | null;
  sentAt: Date | null;
  lastError: string | null;
  createdAt: Date;
}

/**
 * The port for the outbox. Claims are fenced leases: a crashed worker's claims are retried after they
 * expire, and an outcome recorded with a claim that is no longer current is refused (returns false).
 *
 * The head rule: a destination (`platform:channel`) has at most one send in flight. While one of its
 * deliveries is `sending` (with a live lease, or until another worker takes the expired lease over) that
 * delivery is its head and it yields nothing else to any claimer; otherwise its head is its oldest pending
 * delivery of an active subscription in planning order (the order the rows were written, whatever the
 * posts' dates). Only heads are claimed.
 *
 * Time: leases and due times are durations from "now" on the store's clock. SQLite (one machine) uses the
 * `now` the caller passes; PostgreSQL (many instances) uses the database's clock for every lease, due time
 * and comparison, so an instance whose clock is off can neither take a live claim nor let its own lapse.
 */
export interface DeliveryStore {
  /**
   * Claims up to `limit` due deliveries, at most one per destination and always that destination's head,
   * so a channel receives posts in planning order and one stuck channel blocks only itself. Each claim
   * carries its subscription and posts, read in the claim's own transaction.
   */
  claimDue(options: {
    /** The caller's time (SQLite compares with it; PostgreSQL uses its own clock). */
    now: Date;
    limit: number;
    leaseMs: number;
    owner: string;
    /** Only this platform's deliveries. */
    platform: string;
    /** Destinations (`platform:channel`) with a send already in flight here. */
    excludeDestinations?: ReadonlySet<string>;
  }): Promise<ClaimedDelivery[]>;
  /**
   * Extends the leases of claims still held to `leaseMs` from now (the store's clock); returns the ids of
   * those that were held (the others were lost).
   */
  renew(claims: readonly DeliveryClaim[], lease: { now: Date; leaseMs: number }): Promise<Set<number>>;
  complete(claim: DeliveryClaim, outcome: { messageId: string; at: Date }): Promise<boolean>;
  /**
   * Back to pending, due again `delayMs` from now (the store's clock; `at` is the caller's now);
   * `uncertainSince` when the attempt may have posted (the next one looks first).
   */
  retryLater(
    claim: DeliveryClaim,
    outcome: {
      error: string;
      at: Date;
      delayMs: number;
      uncertainSince?: Date | null;
      /** This attempt made no request that may post (e.g. its history look-up was rate-limited): it does not count. */
      refundAttempt?: boolean;
    },
  ): Promise<boolean>;
  /**
   * Records, just before it, that a request which may post is starting (only such a claim is "maybe sent"
   * if its lease runs out). `resolved`: the earlier unknown outcome was looked for and settled, so it is
   * no longer uncertain. False when the claim is no longer held (then nothing may be sent).
   */
  markSending(claim: DeliveryClaim, step: { at: Date; resolved: boolean }): Promise<boolean>;
  /**
   * The delivery's main message is posted (its follow-ups are not yet): kept on the row so a later attempt
   * sends only the follow-ups. Nothing is uncertain at this point. False when the claim is no longer held.
   */
  recordMessage(claim: DeliveryClaim, outcome: { messageId: string }): Promise<boolean>;
  /**
   * The channel cannot receive: pauses the subscription with the reason, leaves a notice for the server,
   * and keeps this delivery pending (held with every later one) so a resume delivers it.
   */
  holdAndPause(claim: DeliveryClaim, outcome: { error: string; reason: string; at: Date }): Promise<boolean>;
  /** Marks this one delivery failed (rejected by the platform, or too many transient failures); the subscription goes on. */
  fail(claim: DeliveryClaim, outcome: { error: string; at: Date }): Promise<boolean>;
  /** Queues one post for one subscription now (e.g. "post the latest now"); null if it was already queued. */
  enqueuePost(subscriptionId: number, postId: number, at: Date): Promise<number | null>;
  /** Bundles each digest subscription's queued posts into one digest delivery; returns how many were made. */
  bundleDigests(mode: 'daily' | 'weekly', period: string, at: Date): Promise<number>;
  /**
   * After a resume: held deliveries created before `summariseBefore` become one summary message (their
   * rows are replaced), newer ones are sent as they are. Returns how many of each.
   */
  releaseHeld(subscriptionId: number, options: { at: Date; summariseBefore: Date }): Promise<{ held: number; summarised: number }>;
  list(options: { status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]>;
  forPost(postId: number): Promise<DeliveryRecord[]>;
  /** Pending deliveries of active subscriptions, the oldest one's creation time, and paused subscriptions (for metrics). */
  stats(): Promise<{ pending: number; oldestPendingAt: Date | null; pausedSubscriptions: number }>;
  /**
   * When the next delivery of this platform's destinations is due (a head waiting, a lease ending), or
   * null, on the caller's clock: the wait is measured on the store's clock and added to `now`.
   */
  nextDueAt(platform: string, now: Date): Promise<Date | null>;
}

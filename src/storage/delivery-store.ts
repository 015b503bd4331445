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
  leaseUntil: Date;
  /**
   * When an earlier attempt whose outcome is unknown began (a lost response, a timeout, a worker that died
   * mid-send); null when every earlier attempt is known not to have posted. The adapter looks for the
   * message before sending again where the platform has no idempotency key.
   */
  uncertainSince: Date | null;
  /** `held` for the one message summarising posts held while the subscription was paused. */
  label: 'held' | null;
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
 */
export interface DeliveryStore {
  /**
   * Claims up to `limit` due deliveries, at most one per destination and always that destination's oldest
   * open delivery, so a channel receives posts in order and one stuck channel blocks only itself.
   */
  claimDue(options: {
    now: Date;
    limit: number;
    leaseMs: number;
    owner: string;
    /** Only this platform's deliveries. */
    platform: string;
    /** Destinations (`platform:channel`) with a send already in flight here. */
    excludeDestinations?: ReadonlySet<string>;
  }): Promise<ClaimedDelivery[]>;
  /** Extends the leases of claims still held; returns the ids of those that were (the others were lost). */
  renew(claims: readonly DeliveryClaim[], leaseUntil: Date): Promise<Set<number>>;
  complete(claim: DeliveryClaim, outcome: { messageId: string; at: Date }): Promise<boolean>;
  /** Back to pending; `uncertain` when the attempt may have posted (the next one looks first). */
  retryLater(claim: DeliveryClaim, outcome: { error: string; nextAttemptAt: Date; uncertainSince?: Date | null }): Promise<boolean>;
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
  /** When the next delivery of this platform's destinations is due (a head waiting, a lease ending), or null. */
  nextDueAt(platform: string): Promise<Date | null>;
}

import type { Subscription } from '../delivery/subscription.ts';
import type { Post } from '../posts/post.ts';

/** Deleting a subscription deletes its rows, so there is no "cancelled" state to report. */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** A delivery a worker has claimed: send it, then complete, retry or fail it. */
export interface ClaimedDelivery {
  id: number;
  kind: 'post' | 'digest';
  subscription: Subscription;
  /** The post, or for a digest the posts it bundles (oldest first). */
  posts: Post[];
  idempotencyKey: string;
  attempts: number;
}

export interface DeliveryRecord {
  id: number;
  kind: 'post' | 'digest';
  subscriptionId: number;
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

/** The port for the outbox. Claims are leases: a crashed worker's claims are retried after they expire. */
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
  complete(id: number, outcome: { messageId: string; at: Date }): Promise<void>;
  retryLater(id: number, outcome: { error: string; nextAttemptAt: Date }): Promise<void>;
  /** Marks the delivery failed, pauses its subscription with the reason and leaves a notice for the server. */
  failAndPause(id: number, outcome: { error: string; reason: string; at: Date }): Promise<void>;
  /** Marks the delivery failed without pausing (gave up after too many transient failures). */
  fail(id: number, outcome: { error: string; at: Date }): Promise<void>;
  /** Queues one post for one subscription now (e.g. "post the latest now"); null if it was already queued. */
  enqueuePost(subscriptionId: number, postId: number, at: Date): Promise<number | null>;
  /** Bundles each digest subscription's queued posts into one digest delivery; returns how many were made. */
  bundleDigests(mode: 'daily' | 'weekly', period: string, at: Date): Promise<number>;
  list(options: { status?: DeliveryStatus; limit: number }): Promise<DeliveryRecord[]>;
  forPost(postId: number): Promise<DeliveryRecord[]>;
  /** When the next pending delivery is due, or null if none is pending. */
  nextDueAt(): Promise<Date | null>;
}

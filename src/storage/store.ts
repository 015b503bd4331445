import type { FeedStore } from './feed-store.ts';
import type { PostStore } from './post-store.ts';
import type { SearchIndex } from '../search/search-index.ts';
import type { DeliveryStore } from './delivery-store.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { InstallationStore } from './installation-store.ts';
import type { InteractionReceipts } from './interaction-receipts.ts';

/**
 * A request rate shared by every instance on one database: a platform's limit is per bot token (or per
 * workspace and method tier), not per process. Every request a delivery makes reserves a slot: the message,
 * and a thread started under it, a DM channel opened, a look-up, a thread reply (`SendOptions.reserveRequest`).
 */
export interface SendBudget {
  /**
   * Reserves the next slot of `bucket` at `ratePerSecond`, across every instance; resolves with the
   * milliseconds until it. A bucket is a platform (`discord`: the token's global limit) or a platform's own
   * bucket (`slack-history:<workspace>`: the workspace's history tier).
   */
  reserve(bucket: string, ratePerSecond: number): Promise<number>;
}

/** Every store the core uses, opened together and closed together. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly feeds: FeedStore;
  readonly posts: PostStore;
  readonly search: SearchIndex;
  readonly subscriptions: SubscriptionStore;
  readonly deliveries: DeliveryStore;
  readonly installations: InstallationStore;
  /** Interactions already taken, so a replayed or retried one runs once (shared by every instance on the database). */
  readonly interactionReceipts: InteractionReceipts;
  /** Present where several instances share the store (PostgreSQL); one process paces itself otherwise. */
  readonly sendBudget?: SendBudget;
  /**
   * Claims the store for this process's bot, where the store needs one (a SQLite file: one bot per file);
   * throws `store/locked` naming the holder when another process has it.
   */
  lockWriter(now: Date): void;
  close(): Promise<void>;
}

import type { FeedStore } from './feed-store.ts';
import type { PostStore } from './post-store.ts';
import type { SearchIndex } from '../search/search-index.ts';
import type { DeliveryStore } from './delivery-store.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { InstallationStore } from './installation-store.ts';

/** A send rate shared by every instance on one database: a platform's limit is per bot token, not per process. */
export interface SendBudget {
  /** Reserves the next send slot for `platform` at `ratePerSecond`, across every instance; resolves with the milliseconds until it. */
  reserve(platform: string, ratePerSecond: number): Promise<number>;
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
  /** Present where several instances share the store (PostgreSQL); one process paces itself otherwise. */
  readonly sendBudget?: SendBudget;
  /**
   * Claims the store for this process's bot, where the store needs one (a SQLite file: one bot per file);
   * throws `store/locked` naming the holder when another process has it.
   */
  lockWriter(now: Date): void;
  close(): Promise<void>;
}

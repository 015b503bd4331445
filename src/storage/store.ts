import type { FeedStore } from './feed-store.ts';
import type { PostStore } from './post-store.ts';
import type { SearchIndex } from '../search/search-index.ts';
import type { DeliveryStore } from './delivery-store.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import type { InstallationStore } from './installation-store.ts';

/** Every store the core uses, opened together and closed together. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly feeds: FeedStore;
  readonly posts: PostStore;
  readonly search: SearchIndex;
  readonly subscriptions: SubscriptionStore;
  readonly deliveries: DeliveryStore;
  readonly installations: InstallationStore;
  /**
   * Claims the store for this process's bot, where the store needs one (a SQLite file: one bot per file);
   * throws `store/locked` naming the holder when another process has it.
   */
  lockWriter(now: Date): void;
  close(): Promise<void>;
}

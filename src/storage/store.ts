import type { FeedStore } from './feed-store.ts';
import type { PostStore } from './post-store.ts';
import type { SearchIndex } from '../search/search-index.ts';

/** Every store the core uses, opened together and closed together. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly feeds: FeedStore;
  readonly posts: PostStore;
  readonly search: SearchIndex;
  close(): Promise<void>;
}

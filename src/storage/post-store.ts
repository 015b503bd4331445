import type { HttpValidators } from '../feeds/feed-fetcher.ts';
import type { Post, PostDraft } from '../posts/post.ts';

/** What a successful poll (or a backfill page) hands the store, applied in one transaction. */
export interface IngestBatch {
  feedId: number;
  at: Date;
  drafts: readonly PostDraft[];
  /** Keys of new posts that should be announced; every other new post is stored as already seen. */
  announceKeys: ReadonlySet<string>;
  /** Feed metadata and validators from this fetch (absent for a backfill, which leaves them alone). */
  feedUpdate?: {
    title: string | null;
    siteUrl: string | null;
    isSubstack: boolean;
    validators: HttpValidators;
    nextPollAt: Date;
  };
}

export interface IngestResult {
  /** Posts stored for the first time, oldest first. */
  created: Post[];
  /** The subset of `created` to announce, oldest first. */
  announced: Post[];
  /** Known posts whose title, subtitle, body or cover changed. */
  updated: Post[];
  unchanged: number;
  /** Items the store could not keep: each is skipped alone, and the rest of the batch is stored. */
  skipped: SkippedItem[];
}

/** A draft the store refused, and why. */
export interface SkippedItem {
  key: string;
  title: string;
  message: string;
}

/** The port for posts: stored once per feed and key, updated on edit, never deleted by a feed. */
export interface PostStore {
  ingest(batch: IngestBatch): Promise<IngestResult>;
  /**
   * Newest first, optionally for one feed, or only from `feedIds` (a tenant's visible feeds, applied in the
   * query so a page is never short; `[]` is nothing).
   */
  latest(options: { limit: number; offset?: number; feedId?: number; feedIds?: readonly number[] }): Promise<Post[]>;
  count(feedId?: number): Promise<number>;
  /** A post by its (normalised) URL or its key (`slug:…`). */
  findByUrl(url: string): Promise<Post | null>;
  /** The most recent `publishedAt` stored for a feed, or null for an empty feed. */
  newestPublishedAt(feedId: number): Promise<Date | null>;
  /** Which of these keys are already stored for the feed. */
  existingKeys(feedId: number, keys: readonly string[]): Promise<Set<string>>;
}

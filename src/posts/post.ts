import type { PaperRef } from '../content/paper-refs.ts';

/** Everything Inkwire keeps about a post, before it has a database id. */
export interface PostDraft {
  /** Stable identity within a feed: `slug:<slug>` for Substack, else `guid:`, `link:` or `hash:`. */
  key: string;
  guid: string | null;
  url: string;
  title: string;
  subtitle: string | null;
  author: string | null;
  /**
   * When the post was published, as Inkwire uses it for every rule that compares dates (announce or not,
   * order, digests) and shows on cards: the feed's date, or the fetch time when the feed claimed a date in
   * the future (see `clampFutureDate`).
   */
  publishedAt: Date | null;
  /** The feed's own date when it was in the future and `publishedAt` holds the fetch time instead; else null. */
  claimedPublishedAt?: Date | null;
  coverImageUrl: string | null;
  html: string;
  text: string;
  wordCount: number;
  readingMinutes: number;
  tldr: string | null;
  previewOnly: boolean;
  papers: PaperRef[];
}

/** A stored post. */
export interface Post extends PostDraft {
  id: number;
  feedId: number;
  feedUrl: string;
  feedTitle: string | null;
  firstSeenAt: Date;
  updatedAt: Date;
  /** False for posts stored as already seen (a feed's first poll, an archive backfill). */
  announced: boolean;
}

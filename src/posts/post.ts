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
  publishedAt: Date | null;
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

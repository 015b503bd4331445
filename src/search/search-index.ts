import type { PaperRef } from '../content/paper-refs.ts';
import type { Span } from '../commands/reply.ts';
import type { Post } from '../posts/post.ts';
import type { SearchQuery } from './search-query.ts';

export interface SearchHit {
  post: Post;
  /** Lower is better (BM25 as SQLite reports it); 0 for paper matches. */
  score: number;
  /** Text around the best match, matched terms bold; never cut inside a word. */
  snippet: Span[];
  matchedBy: 'paper' | 'text';
}

export interface SearchPage {
  hits: SearchHit[];
  total: number;
  /** True when so many posts match that `total` is a lower bound and ranking covered a bounded candidate set. */
  totalIsLowerBound: boolean;
}

export interface AutocompleteSuggestion {
  /** At most 100 characters (Discord's limit for both). */
  label: string;
  value: string;
}

/** The port for full-text search; SQLite FTS5 implements it, PostgreSQL can. */
export interface SearchIndex {
  search(query: SearchQuery, options: { limit: number; offset: number; anyWord: boolean }): Promise<SearchPage>;
  postsCitingPaper(paper: PaperRef, limit: number): Promise<Post[]>;
  autocomplete(partial: string, limit: number): Promise<AutocompleteSuggestion[]>;
  /** Rebuilds every search index from the stored posts. */
  reindex(): Promise<{ posts: number; ms: number }>;
}

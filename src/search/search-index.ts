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

/**
 * Which feeds a search may see. Applied inside the index query, before ranking, counting and any candidate
 * cap — never by filtering a ranked page afterwards (that gives short pages and wrong totals).
 */
export interface SearchScope {
  /** The feeds whose posts may be found: undefined = every feed (the operator's CLI); `[]` = none (nothing is queried). */
  feedIds?: readonly number[];
}

/** The port for full-text search; SQLite FTS5 and PostgreSQL implement it. */
export interface SearchIndex {
  search(query: SearchQuery, options: { limit: number; offset: number; anyWord: boolean } & SearchScope): Promise<SearchPage>;
  postsCitingPaper(paper: PaperRef, limit: number, options?: SearchScope): Promise<Post[]>;
  autocomplete(partial: string, limit: number, options?: SearchScope): Promise<AutocompleteSuggestion[]>;
  /** Rebuilds every search index from the stored posts. */
  reindex(): Promise<{ posts: number; ms: number }>;
}

/** True when the scope allows no feed at all: the stores answer with nothing without querying. */
export const scopeIsEmpty = (scope: SearchScope | undefined): boolean => scope?.feedIds !== undefined && scope.feedIds.length === 0;

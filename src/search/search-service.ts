import { UserError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { err, ok, type Result } from '../result.ts';
import type { SearchHit, SearchIndex, SearchScope } from './search-index.ts';
import { parseSearchQuery, type SearchQuery } from './search-query.ts';

export interface SearchResults {
  query: SearchQuery;
  hits: SearchHit[];
  total: number;
  totalIsLowerBound: boolean;
  /** Every word was required, nothing matched, so any word was enough: say so in the reply. */
  fallback: boolean;
  limit: number;
  offset: number;
}

export const SEARCH_MAX_LIMIT = 25;
export const SEARCH_MAX_OFFSET = 1000;

export interface SearchService {
  /** `feedIds` limits every part of the search (paper look-up, mentions, text) to those feeds; see `SearchScope`. */
  search(text: string, options?: { limit?: number; offset?: number } & SearchScope): Promise<Result<SearchResults, UserError>>;
  /** Title suggestions for partial input (autocomplete): at most 25, each at most 100 characters, from the scope's feeds. */
  suggest(partial: string, options?: SearchScope): Promise<Array<{ label: string; value: string }>>;
}

/**
 * Search as users see it: the query language, paper lookup first (an arXiv id, URL or DOI finds the
 * posts that cite that paper), then ranked text matches, with an any-word fallback. Expected problems
 * come back as `UserError`s; an index failure is logged and reported without its internals.
 */
export function createSearchService(options: { index: SearchIndex; logger: Logger; /** Told each search's duration (metrics). */ onSearched?: (seconds: number) => void }): SearchService {
  const service: SearchService = {
    async suggest(partial, { feedIds } = {}) {
      if (partial.trim().length === 0 || partial.length > 200) return [];
      try {
        return await options.index.autocomplete(partial, 25, { feedIds });
      } catch (error) {
        options.logger.warn({ err: error }, 'autocomplete failed');
        return [];
      }
    },
    async search(text, { limit = 5, offset = 0, feedIds } = {}) {
      const parsed = parseSearchQuery(text);
      if (!parsed.ok) return parsed;
      const query = parsed.value;
      const take = Math.min(Math.max(1, Math.trunc(limit)), SEARCH_MAX_LIMIT);
      const skip = Math.min(Math.max(0, Math.trunc(offset)), SEARCH_MAX_OFFSET);
      try {
        if (query.paper) {
          const citing = await options.index.postsCitingPaper(query.paper, SEARCH_MAX_LIMIT, { feedIds });
          const mentionQuery: SearchQuery = {
            ...query,
            paper: null,
            terms: [{ tokens: query.paper.id.split(/[^\p{L}\p{N}]+/u).filter(Boolean), phrase: true, prefix: false, negated: false, hyphenated: false }],
          };
          const mentions = await options.index.search(mentionQuery, { limit: SEARCH_MAX_LIMIT, offset: 0, anyWord: false, feedIds });
          const ids = new Set(citing.map((post) => post.id));
          const hits: SearchHit[] = [
            ...citing.map((post) => ({ post, score: 0, snippet: [], matchedBy: 'paper' as const })),
            ...mentions.hits.filter((hit) => !ids.has(hit.post.id)),
          ];
          return ok({ query, hits: hits.slice(skip, skip + take), total: hits.length, totalIsLowerBound: false, fallback: false, limit: take, offset: skip });
        }
        let page = await options.index.search(query, { limit: take, offset: skip, anyWord: false, feedIds });
        let fallback = false;
        if (page.total === 0 && query.terms.filter((t) => !t.negated).length >= 2) {
          page = await options.index.search(query, { limit: take, offset: skip, anyWord: true, feedIds });
          fallback = page.total > 0;
        }
        return ok({ query, ...page, fallback, limit: take, offset: skip });
      } catch (error) {
        options.logger.error({ err: error, queryLength: text.length }, 'search failed');
        return err(new UserError('search/failed', 'Search failed unexpectedly. It has been logged; please try again.'));
      }
    },
  };
  if (!options.onSearched) return service;
  const observe = options.onSearched;
  return {
    ...service,
    async search(text, searchOptions) {
      const started = performance.now();
      try {
        return await service.search(text, searchOptions);
      } finally {
        observe((performance.now() - started) / 1000);
      }
    },
  };
}

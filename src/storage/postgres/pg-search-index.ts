import type { Pool } from 'pg';
import type { Clock } from '../../clock.ts';
import type { Span } from '../../commands/reply.ts';
import { truncateAtWord } from '../../content/text.ts';
import { scopeIsEmpty, type AutocompleteSuggestion, type SearchHit, type SearchIndex } from '../../search/search-index.ts';
import type { QueryTerm, SearchQuery } from '../../search/search-query.ts';
import { MARK_CLOSE, MARK_OPEN, markedToSpans } from '../../search/snippet-marks.ts';
import { adjacentWordPairs } from '../sqlite/fts5-expression.ts';
import { postFromRow, type PostRow } from '../store-rows.ts';
import { SELECT_POST } from './pg-post-store.ts';

/** Each year of age makes a post's score 2% weaker: a small recency tie-break, as on SQLite. */
const RECENCY_PER_YEAR = 0.02;
const HEADLINE_OPTIONS = `StartSel="${MARK_OPEN}", StopSel="${MARK_CLOSE}", MaxFragments=1, MaxWords=30, MinWords=12, ShortWord=2, FragmentDelimiter=" … "`;

/**
 * Builds a tsquery expression with every piece of user text as a bound parameter. Words and phrases go
 * through `websearch_to_tsquery` (quotes for phrases; a token is only letters, digits and marks, so it
 * never carries tsquery syntax); a prefix is `to_tsquery(…:*)`, with a shorter prefix too for long words,
 * because the English stemmer indexes "learning" as "learn" (as on SQLite).
 */
function tsqueryExpression(query: SearchQuery, anyWord: boolean, params: unknown[]): string | null {
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const web = (text: string) => `websearch_to_tsquery('english', ${bind(text)})`;
  const termExpr = (term: QueryTerm): string => {
    const { tokens } = term;
    if (term.prefix) {
      const last = tokens.at(-1)!;
      const prefixes = [`${last}:*`, ...(last.length >= 6 ? [`${last.slice(0, Math.max(4, last.length - 2))}:*`] : [])];
      const prefix = `(${prefixes.map((p) => `to_tsquery('english', ${bind(p)})`).join(' || ')})`;
      return tokens.length === 1 ? prefix : `(${web(`"${tokens.slice(0, -1).join(' ')}"`)} && ${prefix})`;
    }
    const core = tokens.length === 1 ? web(tokens[0]!) : web(`"${tokens.join(' ')}"`);
    return term.hyphenated ? `(${core} || ${web(tokens.join(''))})` : core;
  };
  // Adjacent plain words also match their joined form (`fine tuning` → `finetuning`), as on SQLite.
  const joined = new Map(anyWord ? [] : adjacentWordPairs(query).map((pair) => [pair.index, pair.joined]));
  const terms = query.terms.filter((t) => !t.negated);
  const positives: string[] = [];
  for (let i = 0; i < terms.length; i++) {
    const pair = joined.get(i);
    if (pair !== undefined && i + 1 < terms.length) {
      positives.push(`((${termExpr(terms[i]!)} && ${termExpr(terms[i + 1]!)}) || ${web(pair)})`);
      i++;
      continue;
    }
    positives.push(termExpr(terms[i]!));
  }
  if (positives.length === 0) return null;
  let expression = `(${positives.join(anyWord ? ' || ' : ' && ')})`;
  const negatives = query.terms.filter((t) => t.negated).map(termExpr);
  if (negatives.length > 0) expression = `(${expression} && !!(${negatives.join(' || ')}))`;
  return expression;
}

/**
 * Search on PostgreSQL: a weighted `tsvector` (title A, subtitle and compound aliases B, body C) in a
 * generated column with a GIN index, ranked by `ts_rank_cd` with the same small recency tie-break as
 * SQLite, snippets from `ts_headline` computed per result row (so a snippet always comes from the post
 * it is shown under), author and date filters, paper look-up, and title autocomplete from an unstemmed
 * title vector (prefixes) and a `lower(title)` prefix index (anchored). A scope (`feedIds`) is one more
 * condition in the same WHERE, so ranking, the total and paging only ever see the asker's posts.
 */
export function createPostgresSearchIndex(pool: Pool, options: { clock: Clock }): SearchIndex {
  const loadPosts = async (ids: readonly number[]) => {
    if (ids.length === 0) return new Map<number, ReturnType<typeof postFromRow>>();
    const { rows } = await pool.query<PostRow>(`${SELECT_POST} WHERE p.id = ANY($1::bigint[])`, [ids]);
    return new Map(rows.map((row) => [row.id, postFromRow(row)]));
  };
  const filters = (query: SearchQuery, feedIds: readonly number[] | undefined, params: unknown[]) => {
    const parts: string[] = [];
    if (feedIds !== undefined) {
      params.push(feedIds);
      parts.push(`p.feed_id = ANY($${params.length}::bigint[])`);
    }
    if (query.before) {
      params.push(query.before);
      parts.push(`p.published_at < $${params.length}`);
    }
    if (query.after) {
      params.push(query.after);
      parts.push(`p.published_at >= $${params.length}`);
    }
    if (query.author) {
      params.push(query.author.map((t, i) => (i === query.author!.length - 1 ? `${t}:*` : t)).join(' & '));
      parts.push(`to_tsvector('simple', coalesce(p.author, '')) @@ to_tsquery('simple', $${params.length})`);
    }
    return parts;
  };
  const newestFirst = async (where: string[], params: unknown[], limit: number, offset: number) => {
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await pool.query<{ id: number; total: number }>(
      `SELECT p.id, count(*) OVER ()::int AS total FROM posts p ${clause} ORDER BY p.published_at DESC NULLS LAST, p.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    );
    const posts = await loadPosts(rows.map((r) => r.id));
    const total = rows[0]?.total ?? (offset > 0 ? (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM posts p ${clause}`, params)).rows[0]!.n : 0);
    return { total, totalIsLowerBound: false, hits: rows.map((r): SearchHit => ({ post: posts.get(r.id)!, score: 0, snippet: [], matchedBy: 'text' })) };
  };

  return {
    async search(query, { limit, offset, anyWord, feedIds }) {
      if (scopeIsEmpty({ feedIds })) return { hits: [], total: 0, totalIsLowerBound: false };
      const params: unknown[] = [];
      const tsquery = tsqueryExpression(query, anyWord, params);
      const where = filters(query, feedIds, params);
      // Only filters (dates, an author): nothing to rank by relevance, so newest first.
      if (!tsquery) return newestFirst(where, params, limit, offset);
      const matchParams = params.length; // what the match and the filters use (the count below needs only these)
      params.push(options.clock.now(), limit, offset);
      const now = `$${matchParams + 1}::timestamptz`;
      const { rows } = await pool.query<{ id: number; score: number; total: number; headline: string | null }>(
        `WITH q AS (SELECT ${tsquery} AS q),
         ranked AS (
           SELECT p.id, p.published_at,
                  -(ts_rank_cd(p.search, q.q) / (1 + ${RECENCY_PER_YEAR} * greatest(0, extract(epoch from (${now} - coalesce(p.published_at, ${now}))) / 31557600)))::float8 AS score,
                  count(*) OVER ()::int AS total
           FROM posts p, q WHERE p.search @@ q.q${where.length > 0 ? ` AND ${where.join(' AND ')}` : ''}
           ORDER BY score, p.published_at DESC NULLS LAST, p.id DESC LIMIT $${matchParams + 2} OFFSET $${matchParams + 3})
         -- The snippet of each result, from that result's own row.
         SELECT r.id, r.score, r.total, ts_headline('english', p.text, q.q, '${HEADLINE_OPTIONS}') AS headline
         FROM ranked r JOIN posts p ON p.id = r.id, q
         ORDER BY r.score, r.published_at DESC NULLS LAST, r.id DESC`,
        params,
      );
      const posts = await loadPosts(rows.map((r) => r.id));
      let total = rows[0]?.total ?? 0;
      if (rows.length === 0 && offset > 0) {
        total = (await pool.query<{ n: number }>(`WITH q AS (SELECT ${tsquery} AS q) SELECT count(*)::int AS n FROM posts p, q WHERE p.search @@ q.q${where.length > 0 ? ` AND ${where.join(' AND ')}` : ''}`, params.slice(0, matchParams))).rows[0]!.n;
      }
      const hits = rows.map((row): SearchHit => {
        const post = posts.get(row.id)!;
        return { post, score: row.score, snippet: snippetOf(row.headline, post.text, post.tldr ?? post.subtitle), matchedBy: 'text' };
      });
      return { hits, total, totalIsLowerBound: false };
    },
    async postsCitingPaper(paper, limit, { feedIds } = {}) {
      if (scopeIsEmpty({ feedIds })) return [];
      const { rows } = await pool.query<PostRow>(
        `${SELECT_POST} WHERE p.id IN (SELECT post_id FROM post_papers WHERE kind = $1 AND ref = $2)${feedIds === undefined ? '' : ' AND p.feed_id = ANY($4::bigint[])'} ORDER BY p.published_at DESC NULLS LAST LIMIT $3`,
        feedIds === undefined ? [paper.kind, paper.id, limit] : [paper.kind, paper.id, limit, feedIds],
      );
      return rows.map(postFromRow);
    },
    async autocomplete(partial, limit, { feedIds } = {}) {
      if (scopeIsEmpty({ feedIds })) return [];
      const tokens = partial.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}\p{M}]+/u).filter((t) => t.length > 0).slice(0, 8);
      if (tokens.length === 0) return [];
      const stillTyping = !/\s$/.test(partial);
      const tsquery = tokens.map((t, i) => (i === tokens.length - 1 && stillTyping ? `${t}:*` : t)).join(' & ');
      const out: AutocompleteSuggestion[] = [];
      const seen = new Set<number>();
      // Titles that start with the first word come first, then any title with every word.
      for (const anchored of [true, false]) {
        if (out.length >= limit) break;
        const params: unknown[] = [tsquery, limit];
        let sql = `SELECT id, title FROM posts WHERE to_tsvector('simple', title) @@ to_tsquery('simple', $1)`;
        if (anchored) {
          params.push(`${tokens[0]}%`);
          sql += ` AND lower(title) LIKE $${params.length}`;
        }
        if (feedIds !== undefined) {
          params.push(feedIds);
          sql += ` AND feed_id = ANY($${params.length}::bigint[])`;
        }
        const { rows } = await pool.query<{ id: number; title: string }>(`${sql} ORDER BY id DESC LIMIT $2`, params);
        for (const row of rows) {
          if (seen.has(row.id) || out.length >= limit) continue;
          seen.add(row.id);
          const label = truncateAtWord(row.title, 100);
          out.push({ label, value: label });
        }
      }
      return out;
    },
    async reindex() {
      // The search vector is a generated column, always current; rebuilding its index compacts it.
      const started = performance.now();
      await pool.query('REINDEX INDEX posts_search');
      await pool.query('ANALYZE posts');
      const posts = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM posts')).rows[0]!.n;
      return { posts, ms: performance.now() - started };
    },
  };
}

/** A headline with marks, with "…" where it was cut out of the text; a body without the match shows the fallback. */
function snippetOf(headline: string | null, text: string, fallback: string | null): Span[] {
  if (headline && headline.includes(MARK_OPEN)) {
    const plain = headline.replaceAll(MARK_OPEN, '').replaceAll(MARK_CLOSE, '');
    const cutStart = !text.startsWith(plain.slice(0, 20));
    const cutEnd = !text.trimEnd().endsWith(plain.slice(-20));
    return markedToSpans(`${cutStart ? '…' : ''}${headline}${cutEnd ? '…' : ''}`);
  }
  return fallback ? [{ text: truncateAtWord(fallback, 200) }] : [];
}

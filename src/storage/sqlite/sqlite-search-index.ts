import type { Database, Statement } from 'better-sqlite3';
import type { Span } from '../../commands/reply.ts';
import { MARK_OPEN, markedToSpans } from '../../search/snippet-marks.ts';
import { truncateAtWord } from '../../content/text.ts';
import { foldWords } from '../../delivery/keyword-filter.ts';
import type { Clock } from '../../clock.ts';
import { scopeIsEmpty, type AutocompleteSuggestion, type SearchHit, type SearchIndex, type SearchPage } from '../../search/search-index.ts';
import type { SearchQuery } from '../../search/search-query.ts';
import { adjacentWordPairs, buildAutocompleteExpression, buildMatchExpression } from './fts5-expression.ts';
import { SELECT_POST } from './sqlite-post-store.ts';
import { postFromRow, type PostRow } from '../store-rows.ts';

export interface SqliteSearchOptions {
  clock: Clock;
  /**
   * Above this many candidate matches, a query is answered from the head index (title, subtitle, tl;dr)
   * first and then from the newest `candidateCap` matches, instead of ranking every match: ranking every
   * post that contains a ubiquitous word is what makes FTS5 slow at scale.
   */
  candidateCap?: number;
}

/**
 * Candidates ranked exhaustively before a query takes the head-index-first path. By default every query
 * is ranked exhaustively: the capped path returned a different top 10 than BM25 itself (overlap@10 0.32
 * for 1-word queries at 10,000 posts), and exhaustive ranking at that size costs p99 8 ms for 1-word,
 * 20 ms for stop words and 47 ms for phrases (bench:search). A fast wrong answer is not kept as the default;
 * `candidateCap` stays for operators of much larger archives who accept approximate ranking.
 */
export const DEFAULT_CANDIDATE_CAP = 1_000_000_000;

/** BM25 column weights: title, subtitle, body text, author, compound aliases. */
const WEIGHTS = '10.0, 4.0, 1.0, 2.0, 1.0';
const HEAD_WEIGHTS = '10.0, 4.0, 2.0';
/** Each year of age makes a post's score 2% weaker: a small recency tie-break, not a re-ranking. */
const RECENCY_PER_YEAR = 0.02;
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

interface RankedRow {
  id: number;
  score: number;
}

/**
 * What narrows matches beyond the MATCH expression — dates and the asker's feeds — as conditions on the
 * post row joined to the index (`p`), so they hold inside every counting, capping and ranking query.
 */
interface RowFilter {
  /** `AND …` conditions on `p`; empty when nothing narrows (then no query joins the posts table). */
  sql: string;
  params: Record<string, number | string>;
}

function rowFilter(query: SearchQuery, feedIds: readonly number[] | undefined): RowFilter {
  let sql = '';
  const params: Record<string, number | string> = {};
  if (query.before) {
    sql += ' AND p.published_at < @before';
    params.before = query.before.getTime();
  }
  if (query.after) {
    sql += ' AND p.published_at >= @after';
    params.after = query.after.getTime();
  }
  if (feedIds !== undefined) {
    // One statement for any number of feeds (a list of placeholders would prepare one per scope size). The
    // `+` keeps the feed list out of the index seek: one seek per match by id, then a set lookup, instead
    // of one seek per match and feed.
    sql += ' AND +p.feed_id IN (SELECT value FROM json_each(@feeds))';
    params.feeds = JSON.stringify(feedIds);
  }
  return { sql, params };
}

/**
 * `FROM … WHERE table MATCH @match` plus the filter, joining posts only when something filters — through
 * `posts_scope_by_id` (id, feed_id, published_at), which answers the filter without reading the post's row.
 */
const matchFrom = (table: 'posts_fts' | 'posts_head_fts', filter: RowFilter, match = '@match') =>
  filter.sql
    ? `FROM ${table} JOIN posts p INDEXED BY posts_scope_by_id ON p.id = ${table}.rowid WHERE ${table} MATCH ${match}${filter.sql}`
    : `FROM ${table} WHERE ${table} MATCH ${match}`;

export function createSqliteSearchIndex(db: Database, options: SqliteSearchOptions): SearchIndex {
  const cap = options.candidateCap ?? DEFAULT_CANDIDATE_CAP;
  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const hasTerm = (term: string) =>
    prepare('SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? LIMIT 1').get(`"${term}"`) !== undefined;

  const loadPosts = (ids: readonly number[]) => {
    if (ids.length === 0) return new Map<number, ReturnType<typeof postFromRow>>();
    const rows = prepare(`${SELECT_POST} WHERE p.id IN (${ids.map(() => '?').join(',')})`).all(...ids) as PostRow[];
    return new Map(rows.map((row) => [row.id, postFromRow(row)]));
  };

  /**
   * The snippet comes from the body column only, in one query (FTS5 cuts at token boundaries); a post that
   * matches only in its title or subtitle shows its tl;dr instead — the match is already in the card.
   * Trying the subtitle and title columns as well cost up to two more seeks per result (p50 2.9 → 4.9 ms).
   */
  const snippetFor = (match: string, id: number, fallback: string | null): Span[] => {
    const row = prepare(
      `SELECT snippet(posts_fts, 2, char(57344), char(57345), '…', 24) AS s FROM posts_fts WHERE posts_fts MATCH ? AND rowid = ?`,
      // A BigInt binds as INTEGER: a JS number binds as REAL, and FTS5 then ignores the rowid condition and
      // answers with the lowest matching row — another post's snippet.
    ).get(match, BigInt(id)) as { s: string | null } | undefined;
    if (row?.s && row.s.includes(MARK_OPEN)) return markedToSpans(row.s);
    return fallback ? [{ text: truncateAtWord(fallback, 200) }] : [];
  };

  /**
   * Candidates matching an expression (in the full or the head index) and the filter (dates, scope),
   * counted newest-first, unranked, up to cap + 1: the cap counts only posts the asker may see.
   */
  const probe = (table: 'posts_fts' | 'posts_head_fts', expression: string, filter: RowFilter) => {
    const rows = prepare(`SELECT ${table}.rowid AS id ${matchFrom(table, filter)} ORDER BY ${table}.rowid DESC LIMIT @limit`).all({
      ...filter.params,
      match: expression,
      limit: cap + 1,
    }) as Array<{ id: number }>;
    return { count: rows.length, boundary: rows.length > cap ? rows[cap - 1]!.id : null };
  };

  /** BM25 over the full index (pure FTS5; posts are joined only when dates or a scope filter). */
  const rankFull = (match: string, filter: RowFilter, take: number, fromRowid: number | null) => {
    const window = fromRowid === null ? '' : ' AND posts_fts.rowid >= @fromRowid';
    const sql = `SELECT posts_fts.rowid AS id, bm25(posts_fts, ${WEIGHTS}) AS score ${matchFrom('posts_fts', filter)}${window} ORDER BY score LIMIT @take`;
    return prepare(sql).all({ ...filter.params, match, take, ...(fromRowid === null ? {} : { fromRowid }) }) as RankedRow[];
  };

  /** Recency tie-break, applied to the few best candidates rather than inside the ranking query. */
  const withRecency = (rows: RankedRow[]): RankedRow[] => {
    if (rows.length === 0) return rows;
    const dates = new Map(
      (prepare(`SELECT id, published_at AS at FROM posts WHERE id IN (${rows.map(() => '?').join(',')})`).all(...rows.map((r) => r.id)) as Array<{ id: number; at: number | null }>).map((r) => [r.id, r.at]),
    );
    const now = options.clock.now().getTime();
    return rows
      .map((row) => {
        const at = dates.get(row.id) ?? now;
        return { id: row.id, score: row.score / (1 + RECENCY_PER_YEAR * Math.max(0, (now - at) / YEAR_MS)), at };
      })
      .sort((a, b) => a.score - b.score || b.at - a.at)
      .map(({ id, score }) => ({ id, score }));
  };

  /**
   * For a phrase of ubiquitous words, FTS5's position check is the cost; instead check the phrase in the
   * stored text of the newest posts that contain every word (newest first), and stop at `take`.
   */
  const phraseInNewestBodies = (query: SearchQuery, relaxed: string, filter: RowFilter, take: number): RankedRow[] => {
    const phrases = query.terms.filter((t) => !t.negated && t.phrase).map((t) => ` ${foldWords(t.tokens.join(' ')).join(' ')} `);
    const ids = prepare(`SELECT posts_fts.rowid AS id ${matchFrom('posts_fts', filter)} ORDER BY posts_fts.rowid DESC LIMIT 200`).all({
      ...filter.params,
      match: relaxed,
    }) as Array<{ id: number }>;
    const textOf = prepare('SELECT title, subtitle, text FROM posts WHERE id = ?');
    const found: RankedRow[] = [];
    for (const { id } of ids) {
      const row = textOf.get(id) as { title: string; subtitle: string | null; text: string };
      const words = ` ${foldWords(`${row.title} ${row.subtitle ?? ''} ${row.text}`).join(' ')} `;
      if (phrases.every((phrase) => words.includes(phrase))) found.push({ id, score: 0 });
      if (found.length >= take) break;
    }
    return found;
  };

  function rankedSearch(query: SearchQuery, limit: number, offset: number, anyWord: boolean, feedIds: readonly number[] | undefined): SearchPage {
    const joinedPairs = new Map<number, string>();
    if (!anyWord) for (const pair of adjacentWordPairs(query)) if (hasTerm(pair.joined)) joinedPairs.set(pair.index, pair.joined);
    const match = buildMatchExpression(query, { anyWord, joinedPairs });
    const filter = rowFilter(query, feedIds);
    const params = filter.params;
    const take = offset + limit;

    if (!match) {
      // Only date filters: newest first.
      const where = `WHERE 1 = 1${filter.sql}`;
      const total = (prepare(`SELECT count(*) AS n FROM posts p ${where}`).get(params) as { n: number }).n;
      const ids = (prepare(`SELECT p.id FROM posts p ${where} ORDER BY p.published_at DESC, p.id DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit, offset }) as Array<{ id: number }>).map((r) => r.id);
      const posts = loadPosts(ids);
      return { total, totalIsLowerBound: false, hits: ids.map((id) => ({ post: posts.get(id)!, score: 0, snippet: [], matchedBy: 'text' })) };
    }

    if (query.author && !query.terms.some((t) => !t.negated)) {
      // Only an author (and dates): nothing to rank by relevance, so newest first.
      const from = `FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH @match${filter.sql}`;
      const total = (prepare(`SELECT count(*) AS n ${from}`).get({ ...params, match }) as { n: number }).n;
      const ids = (prepare(`SELECT p.id ${from} ORDER BY p.published_at DESC, p.id DESC LIMIT @limit OFFSET @offset`).all({ ...params, match, limit, offset }) as Array<{ id: number }>).map((r) => r.id);
      const posts = loadPosts(ids);
      return { total, totalIsLowerBound: false, hits: ids.map((id) => ({ post: posts.get(id)!, score: 0, snippet: [], matchedBy: 'text' })) };
    }

    // How many posts could match? Walking the doclist newest-first without ranking is cheap.
    const relaxed = buildMatchExpression(query, { anyWord, joinedPairs, relaxed: true })!;
    const candidates = probe('posts_fts', relaxed, filter);
    const hasPhrase = query.terms.some((t) => !t.negated && t.phrase);
    // A phrase made only of ubiquitous words ("of the") costs FTS5 a position check in nearly every post:
    // such a phrase is looked for in titles, subtitles and tl;drs only.
    const commonPhrase =
      hasPhrase &&
      query.terms.some((t) => !t.negated && t.phrase && t.tokens.every((token) => probe('posts_fts', `"${token}"`, filter).boundary !== null));

    let ranked: RankedRow[];
    let total: number;
    let totalIsLowerBound = false;
    if (candidates.boundary === null && !commonPhrase) {
      // Few enough to rank them all: exact BM25.
      ranked = withRecency(rankFull(match, filter, Math.max(take * 2, 20), null)).slice(0, take);
      total = hasPhrase ? (prepare(`SELECT count(*) AS n ${matchFrom('posts_fts', filter)}`).get({ ...params, match }) as { n: number }).n : candidates.count;
    } else {
      // Too many to rank every one (ranking is what costs): the small head index — title, subtitle,
      // tl;dr — answers first, from any time; the newest candidates from the full index follow.
      const head = buildMatchExpression(query, { anyWord, joinedPairs, positivesOnly: true });
      const headRows: RankedRow[] = [];
      if (head) {
        const headRelaxed = buildMatchExpression(query, { anyWord, joinedPairs, positivesOnly: true, relaxed: true })!;
        // The head index is filtered (dates, scope) like the full one, so its window and its top rows are
        // the asker's posts, not the newest or best of every feed.
        const headWindow = probe('posts_head_fts', headRelaxed, filter).boundary;
        const rows = prepare(
          `SELECT posts_head_fts.rowid AS id, bm25(posts_head_fts, ${HEAD_WEIGHTS}) AS score ${matchFrom('posts_head_fts', filter, '@head')}${headWindow === null ? '' : ' AND posts_head_fts.rowid >= @from'} ORDER BY score LIMIT @take`,
        ).all({ ...params, head, take: take * 2 + 10, ...(headWindow === null ? {} : { from: headWindow }) }) as RankedRow[];
        // Head hits must still satisfy the whole query (exclusions, author; dates and scope already hold).
        const check = prepare('SELECT 1 FROM posts_fts WHERE posts_fts MATCH @match AND rowid = @id');
        const needsCheck = query.author !== null || query.terms.some((t) => t.negated);
        for (const row of withRecency(rows)) {
          if (headRows.length >= take) break;
          // BigInt: a rowid bound as REAL makes FTS5 ignore the condition (and pass every head hit).
          if (needsCheck && check.get({ match, id: BigInt(row.id) }) === undefined) continue;
          headRows.push(row);
        }
      }
      const seen = new Set(headRows.map((r) => r.id));
      let bodyRows: RankedRow[] = [];
      if (headRows.length < take && commonPhrase) {
        bodyRows = phraseInNewestBodies(query, relaxed, filter, take - headRows.length).filter((r) => !seen.has(r.id));
      } else if (headRows.length < take) {
        bodyRows = withRecency(rankFull(match, filter, take * 2, candidates.boundary)).filter((r) => !seen.has(r.id));
      }
      ranked = [...headRows, ...bodyRows].slice(0, take);
      total = Math.max(cap + 1, ranked.length);
      totalIsLowerBound = true;
    }
    const page = ranked.slice(offset, offset + limit);
    const posts = loadPosts(page.map((r) => r.id));
    const hits: SearchHit[] = page.map((row) => {
      const post = posts.get(row.id)!;
      return { post, score: row.score, snippet: snippetFor(match, row.id, post.tldr ?? post.subtitle), matchedBy: 'text' };
    });
    return { hits, total, totalIsLowerBound };
  }

  return {
    async search(query, { limit, offset, anyWord, feedIds }) {
      if (scopeIsEmpty({ feedIds })) return { hits: [], total: 0, totalIsLowerBound: false };
      return rankedSearch(query, limit, offset, anyWord, feedIds);
    },
    async postsCitingPaper(paper, limit, { feedIds } = {}) {
      if (scopeIsEmpty({ feedIds })) return [];
      const scope = feedIds === undefined ? '' : ' AND p.feed_id IN (SELECT value FROM json_each(@feeds))';
      const rows = prepare(
        `${SELECT_POST} WHERE p.id IN (SELECT post_id FROM post_papers WHERE kind = @kind AND ref = @ref)${scope} ORDER BY p.published_at DESC LIMIT @limit`,
      ).all({ kind: paper.kind, ref: paper.id, limit, ...(feedIds === undefined ? {} : { feeds: JSON.stringify(feedIds) }) }) as PostRow[];
      return rows.map(postFromRow);
    },
    async autocomplete(partial, limit, { feedIds } = {}) {
      if (scopeIsEmpty({ feedIds })) return [];
      const scope = feedIds === undefined ? '' : ' AND p.feed_id IN (SELECT value FROM json_each(@feeds))';
      const out: AutocompleteSuggestion[] = [];
      const seen = new Set<number>();
      for (const anchored of [true, false]) {
        const expression = buildAutocompleteExpression(partial, anchored);
        if (!expression || out.length >= limit) continue;
        const rows = prepare(
          `SELECT t.rowid AS id, p.title AS title FROM posts_title_ac t JOIN posts p ON p.id = t.rowid WHERE posts_title_ac MATCH @expression${scope} ORDER BY t.rowid DESC LIMIT @limit`,
        ).all({ expression, limit, ...(feedIds === undefined ? {} : { feeds: JSON.stringify(feedIds) }) }) as Array<{ id: number; title: string }>;
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
      const started = performance.now();
      db.transaction(() => {
        db.exec(`
          INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
          INSERT INTO posts_head_fts (posts_head_fts) VALUES ('rebuild');
          INSERT INTO posts_title_ac (posts_title_ac) VALUES ('rebuild');
        `);
      })();
      db.exec("INSERT INTO posts_fts (posts_fts) VALUES ('optimize')");
      const posts = (db.prepare('SELECT count(*) AS n FROM posts').get() as { n: number }).n;
      return { posts, ms: performance.now() - started };
    },
  };
}

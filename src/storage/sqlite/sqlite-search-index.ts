import type { Database, Statement } from 'better-sqlite3';
import type { Span } from '../../commands/reply.ts';
import { truncateAtWord } from '../../content/text.ts';
import type { Clock } from '../../clock.ts';
import type { AutocompleteSuggestion, SearchHit, SearchIndex, SearchPage } from '../../search/search-index.ts';
import type { SearchQuery } from '../../search/search-query.ts';
import { adjacentWordPairs, buildAutocompleteExpression, buildMatchExpression } from './fts5-expression.ts';
import { postFromRow, SELECT_POST, type PostRow } from './sqlite-post-store.ts';

export interface SqliteSearchOptions {
  clock: Clock;
  /**
   * Above this many candidate matches a query is ranked over a bounded set (the newest `candidateCap`
   * matches plus the best head-index hits from any time) instead of every match: ranking every post that
   * contains a ubiquitous word is what makes FTS5 slow at scale.
   */
  candidateCap?: number;
  /** How many best head-index (title/subtitle/tl;dr) hits join the candidates of a capped query. */
  headCandidates?: number;
}

/** BM25 column weights: title, subtitle, body text, author, compound aliases. */
const WEIGHTS = '10.0, 4.0, 1.0, 2.0, 1.0';
const HEAD_WEIGHTS = '10.0, 4.0, 2.0';
/** Each year of age makes a post's score 2% weaker: a small recency tie-break, not a re-ranking. */
const RECENCY_PER_YEAR = 0.02;
const YEAR_MS = 365.25 * 24 * 3600 * 1000;
/** Snippet markers: private-use characters, which ingest strips from feed text. */
const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';

interface RankedRow {
  id: number;
  score: number;
}

export function createSqliteSearchIndex(db: Database, options: SqliteSearchOptions): SearchIndex {
  const cap = options.candidateCap ?? 2000;
  const headCandidates = options.headCandidates ?? 50;
  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const dateFilter = (query: SearchQuery) =>
    `${query.before ? ' AND p.published_at < @before' : ''}${query.after ? ' AND p.published_at >= @after' : ''}`;
  const needsJoin = (query: SearchQuery) => query.before !== null || query.after !== null;

  const adjustedScore = `bm25(posts_fts, ${WEIGHTS}) / (1 + ${RECENCY_PER_YEAR} * max(0, (@now - coalesce(p.published_at, @now)) / ${YEAR_MS}))`;

  const hasTerm = (term: string) =>
    prepare('SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? LIMIT 1').get(`"${term}"`) !== undefined;

  const loadPosts = (ids: readonly number[]) => {
    if (ids.length === 0) return new Map<number, ReturnType<typeof postFromRow>>();
    const rows = prepare(`${SELECT_POST} WHERE p.id IN (${ids.map(() => '?').join(',')})`).all(...ids) as PostRow[];
    return new Map(rows.map((row) => [row.id, postFromRow(row)]));
  };

  const snippetFor = (match: string, id: number, fallback: string | null): Span[] => {
    for (const column of [2, 1, 0]) {
      const row = prepare(
        `SELECT snippet(posts_fts, ${column}, char(57344), char(57345), '…', 24) AS s FROM posts_fts WHERE posts_fts MATCH ? AND rowid = ?`,
      ).get(match, id) as { s: string | null } | undefined;
      if (row?.s && row.s.includes(MARK_OPEN)) return markedToSpans(row.s);
    }
    return fallback ? [{ text: truncateAtWord(fallback, 200) }] : [];
  };

  function rankedSearch(query: SearchQuery, limit: number, offset: number, anyWord: boolean): SearchPage & { match: string | null } {
    const joinedPairs = new Map<number, string>();
    if (!anyWord) for (const pair of adjacentWordPairs(query)) if (hasTerm(pair.joined)) joinedPairs.set(pair.index, pair.joined);
    const match = buildMatchExpression(query, { anyWord, joinedPairs });
    const params: Record<string, number | string> = { now: options.clock.now().getTime() };
    if (query.before) params.before = query.before.getTime();
    if (query.after) params.after = query.after.getTime();

    if (!match) {
      // Only date filters: newest first.
      const where = `WHERE 1 = 1${dateFilter(query)}`;
      const total = (prepare(`SELECT count(*) AS n FROM posts p ${where}`).get(params) as { n: number }).n;
      const ids = (prepare(`SELECT p.id FROM posts p ${where} ORDER BY p.published_at DESC, p.id DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit, offset }) as Array<{ id: number }>).map((r) => r.id);
      const posts = loadPosts(ids);
      return { match, total, totalIsLowerBound: false, hits: ids.map((id) => ({ post: posts.get(id)!, score: 0, snippet: [], matchedBy: 'text' })) };
    }

    const from = `FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH @match${dateFilter(query)}`;
    const relaxed = buildMatchExpression(query, { anyWord, joinedPairs, relaxed: true })!;
    // How many posts could match? Walking the doclist newest-first without ranking is cheap.
    const probeFrom = needsJoin(query)
      ? `FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH @match${dateFilter(query)}`
      : 'FROM posts_fts WHERE posts_fts MATCH @match';
    const boundary = prepare(`SELECT posts_fts.rowid AS id ${probeFrom} ORDER BY posts_fts.rowid DESC LIMIT 1 OFFSET @cap`).get({
      ...params,
      match: relaxed,
      cap,
    }) as { id: number } | undefined;

    let ranked: RankedRow[];
    let total: number;
    let totalIsLowerBound = false;
    if (!boundary) {
      ranked = prepare(`SELECT posts_fts.rowid AS id, ${adjustedScore} AS score ${from} ORDER BY score, p.published_at DESC LIMIT @take`).all({
        ...params,
        match,
        take: offset + limit,
      }) as RankedRow[];
      total = (prepare(`SELECT count(*) AS n ${from}`).get({ ...params, match }) as { n: number }).n;
    } else {
      // Too many candidates to rank them all: rank the newest `cap` of them, plus the posts whose title,
      // subtitle or tl;dr match best from any time (scored with the same BM25), and merge.
      const windowed = prepare(
        `SELECT posts_fts.rowid AS id, ${adjustedScore} AS score ${from} AND posts_fts.rowid >= @threshold ORDER BY score, p.published_at DESC LIMIT @take`,
      ).all({ ...params, match, threshold: boundary.id, take: offset + limit }) as RankedRow[];
      const head = buildMatchExpression(query, { anyWord, joinedPairs, positivesOnly: true });
      const seen = new Set(windowed.map((r) => r.id));
      const extra: RankedRow[] = [];
      if (head) {
        const headBoundary = prepare(
          'SELECT rowid AS id FROM posts_head_fts WHERE posts_head_fts MATCH @head ORDER BY rowid DESC LIMIT 1 OFFSET @cap',
        ).get({ head, cap }) as { id: number } | undefined;
        const headIds = prepare(
          `SELECT rowid AS id FROM posts_head_fts WHERE posts_head_fts MATCH @head${headBoundary ? ' AND rowid >= @threshold' : ''} ORDER BY bm25(posts_head_fts, ${HEAD_WEIGHTS}) LIMIT @take`,
        ).all({ head, take: headCandidates, ...(headBoundary ? { threshold: headBoundary.id } : {}) }) as Array<{ id: number }>;
        const score = prepare(`SELECT posts_fts.rowid AS id, ${adjustedScore} AS score ${from} AND posts_fts.rowid = @id`);
        for (const { id } of headIds) {
          if (seen.has(id)) continue;
          const row = score.get({ ...params, match, id }) as RankedRow | undefined;
          if (row) extra.push(row);
        }
      }
      ranked = [...windowed, ...extra].sort((a, b) => a.score - b.score);
      total = cap + 1;
      totalIsLowerBound = true;
    }
    const page = ranked.slice(offset, offset + limit);
    const posts = loadPosts(page.map((r) => r.id));
    const hits: SearchHit[] = page.map((row) => {
      const post = posts.get(row.id)!;
      return { post, score: row.score, snippet: snippetFor(match, row.id, post.tldr ?? post.subtitle), matchedBy: 'text' };
    });
    return { match, hits, total, totalIsLowerBound };
  }

  return {
    async search(query, { limit, offset, anyWord }) {
      const { hits, total, totalIsLowerBound } = rankedSearch(query, limit, offset, anyWord);
      return { hits, total, totalIsLowerBound };
    },
    async postsCitingPaper(paper, limit) {
      const rows = prepare(
        `${SELECT_POST} WHERE p.id IN (SELECT post_id FROM post_papers WHERE kind = ? AND ref = ?) ORDER BY p.published_at DESC LIMIT ?`,
      ).all(paper.kind, paper.id, limit) as PostRow[];
      return rows.map(postFromRow);
    },
    async autocomplete(partial, limit) {
      const out: AutocompleteSuggestion[] = [];
      const seen = new Set<number>();
      for (const anchored of [true, false]) {
        const expression = buildAutocompleteExpression(partial, anchored);
        if (!expression || out.length >= limit) continue;
        const rows = prepare(
          'SELECT t.rowid AS id, p.title AS title FROM posts_title_ac t JOIN posts p ON p.id = t.rowid WHERE posts_title_ac MATCH ? ORDER BY t.rowid DESC LIMIT ?',
        ).all(expression, limit) as Array<{ id: number; title: string }>;
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

/** Turns FTS5 snippet markers into spans; feed text never contains the markers (ingest strips them). */
export function markedToSpans(marked: string): Span[] {
  const spans: Span[] = [];
  const pattern = new RegExp(`${MARK_OPEN}([^${MARK_CLOSE}]*)${MARK_CLOSE}`, 'g');
  let last = 0;
  for (const match of marked.matchAll(pattern)) {
    if (match.index > last) spans.push({ text: marked.slice(last, match.index) });
    spans.push({ text: match[1]!, bold: true });
    last = match.index + match[0].length;
  }
  if (last < marked.length) spans.push({ text: marked.slice(last) });
  return spans.filter((span) => span.text.length > 0);
}

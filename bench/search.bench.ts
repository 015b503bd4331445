/**
 * `npm run bench:search`: full-text search at archive scale. Generates synthetic corpora (default
 * 10,000 and 100,000 posts: 5–10-word titles, subtitles and 1,000–2,000-word bodies over a 50,000-word
 * Zipf vocabulary, fixed seed; see search-corpus-generator.ts), ingests them into a temporary SQLite
 * file in batches of 1,000 through the post store (so the FTS5 triggers build all three indexes), and
 * measures: index build time, database size, peak memory, and p50/p99 latency of `/search` as users
 * see it (`SearchService.search`, limit 10: parsing, ranking, snippets, loading posts) for 1-word,
 * 3-word, phrase, rare-term, very-common-term and stop-word queries, plus title autocomplete. At
 * 10,000 posts (or fewer) the same queries run against an in-memory MiniSearch index for a ratio.
 * Relevance: mean overlap@10 between the capped production ranking (candidateCap 2000) and an
 * exhaustive one over the same file. Scope: the posts are spread over FEEDS feeds (post n in feed n mod
 * FEEDS, interleaved in time as real newsletters are), and every query set runs again scoped to one feed
 * (what a server that sees one of several feeds asks) and scoped to every feed listed (the filter's own
 * cost when it excludes nothing), in the same run, as ratios to the unscoped figures.
 * Prints Markdown tables, or one JSON object with --json.
 * `--sizes 2000,5000` runs other corpus sizes (comma-separated).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import MiniSearch from 'minisearch';
import { createManualClock } from '../src/clock.ts';
import { createSilentLogger } from '../src/logger.ts';
import { createSearchService, type SearchService } from '../src/search/search-service.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { DEFAULT_CANDIDATE_CAP } from '../src/storage/sqlite/sqlite-search-index.ts';
import { fmt, machineLine, printTable, seededRandom, summarise, wantsJson } from './bench-util.ts';
import { corpusNow, createCorpusGenerator, ML_TERMS, STOP_WORDS, VOCABULARY_SIZE, type CorpusGenerator } from './search-corpus-generator.ts';

const SEED = 20_240_601;
const QUERIES_PER_SET = 300;
const WARMUP = 30;
const BATCH = 1000;
const CANDIDATE_CAP = DEFAULT_CANDIDATE_CAP;
/** The corpus is spread over this many feeds, for the scoped rows. */
const FEEDS = 8;
/** MiniSearch runs at this size and below; above it, the in-memory index needs minutes and gigabytes. */
const MINISEARCH_MAX_POSTS = 10_000;
/** Distinct queries per set compared against the exhaustive ranking (exhaustive ranking is slow at scale). */
const relevanceQueries = (posts: number) => (posts <= 10_000 ? 100 : 40);

const QUERY_TYPES = ['1-word', '3-word', 'phrase', 'rare-term', 'very-common-term', 'stop-word', 'autocomplete'] as const;
type QueryType = (typeof QUERY_TYPES)[number];
/** overlap@10 against exhaustive ranking, for every query type (autocomplete ranks titles, not posts). */
const RELEVANCE_TYPES: readonly QueryType[] = ['1-word', '3-word', 'phrase', 'rare-term', 'very-common-term', 'stop-word'];

const targetP99Ms = (type: QueryType, posts: number) => (type === 'autocomplete' || posts <= 10_000 ? 5 : 20);
const buildTargetMs = (posts: number) => (posts === 100_000 ? 180_000 : null);

function parseSizes(): number[] {
  const index = process.argv.findIndex((a) => a === '--sizes' || a.startsWith('--sizes='));
  if (index === -1) return [10_000, 100_000];
  const arg = process.argv[index]!;
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (process.argv[index + 1] ?? '');
  const sizes = value.split(',').map((s) => Number(s.replace(/_/g, '').trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 100)) {
    throw new Error(`--sizes needs comma-separated post counts of at least 100, e.g. --sizes 2000,10000 (got "${value}")`);
  }
  return sizes;
}

const progress = (message: string) => process.stderr.write(`[bench:search] ${message}\n`);
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const int = (n: number) => n.toLocaleString('en-US');

/** `global.gc` if node was started with --expose-gc, else switched on at runtime. */
function findGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}
const gc = findGc();
const collect = () => {
  gc?.();
  gc?.();
};

// Peak RSS: sampled every 50 ms (the loops below yield to the event loop so the timer can fire) and at checkpoints.
let phasePeakRss = 0;
const sampleRss = () => {
  const rss = process.memoryUsage().rss;
  if (rss > phasePeakRss) phasePeakRss = rss;
};
const startPhase = () => {
  phasePeakRss = 0;
  sampleRss();
};
const sampler = setInterval(sampleRss, 50);
sampler.unref();

/** Interrupted runs still delete their temporary database. */
let currentDbCleanup: (() => void) | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    currentDbCleanup?.();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------------
// Query sets: the same strings for SQLite and MiniSearch.

type QuerySets = Record<QueryType, string[]>;

function buildQuerySets(gen: CorpusGenerator, posts: number): { sets: QuerySets; veryCommon: string } {
  const { words, mlStart, pseudoStart } = gen.vocab;
  const rand = (type: QueryType) => seededRandom(SEED + 7919 * (QUERY_TYPES.indexOf(type) + 1));
  const times = (n: number, f: () => string) => Array.from({ length: n }, f);

  const r1 = rand('1-word');
  const ml = () => ML_TERMS[Math.floor(r1() * ML_TERMS.length)]!;
  const r3 = rand('3-word');
  const three = () => {
    const picked = new Set<string>();
    while (picked.size < 3) picked.add(ML_TERMS[Math.floor(r3() * ML_TERMS.length)]!);
    return [...picked].join(' ');
  };

  const rp = rand('phrase');
  const phrase = () => {
    const { bodyRanks, sentenceStarts } = gen.post(Math.floor(rp() * posts));
    for (;;) {
      const i = Math.floor(rp() * (bodyRanks.length - 1));
      if (sentenceStarts[i + 1] === 0) return `"${words[bodyRanks[i]!]} ${words[bodyRanks[i + 1]!]}"`;
    }
  };

  // Rare: the last fifth of the vocabulary, among words that occur somewhere in this corpus.
  const tail: number[] = [];
  for (let rank = Math.floor(VOCABULARY_SIZE * 0.8); rank < VOCABULARY_SIZE; rank++) if (gen.counts[rank]! > 0) tail.push(rank);
  if (tail.length === 0) throw new Error('no tail word occurs in the corpus');
  const rr = rand('rare-term');
  const rare = () => words[tail[Math.floor(rr() * tail.length)]!]!;

  let best = mlStart;
  for (let rank = mlStart; rank < pseudoStart; rank++) if (gen.counts[rank]! > gen.counts[best]!) best = rank;
  const veryCommon = words[best]!;

  const ra = rand('autocomplete');
  const autocomplete = () => {
    const { titleWords } = gen.post(Math.floor(ra() * posts));
    if (ra() < 0.5) {
      const word = titleWords[Math.floor(ra() * titleWords.length)]!;
      return word.slice(0, 3 + Math.floor(ra() * 4));
    }
    const i = Math.floor(ra() * (titleWords.length - 1));
    return `${titleWords[i]} ${titleWords[i + 1]!.slice(0, 2 + Math.floor(ra() * 4))}`;
  };

  return {
    veryCommon,
    sets: {
      '1-word': times(QUERIES_PER_SET, ml),
      '3-word': times(QUERIES_PER_SET, three),
      phrase: times(QUERIES_PER_SET, phrase),
      'rare-term': times(QUERIES_PER_SET, rare),
      'very-common-term': times(QUERIES_PER_SET, () => veryCommon),
      'stop-word': times(QUERIES_PER_SET, () => STOP_WORDS[0]!),
      autocomplete: times(QUERIES_PER_SET, autocomplete),
    },
  };
}

interface Timed {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  n: number;
  /** Counted queries that returned nothing. */
  noHits: number;
}

/** Runs every query in order; the first WARMUP are not counted. */
async function timeQueries(queries: readonly string[], run: (query: string) => Promise<number> | number): Promise<Timed> {
  const samples: number[] = [];
  let noHits = 0;
  for (let i = 0; i < queries.length; i++) {
    const started = performance.now();
    const hits = await run(queries[i]!);
    const elapsed = performance.now() - started;
    if (i >= WARMUP) {
      samples.push(elapsed);
      if (hits === 0) noHits++;
    }
    if (i % 10 === 9) {
      sampleRss();
      await yieldToLoop();
    }
  }
  const { p50, p99, mean, n } = summarise(samples);
  return { p50Ms: p50, p99Ms: p99, meanMs: mean, n, noHits };
}

async function searchIds(service: SearchService, query: string): Promise<number[]> {
  const result = await service.search(query, { limit: 10 });
  if (!result.ok) throw new Error(`search "${query}" failed: ${result.error.message}`);
  return result.value.hits.map((hit) => hit.post.id);
}

// ---------------------------------------------------------------------------------------------------

interface QueryRow {
  type: QueryType;
  example: string;
  sqlite: Timed;
  /** The same queries scoped to one feed of FEEDS, and to every feed listed. */
  scoped: { oneFeed: Timed; everyFeed: Timed };
  targetP99Ms: number;
  pass: boolean;
  minisearch: (Timed & { ratioP50: number; note: string | null }) | null;
}

interface RelevanceRow {
  type: QueryType;
  distinctQueries: number;
  meanOverlapAt10: number;
  minOverlapAt10: number;
  cappedP50Ms: number;
  exhaustiveP50Ms: number;
  exhaustiveP99Ms: number;
}

interface MiniSearchSummary {
  ran: boolean;
  reason?: string;
  buildMs?: number;
  heapBytes?: number;
  heapMeasuredAfterGc?: boolean;
  peakRssBytes?: number;
}

interface RunReport {
  posts: number;
  words: number;
  generateMs: number;
  build: { ms: number; ingestMs: number; checkpointMs: number; targetMs: number | null; pass: boolean | null };
  dbBytes: number;
  memory: { peakRssBuildBytes: number; peakRssQueriesBytes: number; maxRssBytes: number };
  queries: QueryRow[];
  relevance: RelevanceRow[];
  minisearch: MiniSearchSummary;
}

async function runSize(posts: number): Promise<RunReport> {
  const gen = createCorpusGenerator({ seed: SEED, size: posts });
  const dbPath = join(tmpdir(), `inkwire-search-bench-${process.pid}-${posts}.db`);
  const removeDb = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  };
  removeDb();
  currentDbCleanup = removeDb;
  const clock = createManualClock(corpusNow());
  const store = openSqliteStore(dbPath, { clock });
  let exhaustiveStore: ReturnType<typeof openSqliteStore> | null = null;
  try {
    // --- build ---------------------------------------------------------------------------------------
    const feedIds: number[] = [];
    for (let f = 0; f < FEEDS; f++) feedIds.push((await store.feeds.ensure(`https://bench${f}.example/feed`, clock.now())).id);
    collect();
    startPhase();
    let generateMs = 0;
    let ingestMs = 0;
    let words = 0;
    const buildStarted = performance.now();
    for (let start = 0; start < posts; start += BATCH) {
      const t0 = performance.now();
      const drafts: Array<ReturnType<CorpusGenerator['post']>['draft'][]> = feedIds.map(() => []);
      for (let n = start; n < Math.min(posts, start + BATCH); n++) {
        const { draft } = gen.post(n, { count: true });
        words += draft.wordCount;
        drafts[n % FEEDS]!.push(draft);
      }
      const t1 = performance.now();
      generateMs += t1 - t0;
      for (let f = 0; f < FEEDS; f++) await store.posts.ingest({ feedId: feedIds[f]!, at: clock.now(), drafts: drafts[f]!, announceKeys: new Set() });
      ingestMs += performance.now() - t1;
      sampleRss();
      await yieldToLoop();
      if ((start / BATCH) % 10 === 9 || start + BATCH >= posts) {
        progress(`${int(posts)} posts: ingested ${int(Math.min(posts, start + BATCH))} (${secs(ingestMs)} ingest, ${secs(performance.now() - buildStarted)} wall)`);
      }
    }
    const c0 = performance.now();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const checkpointMs = performance.now() - c0;
    const walPath = `${dbPath}-wal`;
    const dbBytes = statSync(dbPath).size + (existsSync(walPath) ? statSync(walPath).size : 0);
    const peakRssBuildBytes = phasePeakRss;
    const buildMs = ingestMs + checkpointMs;
    const buildTarget = buildTargetMs(posts);

    // --- queries -------------------------------------------------------------------------------------
    const { sets, veryCommon } = buildQuerySets(gen, posts);
    progress(`${int(posts)} posts: built in ${secs(buildMs)}, ${mb(dbBytes)}; querying (very common ML term: "${veryCommon}")`);
    const service = createSearchService({ index: store.search, logger: createSilentLogger() });
    collect();
    startPhase();
    const sqliteTimes = new Map<QueryType, Timed>();
    const scopedTimes = new Map<QueryType, QueryRow['scoped']>();
    const runner = (type: QueryType, feedScope?: readonly number[]) =>
      type === 'autocomplete'
        ? async (q: string) => (await store.search.autocomplete(q, 25, { feedIds: feedScope })).length
        : async (q: string) => {
            const result = await service.search(q, { limit: 10, feedIds: feedScope });
            if (!result.ok) throw new Error(`search "${q}" failed: ${result.error.message}`);
            return result.value.hits.length;
          };
    for (const type of QUERY_TYPES) {
      const timed = await timeQueries(sets[type], runner(type));
      sqliteTimes.set(type, timed);
      const oneFeed = await timeQueries(sets[type], runner(type, [feedIds[0]!]));
      const everyFeed = await timeQueries(sets[type], runner(type, feedIds));
      scopedTimes.set(type, { oneFeed, everyFeed });
      progress(
        `${int(posts)} posts: ${type} p50 ${fmt(timed.p50Ms)} ms, p99 ${fmt(timed.p99Ms)} ms; scoped to 1 of ${FEEDS} feeds p50 ${fmt(oneFeed.p50Ms)}, p99 ${fmt(oneFeed.p99Ms)}; every feed listed p50 ${fmt(everyFeed.p50Ms)}, p99 ${fmt(everyFeed.p99Ms)}`,
      );
    }
    const peakRssQueriesBytes = phasePeakRss;

    // --- relevance: capped vs exhaustive ranking over the same file ------------------------------------
    exhaustiveStore = openSqliteStore(dbPath, { clock, candidateCap: 1e9 });
    const exhaustive = createSearchService({ index: exhaustiveStore.search, logger: createSilentLogger() });
    const relevance: RelevanceRow[] = [];
    for (const type of RELEVANCE_TYPES) {
      const distinct = [...new Set(sets[type].slice(WARMUP))].slice(0, relevanceQueries(posts));
      const overlaps: number[] = [];
      const cappedMs: number[] = [];
      const exhaustiveMs: number[] = [];
      for (const query of distinct) {
        let t = performance.now();
        const capped = await searchIds(service, query);
        cappedMs.push(performance.now() - t);
        t = performance.now();
        const full = await searchIds(exhaustive, query);
        exhaustiveMs.push(performance.now() - t);
        const inCapped = new Set(capped);
        overlaps.push(full.filter((id) => inCapped.has(id)).length / Math.max(1, Math.min(10, full.length)));
        sampleRss();
        await yieldToLoop();
      }
      relevance.push({
        type,
        distinctQueries: distinct.length,
        meanOverlapAt10: overlaps.reduce((s, v) => s + v, 0) / Math.max(1, overlaps.length),
        minOverlapAt10: Math.min(...overlaps),
        cappedP50Ms: summarise(cappedMs).p50,
        exhaustiveP50Ms: summarise(exhaustiveMs).p50,
        exhaustiveP99Ms: summarise(exhaustiveMs).p99,
      });
      progress(`${int(posts)} posts: relevance ${type}: overlap@10 ${relevance.at(-1)!.meanOverlapAt10.toFixed(3)} over ${distinct.length} queries`);
    }
    await exhaustiveStore.close();
    exhaustiveStore = null;
    await store.close();

    // --- MiniSearch baseline -------------------------------------------------------------------------
    let minisearch: MiniSearchSummary;
    const miniTimes = new Map<QueryType, Timed>();
    if (posts <= MINISEARCH_MAX_POSTS) {
      collect();
      const heapBefore = process.memoryUsage().heapUsed;
      startPhase();
      const mini = new MiniSearch<{ id: number; title: string; subtitle: string; text: string }>({
        fields: ['title', 'subtitle', 'text'],
        searchOptions: { combineWith: 'AND', boost: { title: 10 } },
      });
      let miniBuildMs = 0;
      for (let start = 0; start < posts; start += BATCH) {
        const docs = [];
        for (let n = start; n < Math.min(posts, start + BATCH); n++) {
          const { draft } = gen.post(n);
          docs.push({ id: n, title: draft.title, subtitle: draft.subtitle ?? '', text: draft.text });
        }
        const t0 = performance.now();
        mini.addAll(docs);
        miniBuildMs += performance.now() - t0;
        sampleRss();
        await yieldToLoop();
      }
      collect();
      const heapBytes = process.memoryUsage().heapUsed - heapBefore;
      progress(`${int(posts)} posts: MiniSearch built in ${secs(miniBuildMs)}, heap +${mb(heapBytes)}`);
      for (const type of QUERY_TYPES) {
        const run =
          type === 'autocomplete'
            ? (q: string) => mini.search(q, { prefix: true, fields: ['title'] }).slice(0, 25).length
            : (q: string) => mini.search(type === 'phrase' ? q.replace(/"/g, '') : q).slice(0, 10).length;
        miniTimes.set(type, await timeQueries(sets[type], run));
      }
      minisearch = { ran: true, buildMs: miniBuildMs, heapBytes, heapMeasuredAfterGc: gc !== null, peakRssBytes: phasePeakRss };
    } else {
      minisearch = { ran: false, reason: `not run above ${int(MINISEARCH_MAX_POSTS)} posts: the in-memory index needs minutes and gigabytes there` };
    }

    const queries: QueryRow[] = QUERY_TYPES.map((type) => {
      const sqlite = sqliteTimes.get(type)!;
      const target = targetP99Ms(type, posts);
      const mini = miniTimes.get(type);
      return {
        type,
        example: sets[type][WARMUP]!,
        sqlite,
        scoped: scopedTimes.get(type)!,
        targetP99Ms: target,
        pass: sqlite.p99Ms <= target,
        minisearch: mini
          ? {
              ...mini,
              ratioP50: sqlite.p50Ms / mini.p50Ms,
              note: type === 'phrase' ? 'no phrase support: AND of both words' : type === 'autocomplete' ? 'prefix search over titles, top 25' : null,
            }
          : null,
      };
    });

    return {
      posts,
      words,
      generateMs,
      build: { ms: buildMs, ingestMs, checkpointMs, targetMs: buildTarget, pass: buildTarget === null ? null : buildMs <= buildTarget },
      dbBytes,
      memory: { peakRssBuildBytes, peakRssQueriesBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 },
      queries,
      relevance,
      minisearch,
    };
  } finally {
    await exhaustiveStore?.close();
    await store.close();
    removeDb();
    currentDbCleanup = null;
  }
}

// ---------------------------------------------------------------------------------------------------

const sizes = parseSizes();
const runs: RunReport[] = [];
for (const posts of sizes) runs.push(await runSize(posts));
clearInterval(sampler);

const report = {
  machine: machineLine(),
  seed: SEED,
  corpus: { vocabulary: VOCABULARY_SIZE, stopWords: STOP_WORDS.length, mlTerms: ML_TERMS.length, zipfExponent: 1, bodyWords: '1000–2000', batch: BATCH },
  queriesPerSet: QUERIES_PER_SET,
  warmup: WARMUP,
  candidateCap: CANDIDATE_CAP,
  feeds: FEEDS,
  gcAvailable: gc !== null,
  targets: { p99MsAt10k: 5, p99MsAt100k: 20, autocompleteP99MsAt100k: 5, buildMsAt100k: 180_000 },
  runs,
};


const miss = (value: number, target: number) =>
  value <= target ? '✓' : `✗ (${(value / target).toFixed(value / target < 1.1 ? 2 : 1)}× target)`;

if (wantsJson()) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(
    `Search — ${report.machine}; seed ${SEED}; ${QUERIES_PER_SET} queries per set (first ${WARMUP} are warm-up, not counted); candidateCap ${CANDIDATE_CAP}${gc ? '' : '; gc unavailable, heap not collected before measuring'}\n`,
  );
  printTable(
    ['posts', 'body words', 'build (ingest + checkpoint)', 'target', 'pass', 'DB size', 'peak RSS build', 'peak RSS queries', 'max RSS so far', 'MiniSearch build', 'MiniSearch heap'],
    runs.map((r) => [
      int(r.posts),
      `${(r.words / 1e6).toFixed(1)} M`,
      secs(r.build.ms),
      r.build.targetMs === null ? '—' : `≤ ${r.build.targetMs / 60_000} min`,
      r.build.pass === null ? '—' : miss(r.build.ms, r.build.targetMs!),
      mb(r.dbBytes),
      mb(r.memory.peakRssBuildBytes),
      mb(r.memory.peakRssQueriesBytes),
      mb(r.memory.maxRssBytes),
      r.minisearch.ran ? secs(r.minisearch.buildMs!) : 'not run',
      r.minisearch.ran ? mb(r.minisearch.heapBytes!) : 'not run',
    ]),
  );
  for (const r of runs) {
    console.log(`\n**${int(r.posts)} posts** — /search limit 10 (parse, rank, snippets, load posts); autocomplete = 25 title suggestions\n`);
    printTable(
      ['query type', 'example', 'p50 ms', 'p99 ms', 'target p99', 'pass', 'no hits', 'MiniSearch p50 ms', 'MiniSearch p99 ms', 'SQLite / MiniSearch p50'],
      r.queries.map((q) => [
        q.type,
        `\`${q.example}\``,
        fmt(q.sqlite.p50Ms),
        fmt(q.sqlite.p99Ms),
        `≤ ${q.targetP99Ms} ms`,
        miss(q.sqlite.p99Ms, q.targetP99Ms),
        `${q.sqlite.noHits}/${q.sqlite.n}`,
        q.minisearch ? `${fmt(q.minisearch.p50Ms)}${q.type === 'phrase' ? ' (AND)' : ''}` : 'not run',
        q.minisearch ? fmt(q.minisearch.p99Ms) : 'not run',
        q.minisearch ? `${q.minisearch.ratioP50.toFixed(2)}×` : '—',
      ]),
    );
    console.log(`\n**${int(r.posts)} posts, scoped** — the same queries with the scope inside the index query: one feed of ${FEEDS} (${int(Math.ceil(r.posts / FEEDS))} posts), and all ${FEEDS} feeds listed; ratios to the unscoped run above\n`);
    printTable(
      ['query type', 'unscoped p50', 'unscoped p99', `1 of ${FEEDS} feeds p50`, `1 of ${FEEDS} p99`, `1 of ${FEEDS} ÷ unscoped p50`, `1 of ${FEEDS} no hits`, 'all listed p50', 'all listed p99', 'all listed ÷ unscoped p50', 'target p99', `1 of ${FEEDS} pass`],
      r.queries.map((q) => [
        q.type,
        fmt(q.sqlite.p50Ms),
        fmt(q.sqlite.p99Ms),
        fmt(q.scoped.oneFeed.p50Ms),
        fmt(q.scoped.oneFeed.p99Ms),
        `${(q.scoped.oneFeed.p50Ms / q.sqlite.p50Ms).toFixed(2)}×`,
        `${q.scoped.oneFeed.noHits}/${q.scoped.oneFeed.n}`,
        fmt(q.scoped.everyFeed.p50Ms),
        fmt(q.scoped.everyFeed.p99Ms),
        `${(q.scoped.everyFeed.p50Ms / q.sqlite.p50Ms).toFixed(2)}×`,
        `≤ ${q.targetP99Ms} ms`,
        miss(q.scoped.oneFeed.p99Ms, q.targetP99Ms),
      ]),
    );
    if (!r.minisearch.ran) {
      const base = runs.find((other) => other.minisearch.ran && other.posts === MINISEARCH_MAX_POSTS) ?? runs.find((other) => other.minisearch.ran);
      const scale = base ? r.posts / base.posts : 0;
      console.log(
        `\nMiniSearch ${r.minisearch.reason}${base ? ` (linear from ${int(base.posts)} posts: ≈ ${secs(base.minisearch.buildMs! * scale)} to build, ≈ ${mb(base.minisearch.heapBytes! * scale)} of heap)` : ''}.`,
      );
    } else {
      console.log('\nMiniSearch has no phrase search: its phrase row is the AND of both words.');
    }
  }
  console.log(`\nRelevance: top 10 with candidateCap ${CANDIDATE_CAP} vs exhaustive ranking (same file, cap 1e9), distinct queries of each set\n`);
  printTable(
    ['posts', 'query type', 'queries', 'mean overlap@10', 'min overlap@10', 'target', 'capped p50 ms', 'exhaustive p50 ms', 'exhaustive p99 ms'],
    runs.flatMap((r) =>
      r.relevance.map((v) => [int(r.posts), v.type, v.distinctQueries, v.meanOverlapAt10.toFixed(3), v.minOverlapAt10.toFixed(2), v.meanOverlapAt10 >= 0.95 ? '✓ ≥ 0.95' : '✗ < 0.95', fmt(v.cappedP50Ms), fmt(v.exhaustiveP50Ms), fmt(v.exhaustiveP99Ms)]),
    ),
  );
}

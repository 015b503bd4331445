/**
 * `npm run bench:scale-search`: /search latency p50/p99 on PostgreSQL and on SQLite over the same synthetic
 * corpus (default 100,000 posts, the bench:search generator, built through each store's real ingest path).
 * (Was the second half of bench:scale, which now runs the fan-out with real processes.)
 * Needs TEST_DATABASE_URL (or DATABASE_URL) pointing at a PostgreSQL server; works in its own schema and
 * drops it. `-- --json` prints one JSON object; `--posts N`, `--queries N`.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createSilentLogger } from '../src/logger.ts';
import { createSearchService } from '../src/search/search-service.ts';
import { openPostgresStore } from '../src/storage/postgres/pg-store.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { machineLine, printTable, summarise, wantsJson } from './bench-util.ts';
import { corpusNow, createCorpusGenerator, ML_TERMS, STOP_WORDS } from './search-corpus-generator.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const POSTS = arg('posts', 100_000);
const QUERIES = arg('queries', 100);
const PG_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
if (!/^postgres(ql)?:\/\//.test(PG_URL)) {
  console.error('bench:scale-search needs TEST_DATABASE_URL=postgres://… (e.g. postgres://postgres@127.0.0.1:5432/test)');
  process.exit(2);
}
const progress = (line: string) => process.stderr.write(`[bench:scale-search] ${line}\n`);
const schemas: string[] = [];
const schemaName = (what: string) => {
  const name = `bench_${what}_${process.pid}`;
  schemas.push(name);
  return name;
};
async function dropSchemas() {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void dropSchemas().finally(() => process.exit(130)));

interface SearchRow { type: string; sqlite: { p50: number; p99: number; noHits: number }; postgres: { p50: number; p99: number; noHits: number } }

/** Builds the corpus in both stores through their ingest paths, then times the same queries on each. */
async function searchLatency(): Promise<{ posts: number; buildMs: { sqlite: number; postgres: number }; rows: SearchRow[] }> {
  const dbPath = join(tmpdir(), `inkwire-scale-search-${process.pid}.db`);
  const clock = { now: corpusNow };
  const sqlite = openSqliteStore(dbPath, { clock });
  const postgres = await openPostgresStore(PG_URL, { schema: schemaName('search'), clock, poolSize: 4 });
  const gen = createCorpusGenerator({ seed: 42, size: POSTS });
  const buildMs = { sqlite: 0, postgres: 0 };
  for (const [name, store] of [['sqlite', sqlite], ['postgres', postgres]] as const) {
    const feed = await store.feeds.ensure('https://bench.example/feed', new Date(0));
    const started = performance.now();
    for (let from = 0; from < POSTS; from += 200) {
      const drafts = Array.from({ length: Math.min(200, POSTS - from) }, (_, i) => gen.post(from + i, { count: name === 'sqlite' }).draft);
      await store.posts.ingest({ feedId: feed.id, at: new Date(), drafts, announceKeys: new Set() });
      if (from % 10_000 === 0) progress(`search corpus: ${name} ${from}/${POSTS}`);
    }
    if (name === 'postgres') await (postgres as Store & { pool: pg.Pool }).pool.query('ANALYZE posts');
    buildMs[name] = performance.now() - started;
  }
  const rand = (() => {
    let a = 7;
    return () => ((a = (a * 16807) % 2147483647) / 2147483647);
  })();
  const ml = () => ML_TERMS[Math.floor(rand() * ML_TERMS.length)]!;
  const sets: Record<string, string[]> = {
    '1 word': Array.from({ length: QUERIES }, ml),
    '3 words': Array.from({ length: QUERIES }, () => `${ml()} ${ml()} ${ml()}`),
    'phrase (2 words)': Array.from({ length: QUERIES }, () => `"${ml()} ${ml()}"`),
    'very common (`model`)': Array.from({ length: QUERIES }, () => 'model'),
    'stop word (`the`)': Array.from({ length: QUERIES }, () => STOP_WORDS[0]!),
    'word + date filter': Array.from({ length: QUERIES }, () => `${ml()} after:2022-01-01`),
  };
  const services = { sqlite: createSearchService({ index: sqlite.search, logger: createSilentLogger() }), postgres: createSearchService({ index: postgres.search, logger: createSilentLogger() }) };
  const rows: SearchRow[] = [];
  for (const [type, queries] of Object.entries(sets)) {
    progress(`search: ${type}`);
    const timed: Partial<Record<'sqlite' | 'postgres', SearchRow['sqlite']>> = {};
    for (const name of ['sqlite', 'postgres'] as const) {
      for (const query of queries.slice(0, 10)) await services[name].search(query, { limit: 10 }); // warm-up
      const samples: number[] = [];
      let noHits = 0;
      for (const query of queries) {
        const started = performance.now();
        const result = await services[name].search(query, { limit: 10 });
        samples.push(performance.now() - started);
        if (!result.ok || result.value.hits.length === 0) noHits++;
      }
      const s = summarise(samples);
      timed[name] = { p50: s.p50, p99: s.p99, noHits };
    }
    rows.push({ type, sqlite: timed.sqlite!, postgres: timed.postgres! });
  }
  await sqlite.close();
  await postgres.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  return { posts: POSTS, buildMs, rows };
}

try {
  const search = await searchLatency();
  const result = { machine: machineLine(), search };
  if (wantsJson()) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`\nbench:scale-search — ${result.machine}`);
    console.log(`\n/search over ${search.posts} synthetic posts (built through each store's ingest: SQLite ${(search.buildMs.sqlite / 1000).toFixed(0)} s, PostgreSQL ${(search.buildMs.postgres / 1000).toFixed(0)} s), ${QUERIES} queries per type, ms:\n`);
    printTable(
      ['query type', 'SQLite p50', 'SQLite p99', 'PostgreSQL p50', 'PostgreSQL p99', 'PostgreSQL ÷ SQLite p50', 'no hits (SQLite / PG)'],
      search.rows.map((r) => [r.type, r.sqlite.p50.toFixed(2), r.sqlite.p99.toFixed(2), r.postgres.p50.toFixed(2), r.postgres.p99.toFixed(2), (r.postgres.p50 / r.sqlite.p50).toFixed(2), `${r.sqlite.noHits} / ${r.postgres.noHits}`]),
    );
  }
} finally {
  await dropSchemas();
}

/**
 * `npm run bench:poll`: two measurements, printed as Markdown tables (or one JSON object with --json).
 *
 * 1. The cost of one poll of a Substack-sized feed (20 items, ~1,500 words each) from a local HTTP server
 *    into SQLite: first sight (fetch + parse + store), a changed feed where only lastBuildDate moved (fetch +
 *    parse + compare), and a 304.
 * 2. The longest stretch the main thread is held during one poll (fetch + parse + store), for feeds of ~10 MB,
 *    ~1 MB and ~100 KB (item-dense: many short items, the hardest XML per byte) and the Substack-sized one,
 *    parsed inline and in the worker, against the 50 ms target. The feed server runs in its own thread, so
 *    only the poller's work counts. Measured by `monitorEventLoopDelay` at 1 ms resolution; each round starts
 *    a fresh parser, as a real poll does after the idle worker has ended.
 */
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuUsage } from 'node:process';
import { Worker } from 'node:worker_threads';
import { createManualClock } from '../src/clock.ts';
import { createFeedFetcher } from '../src/feeds/feed-fetcher.ts';
import { createInlineFeedParser, createWorkerFeedParser, INLINE_BELOW_BYTES, type FeedParser } from '../src/feeds/feed-parse-pool.ts';
import { createFeedPoller } from '../src/feeds/feed-poller.ts';
import { createSilentLogger } from '../src/logger.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { fmt, machineLine, printTable, seededRandom, summarise, wantsJson } from './bench-util.ts';

const WORDS = 'model attention layer token gradient training data loss transformer parameter scale memory compute experts router weights optimizer batch sequence context'.split(' ');

function makeFeed(items: number, buildDate: string): string {
  const random = seededRandom(42);
  const word = () => WORDS[Math.floor(random() * WORDS.length)]!;
  const paragraph = (n: number) => `<p>${Array.from({ length: n }, word).join(' ')}.</p>`;
  const entries = Array.from({ length: items }, (_, i) => {
    const slug = `post-${i}`;
    const body = Array.from({ length: 25 }, () => paragraph(60)).join('');
    return `<item><title><![CDATA[Post ${i}: ${word()} ${word()}]]></title><description><![CDATA[${word()} ${word()}]]></description><link>https://bench.substack.com/p/${slug}</link><guid isPermaLink="false">https://bench.substack.com/p/${slug}</guid><dc:creator><![CDATA[Bench Author]]></dc:creator><pubDate>${new Date(Date.UTC(2024, 0, 30 - i)).toUTCString()}</pubDate><content:encoded><![CDATA[${body}<div class="subscription-widget-wrap-editor"><p>Subscribe</p></div>]]></content:encoded></item>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"><channel><title>Bench</title><link>https://bench.substack.com</link><generator>Substack</generator><lastBuildDate>${buildDate}</lastBuildDate>${entries.join('')}</channel></rss>`;
}

const ROUNDS = 40;
let build = 0;
let body = gzipSync(makeFeed(20, 'Mon, 01 Jan 2024 00:00:00 GMT'));
const raw = makeFeed(20, 'x').length;
let etag = '"0"';
const server = createServer((req, res) => {
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
  res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', 'content-encoding': 'gzip', etag }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;

const clock = createManualClock(new Date('2024-02-01T00:00:00Z'));
const fetchFeed = createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'bench', timeoutMs: 20_000, maxBytes: 10 << 20, maxRedirects: 5 });

async function measure(label: string, prepare: () => Promise<void> | void, fresh: boolean) {
  const wall: number[] = [];
  const cpu: number[] = [];
  let store = openSqliteStore(':memory:');
  for (let i = 0; i < ROUNDS; i++) {
    if (fresh) {
      await store.close();
      store = openSqliteStore(':memory:');
    }
    await prepare();
    const poll = createFeedPoller({ store, fetchFeed, clock, logger: createSilentLogger(), backoffBaseMs: 1, backoffMaxMs: 2 });
    const c0 = cpuUsage();
    const t0 = performance.now();
    const outcome = await poll(url);
    wall.push(performance.now() - t0);
    const c1 = cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1000);
    if (outcome.status === 'failed') throw outcome.error;
    if (i === 0 && !fresh) {
      await prepare();
      await poll(url); // warm the store so later rounds see "unchanged"
    }
  }
  await store.close();
  return { label, wall: summarise(wall), cpu: summarise(cpu) };
}

const results = [
  await measure('first sight: fetch + parse + store 20 items', () => {
    etag = `"${++build}"`;
  }, true),
  await measure('changed feed (lastBuildDate only): fetch + parse + compare', () => {
    etag = `"${++build}"`;
    body = gzipSync(makeFeed(20, new Date(Date.UTC(2024, 0, 1, 0, build)).toUTCString()));
  }, false),
  await measure('unchanged feed: conditional GET → 304', () => {}, false),
];
server.close();


// ── 2. The longest main-thread stall of one poll, inline vs worker ──────────────────────────────────────────

/** Many short items: the most XML work per byte (as large-feed.test.ts). */
function itemDenseFeed(items: number): string {
  const parts: string[] = [];
  for (let i = 0; i < items; i++) {
    parts.push(`<item><title>Paper ${i}</title><link>https://big.example/p/${i}</link><pubDate>${new Date(Date.UTC(2020, 0, 1) + i * 60_000).toUTCString()}</pubDate></item>`);
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>${parts.join('')}</channel></rss>`;
}

const STALL_TARGET_MS = 50;
const stallFeeds = [
  { name: '~10 MB, 80,000 items', body: itemDenseFeed(80_000), rounds: 3 },
  { name: '~1 MB, 8,000 items', body: itemDenseFeed(8_000), rounds: 5 },
  { name: '~100 KB, 800 items', body: itemDenseFeed(800), rounds: 10 },
  { name: 'Substack-sized, 20 posts', body: makeFeed(20, 'Mon, 01 Jan 2024 00:00:00 GMT'), rounds: 10 },
];

/** The feed server in its own thread: serving 10 MB must not count as the poller's main-thread work. */
async function startFeedThread(bodies: string[]): Promise<{ url: (i: number) => string; close: () => Promise<number> }> {
  const server = new Worker(
    `const { createServer } = require('node:http');
     const { parentPort, workerData } = require('node:worker_threads');
     const bodies = workerData.map((b) => Buffer.from(b));
     const server = createServer((req, res) => {
       const body = bodies[Number(req.url.slice(1))];
       res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', 'content-length': body.length }).end(body);
     });
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
    { eval: true, workerData: bodies },
  );
  const port = await new Promise<number>((resolve) => server.once('message', resolve));
  return { url: (i) => `http://127.0.0.1:${port}/${i}`, close: () => server.terminate() };
}

const feedThread = await startFeedThread(stallFeeds.map((f) => f.body));
const bigFetch = createFeedFetcher({ fetch: globalThis.fetch, userAgent: 'bench', timeoutMs: 60_000, maxBytes: 10 << 20, maxRedirects: 0 });

/** Longest main-thread stall (ms) of each round's poll, with a fresh store and a fresh parser per round. */
async function stalls(feedIndex: number, rounds: number, makeParser: () => FeedParser & { close?: () => Promise<void> }): Promise<number[]> {
  const out: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const store = openSqliteStore(':memory:');
    const parseFeed = makeParser();
    const poll = createFeedPoller({ store, fetchFeed: bigFetch, clock, logger: createSilentLogger(), backoffBaseMs: 1, backoffMaxMs: 2, parseFeed });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    delay.enable();
    const outcome = await poll(feedThread.url(feedIndex));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the histogram sees a stall when its next timer fires
    delay.disable();
    if (outcome.status === 'failed') throw outcome.error;
    out.push(delay.max / 1e6 + 1); // the delay past the 1 ms tick, plus that tick
    await parseFeed.close?.();
    await store.close();
  }
  return out;
}

const stallResults: Array<{ feed: string; bytes: number; defaultPath: 'inline' | 'worker'; inlineMs: number[]; workerMs: number[] }> = [];
for (const [index, feed] of stallFeeds.entries()) {
  const bytes = Buffer.byteLength(feed.body);
  const inlineMs = await stalls(index, feed.rounds, () => createInlineFeedParser(200));
  const workerMs = await stalls(index, feed.rounds, () => createWorkerFeedParser({ maxItems: 200, inlineBelowBytes: 0 }));
  stallResults.push({ feed: feed.name, bytes, defaultPath: bytes < INLINE_BELOW_BYTES ? 'inline' : 'worker', inlineMs, workerMs });
}
await feedThread.close();
const worst = (values: number[]) => Math.max(...values);
const median = (values: number[]) => summarise(values).p50;

const report = {
  machine: machineLine(),
  feed: { items: 20, rawBytes: raw, gzipBytes: body.length },
  rounds: ROUNDS,
  results: results.map((r) => ({ case: r.label, wallP50Ms: r.wall.p50, wallP99Ms: r.wall.p99, cpuP50Ms: r.cpu.p50 })),
  ratio304ToChangedCpu: results[2]!.cpu.p50 / results[1]!.cpu.p50,
  loadAverage1m: loadavg()[0] ?? Number.NaN,
  stall: {
    targetMs: STALL_TARGET_MS,
    inlineBelowBytes: INLINE_BELOW_BYTES,
    results: stallResults.map((r) => ({
      feed: r.feed,
      bytes: r.bytes,
      defaultPath: r.defaultPath,
      inlineWorstMs: worst(r.inlineMs),
      inlineMedianMs: median(r.inlineMs),
      workerWorstMs: worst(r.workerMs),
      workerMedianMs: median(r.workerMs),
      defaultWorstToTarget: worst(r.defaultPath === 'inline' ? r.inlineMs : r.workerMs) / STALL_TARGET_MS,
      defaultMedianToTarget: median(r.defaultPath === 'inline' ? r.inlineMs : r.workerMs) / STALL_TARGET_MS,
    })),
  },
};
if (wantsJson()) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`Poll cost — ${report.machine}; feed ${(raw / 1024).toFixed(0)} KB raw, ${(body.length / 1024).toFixed(0)} KB gzip; ${ROUNDS} rounds\n`);
  printTable(
    ['case', 'wall p50 ms', 'wall p99 ms', 'CPU p50 ms'],
    results.map((r) => [r.label, fmt(r.wall.p50), fmt(r.wall.p99), fmt(r.cpu.p50)]),
  );
  console.log(`\n304 poll CPU / changed poll CPU = ${report.ratio304ToChangedCpu.toFixed(3)}`);
  console.log(
    `\nLongest main-thread stall of one poll (fetch + parse + store), worst of the rounds (median in brackets), ms — ${report.machine}, ` +
      `load ${report.loadAverage1m.toFixed(2)}; target ${STALL_TARGET_MS} ms; feeds under ${INLINE_BELOW_BYTES / 1024} KB are parsed inline, larger ones in the worker\n`,
  );
  printTable(
    ['feed', 'size', 'inline', 'worker', 'default path', 'default ÷ 50 ms target'],
    report.stall.results.map((r) => [
      r.feed,
      r.bytes >= 1 << 20 ? `${(r.bytes / (1 << 20)).toFixed(1)} MB` : `${(r.bytes / 1024).toFixed(0)} KB`,
      `${fmt(r.inlineWorstMs)} (${fmt(r.inlineMedianMs)})`,
      `${fmt(r.workerWorstMs)} (${fmt(r.workerMedianMs)})`,
      r.defaultPath,
      `${r.defaultWorstToTarget.toFixed(2)} (${r.defaultMedianToTarget.toFixed(2)})`,
    ]),
  );
}

/**
 * `npm run bench:poll`: the cost of one poll of a Substack-sized feed (20 items, ~1,500 words each)
 * from a local HTTP server into SQLite: first sight (fetch + parse + store), a changed feed where
 * only lastBuildDate moved (fetch + parse + compare), and a 304. Prints a Markdown table
 * (or one JSON object with --json).
 */
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpuUsage } from 'node:process';
import { createManualClock } from '../src/clock.ts';
import { createFeedFetcher } from '../src/feeds/feed-fetcher.ts';
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

const report = {
  machine: machineLine(),
  feed: { items: 20, rawBytes: raw, gzipBytes: body.length },
  rounds: ROUNDS,
  results: results.map((r) => ({ case: r.label, wallP50Ms: r.wall.p50, wallP99Ms: r.wall.p99, cpuP50Ms: r.cpu.p50 })),
  ratio304ToChangedCpu: results[2]!.cpu.p50 / results[1]!.cpu.p50,
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
}

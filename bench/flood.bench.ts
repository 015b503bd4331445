/**
 * `npm run bench:flood`: one member floods `/search` (100 a second) while members of other servers search
 * at a normal rate, all in this one process, through the real command runner (`runCommand`, as every
 * adapter calls it) over the real SQLite store with a seeded corpus (search-corpus-generator.ts; the
 * corpus feeds are FEED_URLS, so every server may search them). The system clock drives the limiter.
 *
 * Phases, repeated `--rounds` times and interleaved so a machine busy with other work hurts each alike:
 *   quiet            — only the normal members;
 *   flood, limits on — plus the flooder, with the default COMMAND_RATE_* (the bot as shipped);
 *   flood, limits off — plus the flooder, every COMMAND_RATE_* off (what the limits protect against).
 * Reported: the normal members' answer times (from when each search was due → its reply, p50/p99) per phase and as a ratio to quiet,
 * against the target p99 ≤ 1.10 × quiet for limits on; and what became of the flood.
 * The noise floor of the machine is printed too: quiet in odd rounds against quiet in even rounds.
 * Options: --posts N (corpus, default 5000), --seconds S (per phase, default 5), --rounds R (default 6),
 * --json.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCore } from '../src/app.ts';
import { createManualClock, systemClock } from '../src/clock.ts';
import { createCommandRateLimiter } from '../src/commands/command-rate-limit.ts';
import { runCommand } from '../src/commands/command-runner.ts';
import type { CommandServices, Invoker, Place } from '../src/commands/command-spec.ts';
import type { Reply } from '../src/commands/reply.ts';
import { loadConfig } from '../src/config.ts';
import { createSilentLogger } from '../src/logger.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { ALL_COMMANDS } from '../commands/index.ts';
import { fmt, machineLine, printTable, seededRandom, summarise, wantsJson } from './bench-util.ts';
import { corpusNow, createCorpusGenerator } from './search-corpus-generator.ts';

const SEED = 20_261_202;
const FEEDS = 4;
const BATCH = 500;
const FLOOD_PER_SECOND = 100;
/** Normal members: this many servers with two members each, each searching every 2.5 s (within 5 per 10 s). */
const SERVERS = 20;
const MEMBERS_PER_SERVER = 2;
const NORMAL_INTERVAL_MS = 2500;
const TARGET_P99_RATIO = 1.1;

function option(name: string, fallback: number): number {
  const index = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index === -1) return fallback;
  const arg = process.argv[index]!;
  const value = Number((arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (process.argv[index + 1] ?? '')).replace(/_/g, ''));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number (got "${arg}")`);
  return value;
}

const progress = (message: string) => process.stderr.write(`[bench:flood] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isRefusal = (reply: Reply) => reply.blocks.some((b) => b.kind === 'text' && b.spans.some((s) => /try again in \d+ s/.test(s.text)));

type Phase = 'quiet' | 'flood, limits on' | 'flood, limits off';
const PHASES: readonly Phase[] = ['quiet', 'flood, limits on', 'flood, limits off'];

async function main() {
  const posts = option('posts', 5000);
  const seconds = option('seconds', 5);
  const rounds = option('rounds', 6);
  const dbPath = join(tmpdir(), `inkwire-flood-bench-${process.pid}.db`);
  const removeDb = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  };
  removeDb();
  const feedUrls = Array.from({ length: FEEDS }, (_, f) => `https://bench${f}.example/feed`);
  const config = loadConfig({ FEED_URLS: feedUrls.join(','), LOG_LEVEL: 'silent' });
  const seedClock = createManualClock(corpusNow());
  const store = openSqliteStore(dbPath, { clock: seedClock });
  try {
    // --- seed ------------------------------------------------------------------------------------------
    const gen = createCorpusGenerator({ seed: SEED, size: posts });
    const feedIds: number[] = [];
    for (const url of feedUrls) feedIds.push((await store.feeds.ensure(url, seedClock.now())).id);
    const titles: string[][] = [];
    const seedStarted = performance.now();
    for (let start = 0; start < posts; start += BATCH) {
      const drafts: Array<ReturnType<typeof gen.post>['draft'][]> = feedIds.map(() => []);
      for (let n = start; n < Math.min(posts, start + BATCH); n++) {
        const post = gen.post(n);
        titles.push(post.titleWords);
        drafts[n % FEEDS]!.push(post.draft);
      }
      for (let f = 0; f < FEEDS; f++) await store.posts.ingest({ feedId: feedIds[f]!, at: seedClock.now(), drafts: drafts[f]!, announceKeys: new Set() });
    }
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    progress(`seeded ${posts} posts in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    // --- the bot as shipped (default rates, system clock), and the same without limits ----------------
    const core = buildCore({ config, store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands: ALL_COMMANDS });
    const limited: CommandServices = core.commandServices;
    const unlimited: CommandServices = { ...limited, rateLimiter: createCommandRateLimiter({ rates: { member: null, search: null, server: null, autocomplete: null }, clock: systemClock }) };
    const search = ALL_COMMANDS.find((c) => c.name === 'search')!;
    const random = seededRandom(SEED);
    const query = () => {
      const words = titles[Math.floor(random() * titles.length)]!;
      const at = Math.floor(random() * Math.max(1, words.length - 1));
      return words.slice(at, at + 2).join(' ');
    };
    const person = (userId: string): Invoker => ({ userId, displayName: userId, canManage: false });
    const place = (server: string): Place => ({ platform: 'discord', workspaceId: server, channelId: `${server}-general`, isDirect: false });

    // --- phases ----------------------------------------------------------------------------------------
    const samples = new Map<Phase, number[]>(PHASES.map((p) => [p, []]));
    const quietByParity: [number[], number[]] = [[], []];
    const flood = new Map<Phase, { sent: number; answered: number; refused: number; times: number[] }>(PHASES.map((p) => [p, { sent: 0, answered: 0, refused: 0, times: [] }]));
    let normalRefused = 0;
    let runId = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const phase of PHASES) {
        runId++;
        const services = phase === 'flood, limits off' ? unlimited : limited;
        const inFlight: Array<Promise<unknown>> = [];
        const started = performance.now();
        const endAt = started + seconds * 1000;
        // Normal members: open loop (each fires on its own schedule, whatever the answers take).
        const members = Array.from({ length: SERVERS * MEMBERS_PER_SERVER }, (_, i) => ({
          invoker: person(`r${runId}-member-${i}`), // fresh members each phase: no allowance carried over
          place: place(`server-${i % SERVERS}`),
          next: started + (i * NORMAL_INTERVAL_MS) / (SERVERS * MEMBERS_PER_SERVER),
        }));
        const flooder = { invoker: person(`r${runId}-flooder`), place: place('flood-server'), sent: 0 };
        const record = flood.get(phase)!;
        for (;;) {
          // Everything due before the end is sent, even if the loop was blocked past the end (no omissions).
          const now = Math.min(performance.now(), endAt);
          for (const m of members) {
            while (m.next <= now) {
              // Timed from when it was due, not when the loop got to it: a blocked loop is part of the answer time.
              const t0 = m.next;
              m.next += NORMAL_INTERVAL_MS;
              inFlight.push(runCommand(search, { invoker: m.invoker, place: m.place, services }, { query: query() }).then((reply) => {
                if (isRefusal(reply)) normalRefused++;
                samples.get(phase)!.push(performance.now() - t0);
                if (phase === 'quiet') quietByParity[round % 2]!.push(performance.now() - t0);
              }));
            }
          }
          if (phase !== 'quiet') {
            const due = Math.min(seconds * FLOOD_PER_SECOND, Math.floor(((now - started) / 1000) * FLOOD_PER_SECOND));
            while (flooder.sent < due) {
              const t0 = started + (flooder.sent * 1000) / FLOOD_PER_SECOND;
              flooder.sent++;
              record.sent++;
              inFlight.push(runCommand(search, { invoker: flooder.invoker, place: flooder.place, services }, { query: query() }).then((reply) => {
                record.times.push(performance.now() - t0);
                if (isRefusal(reply)) record.refused++;
                else record.answered++;
              }));
            }
          }
          if (now >= endAt) break;
          await sleep(1);
        }
        await Promise.all(inFlight); // drain: the next phase starts on an idle process
        progress(`round ${round}/${rounds}, ${phase}: ${samples.get(phase)!.length} normal searches so far`);
        await sleep(200);
      }
    }

    // --- report ----------------------------------------------------------------------------------------
    const quiet = summarise(samples.get('quiet')!);
    const rows = PHASES.map((phase) => {
      const s = summarise(samples.get(phase)!);
      const f = flood.get(phase)!;
      const ft = summarise(f.times);
      return {
        phase, n: s.n, p50: s.p50, p99: s.p99, p50Ratio: s.p50 / quiet.p50, p99Ratio: s.p99 / quiet.p99,
        floodSent: f.sent, floodAnswered: f.answered, floodRefused: f.refused, floodP50: ft.p50,
        pass: phase === 'flood, limits on' ? s.p99 / quiet.p99 <= TARGET_P99_RATIO : null,
      };
    });
    const [even, odd] = quietByParity.map((q) => summarise(q));
    const noise = even && odd && even.n > 0 && odd.n > 0 ? { p50Ratio: odd.p50 / even.p50, p99Ratio: odd.p99 / even.p99 } : null;
    if (wantsJson()) {
      console.log(JSON.stringify({ machine: machineLine(), posts, seconds, rounds, rates: config.commandRates, normalRefused, noise, rows }));
      return;
    }
    console.log(`\n${machineLine()}; ${posts} posts; ${rounds} rounds × ${seconds} s per phase; ${SERVERS * MEMBERS_PER_SERVER} members in ${SERVERS} servers searching every ${NORMAL_INTERVAL_MS / 1000} s; flooder ${FLOOD_PER_SECOND}/s in its own server`);
    console.log(`Rates: member ${fmtRate(config.commandRates.member)}, search ${fmtRate(config.commandRates.search)}, server ${fmtRate(config.commandRates.server)}\n`);
    printTable(
      ['phase', 'other servers\' searches', 'p50 ms', 'p99 ms', 'p50 / quiet', 'p99 / quiet', `target p99 ≤ ${TARGET_P99_RATIO}× quiet`, 'flood sent', 'flood answered', 'flood refused', 'flood p50 ms'],
      rows.map((r) => [
        r.phase, r.n, fmt(r.p50), fmt(r.p99), r.p50Ratio.toFixed(2), r.p99Ratio.toFixed(2), r.pass === null ? '—' : r.pass ? 'pass' : 'FAIL',
        r.floodSent || '—', r.floodSent ? r.floodAnswered : '—', r.floodSent ? r.floodRefused : '—', r.floodSent ? fmt(r.floodP50) : '—',
      ]),
    );
    if (noise) console.log(`\nNoise floor (no flood at all): quiet in odd rounds vs even rounds, p50 ${noise.p50Ratio.toFixed(2)}×, p99 ${noise.p99Ratio.toFixed(2)}×`);
    if (normalRefused > 0) console.log(`\nNormal members refused: ${normalRefused} (should be 0: they stay within their rate)`);
  } finally {
    await store.close();
    removeDb();
  }
}

const fmtRate = (rate: { count: number; windowMs: number } | null) => (rate ? `${rate.count}/${rate.windowMs / 1000}s` : 'off');

await main();

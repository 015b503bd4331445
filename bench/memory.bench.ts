/**
 * `npm run bench:memory`: the memory of the real, compiled bot (`bin/inkwire.js start`, each run its own
 * process) as a deployment runs it — RSS from /proc and V8 heap from its own /metrics — for:
 *   - the console bot, idle;
 *   - the gateway bot connected to a fake Discord (its own process) with 0 / 1,000 / 10,000 guilds of
 *     20 channels each (target ≤ 75 MB + 70 KB per guild);
 *   - the HTTP-interactions bot with 0 / 1,000 / 10,000 servers' worth of subscriptions (2 channels each)
 *     after answering signed interactions (target: flat);
 * and the wall time of a CLI call (`inkwire help`) against `node -e 0` (target ≤ 0.4 s or ≤ 3×).
 * `--json` prints one JSON object; `--guilds 0,1000` picks the counts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { freePort } from '../test/fakes/free-port.ts';
import { machineLine, printTable, summarise, wantsJson } from './bench-util.ts';

const BIN = fileURLToPath(new URL('../bin/inkwire.js', import.meta.url));
const FEED = readFileSync(new URL('../test/fixtures/dailyink-feed-v1.xml', import.meta.url), 'utf8');
const countsArg = process.argv.indexOf('--guilds');
const COUNTS = countsArg === -1 ? [0, 1000, 10_000] : process.argv[countsArg + 1]!.split(',').map(Number);
const TOKEN = 'bench-memory-token';
const mb = (bytes: number) => bytes / 2 ** 20;
const progress = (line: string) => process.stderr.write(`[bench:memory] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = join(tmpdir(), `inkwire-bench-memory-${process.pid}`);
let counter = 0n;
const snowflake = () => String((BigInt(Date.now() - 1420070400000) << 22n) + ++counter);


// The feed every bot polls (a fixture from the test suite), served from this process.
const feedServer = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(FEED));
await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
const FEED_URL = `http://127.0.0.1:${(feedServer.address() as { port: number }).port}/feed`;

/** The fake Discord in a child process, so its memory is not the bot's. */
async function startFakeDiscordProcess(guilds: number, appId: string): Promise<{ apiUrl: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./discord-fake-process.ts', import.meta.url)), String(guilds), '20', TOKEN, appId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const apiUrl = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').trim())));
  return { apiUrl, stop: () => void child.kill('SIGTERM') };
}

interface Reading { rssMb: number; heapMb: number; startMs: number }

/** Starts the compiled bot, waits until it is up (and `warm` has run), lets it settle, reads its memory. */
async function measureBot(env: Record<string, string>, ready: RegExp, warm?: (port: number) => Promise<void>): Promise<Reading> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [BIN, 'start'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', HTTP_PORT: String(port), FEED_URLS: FEED_URL, POLL_JITTER_SECONDS: '0', ...env },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const deadline = Date.now() + 120_000;
  while (!ready.test(stderr) || !/http server listening/.test(stderr)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the bot did not start:\n${stderr.slice(-2000)}`);
    await sleep(50);
  }
  const startMs = performance.now() - started;
  await warm?.(port);
  await sleep(15_000); // past the first poll, the parse worker's idle end (10 s) and start-up garbage
  // The median of five readings a second apart: one reading swings by ±10 MB with when the collector ran.
  const rssSamples: number[] = [];
  const heapSamples: number[] = [];
  for (let i = 0; i < 5; i++) {
    rssSamples.push(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    heapSamples.push(Number(/^inkwire_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metrics)![1]));
    await sleep(1000);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const rss = median(rssSamples);
  const heap = median(heapSamples);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return { rssMb: mb(rss), heapMb: mb(heap), startMs };
}

rmSync(dir, { recursive: true, force: true });

// --- the console bot, idle --------------------------------------------------------------------------
progress('console bot, idle');
const consoleIdle = await measureBot({ DATABASE_URL: join(dir, 'console.db') }, /Inkwire started/);

// --- the gateway bot at each guild count ------------------------------------------------------------
const gateway: Array<Reading & { guilds: number; targetMb: number }> = [];
for (const guilds of COUNTS) {
  progress(`gateway bot, ${guilds} guilds × 20 channels`);
  const appId = snowflake();
  const fake = await startFakeDiscordProcess(guilds, appId);
  try {
    const reading = await measureBot({ DATABASE_URL: join(dir, `gateway-${guilds}.db`), DISCORD_TOKEN: TOKEN, DISCORD_APP_ID: appId, DISCORD_API_URL: fake.apiUrl }, /connected to Discord/);
    gateway.push({ guilds, ...reading, targetMb: 75 + (guilds * 70) / 1024 });
  } finally {
    fake.stop();
  }
}

// --- the HTTP-interactions bot at each count of servers' worth of subscriptions ---------------------
const keys = generateKeyPairSync('ed25519');
const publicKeyHex = Buffer.from(keys.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
/** Signed interactions as Discord posts them: a PING, then /latest and /search. */
async function interact(port: number) {
  const commands = [
    { type: 1 },
    { type: 2, data: { id: snowflake(), name: 'latest', type: 1, options: [] } },
    { type: 2, data: { id: snowflake(), name: 'search', type: 1, options: [{ name: 'query', type: 3, value: 'attention' }] } },
  ];
  for (let round = 0; round < 20; round++) {
    for (const command of commands) {
      const body = JSON.stringify({ id: snowflake(), application_id: '1', token: `tok-${round}`, version: 1, guild_id: snowflake(), channel_id: snowflake(), member: { user: { id: snowflake(), username: 'reader' }, permissions: '0' }, ...command });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await fetch(`http://127.0.0.1:${port}/discord/interactions`, {
        method: 'POST', body,
        headers: { 'content-type': 'application/json', 'x-signature-timestamp': timestamp, 'x-signature-ed25519': sign(null, Buffer.from(timestamp + body), keys.privateKey).toString('hex') },
      });
      if (res.status !== 200) throw new Error(`interaction answered ${res.status}`);
    }
  }
}
const httpBot: Array<Reading & { servers: number; subscriptions: number }> = [];
const httpAppId = snowflake();
const httpFake = await startFakeDiscordProcess(0, httpAppId);
try {
  for (const servers of COUNTS) {
    progress(`HTTP-interactions bot, ${servers} servers × 2 subscribed channels`);
    const db = join(dir, `http-${servers}.db`);
    const store = openSqliteStore(db);
    const feed = await store.feeds.ensure(FEED_URL, new Date());
    store.db.exec('BEGIN');
    for (let s = 0; s < servers; s++) {
      const workspaceId = snowflake();
      for (let c = 0; c < 2; c++) {
        await store.subscriptions.create({ kind: 'channel', platform: 'discord', workspaceId, channelId: snowflake(), feedId: feed.id, keywords: [], mode: 'instant', mentionId: null, createdBy: 'bench', createdAt: new Date(0) });
      }
    }
    store.db.exec('COMMIT');
    await store.close();
    const reading = await measureBot(
      { DATABASE_URL: db, DISCORD_TOKEN: TOKEN, DISCORD_APP_ID: httpAppId, DISCORD_API_URL: httpFake.apiUrl, DISCORD_PUBLIC_KEY: publicKeyHex },
      /Inkwire started/,
      interact,
    );
    httpBot.push({ servers, subscriptions: servers * 2, ...reading });
  }
} finally {
  httpFake.stop();
}

// --- CLI call wall time -------------------------------------------------------------------------------
progress('CLI wall time (15 runs each)');
const time = (args: string[]) => {
  const samples: number[] = [];
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
    samples.push(performance.now() - started);
  }
  return summarise(samples).p50;
};
const nodeBare = time(['-e', '0']);
const cliHelp = time([BIN, 'help']);

feedServer.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  machine: machineLine(),
  consoleIdle: { ...consoleIdle, targetMb: 80 },
  gateway,
  httpInteractions: httpBot,
  cli: { helpMs: cliHelp, nodeMs: nodeBare, ratio: cliHelp / nodeBare, targetMs: Math.max(400, 3 * nodeBare) },
};
if (wantsJson()) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f1 = (n: number) => n.toFixed(1);
  console.log(`\nbench:memory — ${result.machine}\n`);
  printTable(
    ['bot', 'servers', 'RSS MB', 'heap used MB', 'target RSS MB', 'met', 'start s'],
    [
      ['console, idle', '-', f1(consoleIdle.rssMb), f1(consoleIdle.heapMb), '80', consoleIdle.rssMb <= 80 ? 'yes' : 'no', (consoleIdle.startMs / 1000).toFixed(2)],
      ...gateway.map((g) => [`gateway (${g.guilds} × 20 channels)`, g.guilds, f1(g.rssMb), f1(g.heapMb), f1(g.targetMb), g.rssMb <= g.targetMb ? 'yes' : 'no', (g.startMs / 1000).toFixed(2)]),
      ...httpBot.map((h) => [`HTTP interactions (${h.subscriptions} subscriptions)`, h.servers, f1(h.rssMb), f1(h.heapMb), `flat: ${f1(h.rssMb / httpBot[0]!.rssMb)}× of 0`, h.rssMb <= httpBot[0]!.rssMb * 1.1 ? 'yes' : 'no', (h.startMs / 1000).toFixed(2)]),
    ],
  );
  const g0 = gateway.find((g) => g.guilds === 0);
  const gMax = gateway.at(-1);
  if (g0 && gMax && gMax.guilds > 0) console.log(`\ngateway growth: ${(((gMax.rssMb - g0.rssMb) * 1024) / gMax.guilds).toFixed(1)} KB RSS per guild (target 70)`);
  console.log(`\nCLI call: \`inkwire help\` ${f1(cliHelp)} ms vs \`node -e 0\` ${f1(nodeBare)} ms = ${result.cli.ratio.toFixed(2)}× (target ≤ 400 ms or ≤ 3×: ${cliHelp <= result.cli.targetMs ? 'met' : 'NOT met'})`);
}

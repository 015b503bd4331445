// `npm run soak:crash [-- --iterations N] [-- --seed S] [-- --channels C] [-- --threads] [-- --platform discord|slack]
// [-- --scale 0.05]`: SIGKILL the real bot at random points, N times per platform (default 50), and print what
// each channel received. With `--threads`: on Discord every other channel is a forum and the rest are
// subscribed with thread:true; on Slack every channel has thread:true and the workspace is an OAuth install
// on the limited history tier, with Slack's minute scaled by `--scale` on the fake and the bot alike.
// Exits 1 if any delivery lost its card, forum post, thread or reply, or got any of them twice.
import { runCrashIteration, seededRandom, type CrashIteration } from './crash-harness.ts';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`soak:crash: --${name} must be a positive whole number\n`);
    process.exit(2);
  }
  return value;
}

function ratio(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!(value > 0 && value <= 1)) {
    process.stderr.write(`soak:crash: --${name} must be a number in (0, 1]\n`);
    process.exit(2);
  }
  return value;
}

const iterations = arg('iterations', 50);
const seed = arg('seed', Date.now() % 100_000);
const channels = arg('channels', 12);
const threads = process.argv.includes('--threads');
const scale = ratio('scale', 0.05);
const only = process.argv.indexOf('--platform') >= 0 ? process.argv[process.argv.indexOf('--platform') + 1] : null;
if (only !== null && only !== 'discord' && only !== 'slack') {
  process.stderr.write('soak:crash: --platform must be discord or slack\n');
  process.exit(2);
}
const platforms = (['discord', 'slack'] as const).filter((p) => only === null || p === only);
const random = seededRandom(seed);
const results: CrashIteration[] = [];
process.stdout.write(`crash soak: ${iterations} iteration(s) per platform, ${channels} channels, seed ${seed}${threads ? `, threads (Discord: every other channel a forum, the rest thread:true; Slack: thread:true, OAuth install on the limited history tier, time scale ${scale})` : ''}\n`);

const describe = (r: CrashIteration, i: number) =>
  `${r.kinds[i]}=${r.perChannel[i]}${r.perChannelThreads[i] === null ? '' : `+${r.perChannelThreads[i]}`}`;
for (const platform of platforms) {
  for (let i = 0; i < iterations; i++) {
    const result = await runCrashIteration({ platform, channels, random, threads, slackTimeScale: scale });
    results.push(result);
    const wrong = result.perChannel.map((_, c) => c).filter((c) => result.perChannel[c] !== 1 || (result.perChannelThreads[c] ?? 1) !== 1);
    process.stdout.write(`${platform} #${i + 1}: killed during ${result.phase}${result.phase === 'send' || result.phase === 'record' ? ` (after item ${result.afterMessage})` : ''} → ${wrong.length === 0 ? 'every delivery once' : `${wrong.length} delivery(ies) wrong: ${wrong.map((c) => describe(result, c)).join(', ')}`}, ${result.absorbed} absorbed, ${result.lookups} look-ups, ${result.ms} ms\n`);
  }
}

const sum = (rows: CrashIteration[], pick: (r: CrashIteration) => number) => rows.reduce((n, r) => n + pick(r), 0);
const rows = platforms.map((platform) => {
  const mine = results.filter((r) => r.platform === platform);
  const count = (kind: CrashIteration['kinds'][number], pick: (r: CrashIteration, i: number) => number | null) =>
    sum(mine, (r) => r.kinds.reduce((n, k, i) => n + (k === kind ? (pick(r, i) ?? 0) : 0), 0));
  const deliveries = sum(mine, (r) => r.kinds.length);
  return {
    platform,
    kills: mine.filter((r) => r.killed).length,
    deliveries,
    ...(threads && platform === 'discord' ? {
      'forum posts': count('forum', (r, i) => r.perChannel[i]!),
      cards: count('text+thread', (r, i) => r.perChannel[i]!),
      threads: count('text+thread', (r, i) => r.perChannelThreads[i]!),
    } : {}),
    ...(threads && platform === 'slack' ? {
      cards: count('slack+thread', (r, i) => r.perChannel[i]!),
      'thread replies': count('slack+thread', (r, i) => r.perChannelThreads[i]!),
    } : {}),
    'exactly once': mine.filter((r) => r.lost === 0 && r.repeats === 0).length,
    lost: sum(mine, (r) => r.lost),
    duplicated: sum(mine, (r) => r.repeats),
    ...(platform === 'discord' ? {
      'nonce repeats absorbed': sum(mine, (r) => r.absorbed - r.threadRepeats),
      ...(threads ? { '160004 (thread exists)': sum(mine, (r) => r.threadRepeats), 'forum look-ups': sum(mine, (r) => r.lookups) } : {}),
    } : {
      'history look-ups': sum(mine, (r) => r.lookups),
      ...(threads ? { '429s': sum(mine, (r) => r.history429), 'in Retry-After': sum(mine, (r) => r.historyInRetryAfter) } : {}),
    }),
    'mean ms': Math.round(sum(mine, (r) => r.ms) / Math.max(1, mine.length)),
  };
});
// One table per platform: their columns differ.
for (const row of rows) console.table([row]);
process.exit(rows.every((r) => r.duplicated === 0 && r.lost === 0) ? 0 : 1);

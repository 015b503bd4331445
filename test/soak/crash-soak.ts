// `npm run soak:crash [-- --iterations N] [-- --seed S]`: SIGKILL the real bot at random points, N times per
// platform (default 50), and print what each channel received. Exits 1 if any channel got the post twice
// or not at all.
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

const iterations = arg('iterations', 50);
const seed = arg('seed', Date.now() % 100_000);
const channels = arg('channels', 12);
const random = seededRandom(seed);
const results: CrashIteration[] = [];
process.stdout.write(`crash soak: ${iterations} iteration(s) per platform, ${channels} channels, seed ${seed}\n`);
for (const platform of ['discord', 'slack'] as const) {
  for (let i = 0; i < iterations; i++) {
    const result = await runCrashIteration({ platform, channels, random });
    results.push(result);
    const wrong = result.perChannel.filter((n) => n !== 1).length;
    process.stdout.write(`${platform} #${i + 1}: killed during ${result.phase}${result.phase === 'send' || result.phase === 'record' ? ` (after message ${result.afterMessage})` : ''} → ${wrong === 0 ? 'every channel once' : `${wrong} channel(s) wrong: ${result.perChannel.join(',')}`}, ${result.absorbed} absorbed, ${result.ms} ms\n`);
  }
}

const rows = (['discord', 'slack'] as const).map((platform) => {
  const mine = results.filter((r) => r.platform === platform);
  return {
    platform,
    iterations: mine.length,
    'exactly once': mine.filter((r) => r.perChannel.every((n) => n === 1)).length,
    duplicates: mine.reduce((n, r) => n + r.repeats, 0),
    missing: mine.reduce((n, r) => n + r.perChannel.filter((c) => c === 0).length, 0),
    'repeats absorbed': mine.reduce((n, r) => n + r.absorbed, 0),
    'mean ms': Math.round(mine.reduce((n, r) => n + r.ms, 0) / Math.max(1, mine.length)),
  };
});
console.table(rows);
process.exit(rows.every((r) => r.duplicates === 0 && r.missing === 0) ? 0 : 1);

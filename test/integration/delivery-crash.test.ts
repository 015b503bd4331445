import { describe, expect, it } from 'vitest';
import { CRASH_PHASES, runCrashIteration, seededRandom } from '../soak/crash-harness.ts';

// `npm run soak:crash` runs the same iterations 50 times per platform; here each platform gets one per
// crash phase, so every phase is covered on every run.
const CHANNELS = 12;

describe('exactly once across SIGKILL of the real `inkwire start`', () => {
  for (const platform of ['discord', 'slack'] as const) {
    const label = platform === 'discord' ? 'the Discord fake (de-duplicates by nonce)' : 'the Slack fake (de-duplicates nothing)';
    it(`GIVEN ${label} and a kill during each of poll, ingest, send and record THEN every channel has the post exactly once`, async () => {
      const random = seededRandom(platform === 'discord' ? 9 : 11);
      const lines: string[] = [];
      for (const phase of CRASH_PHASES) {
        const result = await runCrashIteration({ platform, channels: CHANNELS, random, phase });
        lines.push(`${phase}${phase === 'send' || phase === 'record' ? ` after message ${result.afterMessage}` : ''}: ${result.repeats} repeat(s), ${result.absorbed} ${platform === 'discord' ? 'repeated nonce(s) absorbed' : 'history look-up(s)'}, ${result.ms} ms`);
        expect(result.perChannel, `${platform}, killed during ${phase}`).toEqual(Array(CHANNELS).fill(1));
      }
      console.log(`crash test on ${platform}:\n  ${lines.join('\n  ')}`);
    }, 240_000);
  }
});

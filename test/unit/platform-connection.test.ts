import { describe, expect, it } from 'vitest';
import { connectPlatform, connectRetryDelayMs, describeError, PlatformAuthError } from '../../src/platform/platform-connection.ts';
import { createLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';

type Started = ChatPlatform & { stop(): Promise<void> };

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } as never });
  return { logger, lines };
}

const platform = (connected = true): Started => ({
  name: 'discord',
  send: async () => ({ messageId: '1' }),
  isConnected: () => connected,
  stop: async () => {},
});

describe('connectPlatform: a platform that is down at start', () => {
  it('GIVEN attempts n = 1, 2, 3… THEN the delay doubles from the base up to the cap, half of it jittered', () => {
    const retry = { baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => connectRetryDelayMs(n, retry, () => 1))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(connectRetryDelayMs(3, retry, () => 0)).toBe(2000);
    expect(connectRetryDelayMs(50, retry, () => 0)).toBe(30_000);
  });

  it('GIVEN two failures THEN it retries, logs each at warn with the attempt, reason and next delay (no stack), and reports its state until connected', async () => {
    const { logger, lines } = recordingLogger();
    const delays: number[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const connection = connectPlatform({
      label: 'Discord',
      logger,
      retry: { baseMs: 100, maxMs: 1000 },
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
        if (delays.length === 2) await new Promise<void>((resolve) => (release = resolve));
      },
      connect: async () => {
        calls++;
        if (calls <= 2) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
        return platform();
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(connection.isConnected()).toBe(false);
    expect(connection.describe()).toBe('not connected yet (attempt 2 failed: connect ECONNREFUSED 127.0.0.1:9); retrying');
    release();
    await connection.ready;
    expect(connection.isConnected()).toBe(true);
    expect(calls).toBe(3);
    expect(delays).toEqual([100, 200]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => [l.attempt, l.nextDelayMs, l.reason])).toEqual([[1, 100, 'connect ECONNREFUSED 127.0.0.1:9'], [2, 200, 'connect ECONNREFUSED 127.0.0.1:9']]);
    expect(warnings.every((l) => l.err === undefined)).toBe(true);
    expect(lines.some((l) => l.msg === 'Discord is reachable again; connected')).toBe(true);
  });

  it('GIVEN a refused token THEN it stops at once: no retry, ready rejects with PlatformAuthError', async () => {
    const { logger } = recordingLogger();
    let calls = 0;
    const connection = connectPlatform({
      label: 'Slack',
      logger,
      sleep: async () => {},
      connect: async () => {
        calls++;
        throw new PlatformAuthError('Slack refused the token (invalid_auth)');
      },
    });
    await expect(connection.ready).rejects.toBeInstanceOf(PlatformAuthError);
    expect(calls).toBe(1);
    expect(connection.state()).toEqual({ state: 'failed', reason: 'Slack refused the token (invalid_auth)' });
  });

  it('GIVEN stop while waiting to retry THEN no further attempt is made', async () => {
    const { logger } = recordingLogger();
    let calls = 0;
    const connection = connectPlatform({ label: 'Discord', logger, retry: { baseMs: 60_000, maxMs: 60_000 }, connect: async () => {
      calls++;
      throw new Error('down');
    } });
    await new Promise((resolve) => setImmediate(resolve));
    await connection.stop();
    await expect(connection.ready).rejects.toThrow();
    expect(calls).toBe(1);
    expect(connection.state()).toEqual({ state: 'stopped' });
  });

  it('GIVEN an HTTP error whose message lacks the status THEN the reason names it', () => {
    expect(describeError(Object.assign(new Error('Service Unavailable'), { status: 503 }))).toBe('HTTP 503 Service Unavailable');
    expect(describeError(Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) }))).toBe('fetch failed (ECONNREFUSED)');
  });
});

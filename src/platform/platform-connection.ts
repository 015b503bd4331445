import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { ChatPlatform } from './chat-platform.ts';
import { redactUrlsIn } from '../feeds/url-secrets.ts';

/**
 * The platform refused the credentials (Discord 401, Slack `invalid_auth`): a misconfiguration, not an
 * outage, so starting stops instead of retrying. Adapters throw it from their start; the message is one
 * line an operator can act on and never contains the token.
 */
export class PlatformAuthError extends Error {
  readonly code = 'platform/auth-failed' as const;

  override get name(): string {
    return `PlatformAuthError[${this.code}]`;
  }
}

/** Capped exponential backoff between connection attempts: `baseMs` doubling up to `maxMs`. */
export interface ConnectRetry {
  baseMs: number;
  maxMs: number;
}

/** The documented default: 1 s doubling to 60 s. */
export const DEFAULT_CONNECT_RETRY: ConnectRetry = { baseMs: 1000, maxMs: 60_000 };

/**
 * The wait before attempt `attempt + 1` after `attempt` failures: the capped doubling, half of it fixed and
 * half random (so many bots restarted by one outage do not all knock at once).
 */
export function connectRetryDelayMs(attempt: number, retry: ConnectRetry, random: () => number = Math.random): number {
  const capped = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(capped / 2 + (random() * capped) / 2);
}

/** Where one platform's start stands, for `/readyz` and the logs. */
export type PlatformConnectionState =
  | { state: 'connecting'; attempt: number; lastError: string | null }
  | { state: 'connected' }
  | { state: 'failed'; reason: string }
  | { state: 'stopped' };

export interface PlatformConnection<T extends ChatPlatform & { stop(): Promise<void> }> {
  /** `Discord`, `Slack`: as operators know it. */
  readonly label: string;
  /** Resolves with the adapter once it is up; rejects with `PlatformAuthError` (or when stopped first). */
  readonly ready: Promise<T>;
  state(): PlatformConnectionState;
  /** Up and, when the adapter knows (a gateway), still connected. */
  isConnected(): boolean;
  /** A line for `/readyz` while it is not connected. */
  describe(): string;
  /** Stops retrying, or stops the adapter if it is up. */
  stop(): Promise<void>;
}

/**
 * Starts a platform adapter without holding up the rest of the bot: `connect` is called until it
 * resolves, with capped backoff and jitter between attempts, each failure logged at warn as one line
 * (attempt, reason, next delay; the stack only at debug). A `PlatformAuthError` ends it at once.
 */
export function connectPlatform<T extends ChatPlatform & { stop(): Promise<void> }>(options: {
  label: string;
  connect: () => Promise<T>;
  logger: Logger;
  retry?: ConnectRetry;
  random?: () => number;
  /** Injected in tests; defaults to a timer that the stop cancels. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}): PlatformConnection<T> {
  const retry = options.retry ?? DEFAULT_CONNECT_RETRY;
  const sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal, ref: false }));
  const stopping = new AbortController();
  let current: PlatformConnectionState = { state: 'connecting', attempt: 0, lastError: null };
  let adapter: T | null = null;

  const run = async (): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      current = { state: 'connecting', attempt, lastError: current.state === 'connecting' ? current.lastError : null };
      try {
        const started = await options.connect();
        if (stopping.signal.aborted) {
          await started.stop();
          throw new Error(`stopped before ${options.label} connected`);
        }
        adapter = started;
        current = { state: 'connected' };
        if (attempt > 1) options.logger.info({ attempt }, `${options.label} is reachable again; connected`);
        return started;
      } catch (error) {
        if (stopping.signal.aborted) throw error;
        const reason = describeError(error);
        if (error instanceof PlatformAuthError) {
          current = { state: 'failed', reason };
          throw error;
        }
        const delayMs = connectRetryDelayMs(attempt, retry, options.random);
        current = { state: 'connecting', attempt, lastError: reason };
        options.logger.debug({ err: error }, `${options.label} connection attempt failed`);
        options.logger.warn({ attempt, nextDelayMs: delayMs, reason }, `cannot connect to ${options.label}: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
        await sleep(delayMs, stopping.signal);
      }
    }
  };
  const ready = run();
  ready.catch(() => {}); // the caller awaits it; an unobserved rejection must not end the process

  return {
    label: options.label,
    ready,
    state: () => current,
    isConnected: () => current.state === 'connected' && (adapter?.isConnected?.() ?? true),
    describe: () => {
      if (current.state === 'connecting') {
        return current.lastError ? `not connected yet (attempt ${current.attempt} failed: ${current.lastError}); retrying` : 'connecting';
      }
      if (current.state === 'failed') return current.reason;
      if (current.state === 'stopped') return 'stopped';
      return adapter?.isConnected?.() === false ? 'disconnected; the client is reconnecting' : 'connected';
    },
    async stop() {
      const was = adapter;
      current = { state: 'stopped' };
      stopping.abort();
      await was?.stop();
    },
  };
}

/**
 * One line: the error's own message, with the network cause (ECONNREFUSED, ENOTFOUND…) when there is one.
 * Every URL in it is redacted (shown on /readyz and on the command line; an endpoint may carry a token).
 */
export function describeError(error: unknown): string {
  const message = redactUrlsIn(error instanceof Error ? error.message : String(error));
  const firstLine = message.split('\n')[0] ?? message;
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && !firstLine.includes(String(status))) return `HTTP ${status} ${firstLine}`;
  const code = networkCode(error);
  return code && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine;
}

/** The socket error's code (ECONNREFUSED, ENOTFOUND…), looked for through `cause` and Slack's `original`. */
function networkCode(error: unknown, depth = 0): string | null {
  if (!error || typeof error !== 'object' || depth > 4) return null;
  const { code, cause, original } = error as { code?: unknown; cause?: unknown; original?: unknown };
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  return networkCode(cause, depth + 1) ?? networkCode(original, depth + 1);
}

import { BLOCKED_ADDRESS_CODE } from './feed-url-guard.ts';
import { InkwireError } from '../errors.ts';
import { basicAuthOf, redactUrl } from './url-secrets.ts';
import { decodeFeedBody } from './charset.ts';

/** The HTTP validators remembered per feed (in the database) for conditional GETs. */
export interface HttpValidators {
  etag: string | null;
  lastModified: string | null;
}

export type FetchOutcome =
  | { kind: 'not-modified' }
  | {
      kind: 'fetched';
      /**
       * The body's bytes, undecoded: hand them to the feed parser, which decodes them where it parses them
       * (in its worker for a large feed, which takes them over — the view is empty afterwards).
       */
      raw: Uint8Array;
      /** The body decoded as text (charset from the headers, BOM or XML declaration), on first read. */
      readonly body: string;
      validators: HttpValidators;
      finalUrl: string;
      contentType: string | null;
      bytes: number;
    }
  | { kind: 'failed'; error: InkwireError; retryAfterMs: number | null; status: number | null };

/** Checks a URL before each request (including redirect hops); returns a reason to refuse it, or null. */
export type UrlGuard = (url: URL) => Promise<string | null>;

export interface FeedFetcherOptions {
  fetch: typeof globalThis.fetch;
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** Checks URLs of untrusted requests (user-added feeds), e.g. refusing private addresses. */
  guardUrl?: UrlGuard;
  /**
   * For untrusted requests: an undici dispatcher that pins each connection to an address the guard
   * accepts (see `createPublicAddressGuard`), so DNS rebinding between check and connect fails. Asked for
   * on each untrusted request (it may be made on first use).
   */
  untrustedDispatcher?: () => Promise<unknown>;
  now?: () => number;
}

export interface FetchRequest {
  url: string;
  validators?: HttpValidators;
  signal?: AbortSignal;
  /** Overrides the Accept header (JSON APIs). */
  accept?: string;
  /** A URL someone added from chat: every hop must pass the URL guard (no private networks). */
  untrusted?: boolean;
}

const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1';

/**
 * Fetches a URL the careful way rss-parser's `parseURL` does not: a timeout that aborts the socket,
 * a byte cap enforced while streaming, a bounded number of redirects (each hop checked by the guard),
 * conditional GET, and failures returned as values with their Retry-After.
 */
export function createFeedFetcher(options: FeedFetcherOptions): (request: FetchRequest) => Promise<FetchOutcome> {
  const now = options.now ?? Date.now;
  return async function fetchFeed(request) {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let url: URL;
    let authorization: string | null;
    try {
      // Credentials in the URL travel as an Authorization header, to this origin only.
      ({ url, authorization } = basicAuthOf(new URL(request.url)));
    } catch {
      return failed('feed/fetch-failed', `not a valid URL: ${redactUrl(request.url)}`);
    }
    const authOrigin = url.origin;
    try {
      for (let hop = 0; ; hop++) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          return failed('feed/fetch-failed', `only http and https URLs can be fetched, not ${url.protocol}`);
        }
        const refusal = request.untrusted && options.guardUrl ? await options.guardUrl(url) : null;
        if (refusal) return failed('feed/blocked-address', refusal);

        const headers: Record<string, string> = {
          'User-Agent': options.userAgent,
          Accept: request.accept ?? FEED_ACCEPT,
        };
        if (request.validators?.etag) headers['If-None-Match'] = request.validators.etag;
        if (request.validators?.lastModified) headers['If-Modified-Since'] = request.validators.lastModified;
        if (authorization && url.origin === authOrigin) headers.Authorization = authorization; // never across a redirect to another host

        const dispatcher = request.untrusted && options.untrustedDispatcher ? await options.untrustedDispatcher() : null;
        const init = { headers, redirect: 'manual', signal, ...(dispatcher ? { dispatcher } : {}) };
        const response = await options.fetch(url, init as RequestInit);
        if (response.status >= 300 && response.status < 400 && response.status !== 304) {
          await response.body?.cancel();
          const location = response.headers.get('location');
          if (!location) return failed('feed/http-status', `HTTP ${response.status} without a Location header`, response.status);
          if (hop >= options.maxRedirects) {
            return failed('feed/too-many-redirects', `more than ${options.maxRedirects} redirects`, response.status);
          }
          url = new URL(location, url);
          if (url.username || url.password) {
            url.username = '';
            url.password = '';
          }
          continue;
        }
        if (response.status === 304) {
          await response.body?.cancel();
          return { kind: 'not-modified' };
        }
        if (response.status === 429 || response.status === 503) {
          await response.body?.cancel();
          const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
          return {
            kind: 'failed',
            error: new InkwireError(
              'feed/rate-limited',
              `HTTP ${response.status}${retryAfterMs !== null ? `, retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}`,
            ),
            retryAfterMs,
            status: response.status,
          };
        }
        if (!response.ok) {
          await response.body?.cancel();
          return failed('feed/http-status', `HTTP ${response.status} ${response.statusText}`.trim(), response.status);
        }
        const declared = Number(response.headers.get('content-length') ?? NaN);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          await response.body?.cancel();
          return failed('feed/too-large', `body of ${declared} bytes is over the ${options.maxBytes}-byte cap`, response.status);
        }
        const bytes = await readCapped(response, options.maxBytes);
        if (bytes === null) {
          return failed('feed/too-large', `body is over the ${options.maxBytes}-byte cap`, response.status);
        }
        const contentType = response.headers.get('content-type');
        const size = bytes.byteLength;
        let text: string | null = null;
        return {
          kind: 'fetched',
          raw: bytes,
          get body() {
            text ??= decodeOnRead(bytes, size, contentType);
            return text;
          },
          validators: { etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified') },
          finalUrl: url.toString(),
          contentType,
          bytes: size,
        };
      }
    } catch (error) {
      if (timeout.aborted) return failed('feed/timeout', `no complete answer within ${options.timeoutMs} ms`);
      if (request.signal?.aborted) return failed('feed/fetch-failed', 'aborted (shutting down)');
      const blocked = blockedReason(error);
      if (blocked) return failed('feed/blocked-address', blocked);
      return failed('feed/fetch-failed', describeNetworkError(error));
    }
  };
}

/**
 * Decodes a body when `body` is first read, not before: a caller that hands the bytes to the parse worker never
 * decodes them in this thread. Once handed over they are gone (`size` no longer matches), which is a bug to report.
 */
function decodeOnRead(bytes: Uint8Array, size: number, contentType: string | null): string {
  if (bytes.byteLength !== size) throw new Error('the feed body was handed to the feed parser; read `body` before parsing it');
  return decodeFeedBody(bytes, contentType);
}

function failed(code: InkwireError['code'], message: string, status: number | null = null): FetchOutcome {
  return { kind: 'failed', error: new InkwireError(code, message), retryAfterMs: null, status };
}

/** Reads a body, stopping (and cancelling the stream) as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Longer than anyone should be asked to wait; the poller caps it again at FEED_MAX_BACKOFF_SECONDS. */
const RETRY_AFTER_CEILING_MS = 7 * 24 * 3600 * 1000;

/** `Retry-After` as delta-seconds or an HTTP date; null when absent or unreadable; at most 7 days. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(RETRY_AFTER_CEILING_MS, Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.min(RETRY_AFTER_CEILING_MS, Math.max(0, at - nowMs));
}

/** The guard's refusal, when a pinned connection was refused at connect time (the DNS answer changed). */
function blockedReason(error: unknown): string | null {
  for (let e = error as { code?: unknown; cause?: unknown; message?: string } | null, depth = 0; e && depth < 5; depth++) {
    if (e.code === BLOCKED_ADDRESS_CODE) return e.message ?? 'blocked address';
    e = e.cause as typeof e;
  }
  return null;
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: string }).code;
      return code ? `${code}: ${cause.message}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

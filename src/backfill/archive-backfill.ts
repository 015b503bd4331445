import type { Clock } from '../clock.ts';
import { InkwireError } from '../errors.ts';
import type { FetchOutcome, FetchRequest } from '../feeds/feed-fetcher.ts';
import { redactUrl } from '../feeds/url-secrets.ts';
import type { Logger } from '../logger.ts';
import type { FeedRecord } from '../storage/feed-store.ts';
import type { Store } from '../storage/store.ts';
import { draftFromSubstackPost, parseArchivePage, parseSubstackPost, type SubstackPost } from './substack-post.ts';

export interface BackfillProgress {
  pages: number;
  listed: number;
  stored: number;
  skipped: number;
  failed: number;
}

export interface BackfillReport extends BackfillProgress {
  feedUrl: string;
  completed: boolean;
  /** Why the backfill stopped early, if it did. */
  error: string | null;
  failures: Array<{ slug: string; reason: string }>;
}

export interface ArchiveBackfillOptions {
  store: Store;
  /** The same careful fetch as feeds (timeout, byte cap, redirects); JSON is requested through `accept`. */
  fetch: (request: FetchRequest) => Promise<FetchOutcome>;
  clock: Clock;
  logger: Logger;
  pageSize?: number;
  /** Pause between archive pages (politeness). */
  pagePauseMs?: number;
  /** Requests in flight to the publication's host at once. */
  maxInFlight?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onProgress?: (progress: BackfillProgress) => void;
}

/** A pause that ends early on abort. Not unref'd: `inkwire backfill` has nothing else keeping it alive. */
export const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/**
 * The archive API lives on the publication's own host (substack.com or a custom domain), which is the
 * host of the configured feed URL. Never the feed's `<link>`: that is content, and could point anywhere.
 */
export function publicationBaseUrl(feed: FeedRecord): string {
  return new URL(feed.url).origin;
}

/**
 * Fills in the posts a Substack feed no longer lists: pages through `/api/v1/archive` until a short or
 * empty page and fetches each missing post from `/api/v1/posts/<slug>`. Each post is stored as soon as
 * it arrives (as already seen: a backfill never announces), so a killed run resumes where it stopped
 * and never duplicates; a run after a completed one stops at the first page with nothing new.
 */
export function createArchiveBackfill(options: ArchiveBackfillOptions) {
  const pageSize = options.pageSize ?? 12;
  const pagePauseMs = options.pagePauseMs ?? 1000;
  const maxInFlight = options.maxInFlight ?? 2;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 2000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const sleep = options.sleep ?? defaultSleep;
  const log = options.logger;

  async function getJson(url: string, untrusted: boolean, signal?: AbortSignal): Promise<{ ok: true; json: unknown } | { ok: false; error: string; permanent: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await options.fetch({ url, accept: 'application/json', untrusted, ...(signal ? { signal } : {}) });
      if (outcome.kind === 'fetched') {
        try {
          return { ok: true, json: JSON.parse(outcome.body) as unknown };
        } catch {
          return { ok: false, error: `${url} did not return JSON`, permanent: true };
        }
      }
      if (outcome.kind === 'not-modified') return { ok: false, error: 'unexpected 304', permanent: true };
      const transient = isTransient(outcome.error, outcome.status);
      if (!transient || attempt >= maxAttempts || signal?.aborted) {
        return { ok: false, error: `[${outcome.error.code}] ${outcome.error.message}`, permanent: !transient };
      }
      const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
      const wait = Math.max(backoff, outcome.retryAfterMs ?? 0);
      log.info({ url, attempt, waitMs: wait, code: outcome.error.code }, 'archive request failed; retrying');
      await sleep(wait, signal);
    }
  }

  /** `ownerKey`: whose row of this URL (ADR 005); '' (default) the shared one, created on first sight; a tenant's own must exist. */
  return async function backfill(feedUrl: string, runOptions: { signal?: AbortSignal; ownerKey?: string } = {}): Promise<BackfillReport> {
    const signal = runOptions.signal;
    const ownerKey = runOptions.ownerKey ?? '';
    const feed = ownerKey === '' ? await options.store.feeds.ensure(feedUrl, options.clock.now()) : await options.store.feeds.get(feedUrl, ownerKey);
    if (!feed) throw new InkwireError('feed/unknown', `no feed ${redactUrl(feedUrl)} of ${ownerKey} is stored`);
    const base = publicationBaseUrl(feed);
    // A feed someone added from chat is fetched only from public addresses, its archive API included.
    const untrusted = feed.addedBy !== null;
    const incremental = feed.backfillCompletedAt !== null;
    const report: BackfillReport = { feedUrl, pages: 0, listed: 0, stored: 0, skipped: 0, failed: 0, completed: false, error: null, failures: [] };
    const progress = () => options.onProgress?.({ pages: report.pages, listed: report.listed, stored: report.stored, skipped: report.skipped, failed: report.failed });

    for (let offset = 0; ; ) {
      if (signal?.aborted) {
        report.error = 'interrupted';
        break;
      }
      const pageUrl = `${base}/api/v1/archive?sort=new&search=&offset=${offset}&limit=${pageSize}`;
      const page = await getJson(pageUrl, untrusted, signal);
      if (!page.ok) {
        report.error = `archive page at offset ${offset}: ${page.error}`;
        break;
      }
      const rows = parseArchivePage(page.json);
      if (!rows) {
        report.error = `archive page at offset ${offset} is not a JSON array`;
        break;
      }
      report.pages++;
      report.listed += rows.posts.length;
      const keys = rows.posts.map((p) => `slug:${p.slug.toLowerCase()}`);
      const existing = await options.store.posts.existingKeys(feed.id, keys);
      const missing = rows.posts.filter((p) => !existing.has(`slug:${p.slug.toLowerCase()}`));
      report.skipped += rows.posts.length - missing.length;

      await forEachLimited(missing, maxInFlight, async (row) => {
        if (signal?.aborted) return;
        const full = await getJson(`${base}/api/v1/posts/${encodeURIComponent(row.slug)}`, untrusted, signal);
        let post: SubstackPost = row;
        if (full.ok) {
          const parsed = parseSubstackPost(full.json);
          if (parsed) post = { ...row, ...parsed };
        } else if (!full.permanent) {
          report.failed++;
          report.failures.push({ slug: row.slug, reason: full.error });
          progress();
          return; // not stored: the next run tries again
        }
        // A permanent failure (404, paid post without a public body) still stores what the archive row says.
        await options.store.posts.ingest({
          feedId: feed.id,
          at: options.clock.now(),
          drafts: [draftFromSubstackPost(post, base)],
          announceKeys: new Set(),
        });
        report.stored++;
        progress();
      });
      progress();
      const nothingNew = missing.length === 0;
      if (rows.posts.length < pageSize || (incremental && nothingNew)) {
        report.completed = !signal?.aborted && report.failed === 0;
        break;
      }
      offset += rows.posts.length;
      await sleep(pagePauseMs, signal);
    }
    if (!report.completed && !report.error && report.failed > 0) report.error = `${report.failed} post(s) could not be fetched; run again to retry them`;
    await options.store.feeds.recordBackfill(feed.id, {
      completedAt: report.completed ? options.clock.now() : null,
      error: report.error,
    });
    log.info({ feedUrl, pages: report.pages, listed: report.listed, stored: report.stored, skipped: report.skipped, failed: report.failed, completed: report.completed }, 'archive backfill finished');
    return report;
  };
}

export type ArchiveBackfill = ReturnType<typeof createArchiveBackfill>;

function isTransient(error: InkwireError, status: number | null): boolean {
  if (error.code === 'feed/rate-limited' || error.code === 'feed/timeout' || error.code === 'feed/fetch-failed') return true;
  return error.code === 'feed/http-status' && status !== null && status >= 500;
}

async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  });
  await Promise.all(workers);
}

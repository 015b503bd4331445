import type { Clock } from '../clock.ts';
import { InkwireError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { draftFromFeedItem } from '../posts/post-draft.ts';
import type { Post, PostDraft } from '../posts/post.ts';
import type { FeedRecord } from '../storage/feed-store.ts';
import type { Store } from '../storage/store.ts';
import { backoffDelayMs } from './backoff.ts';
import { redactUrl } from './url-secrets.ts';
import type { FetchOutcome, FetchRequest } from './feed-fetcher.ts';
import { createInlineFeedParser, type FeedParser } from './feed-parse-pool.ts';
import type { IngestResult, SkippedItem } from '../storage/post-store.ts';
import { clampFutureDate, FUTURE_DATE_TOLERANCE_MS } from '../posts/post-dates.ts';

export type PollOutcome =
  | { feedUrl: string; feedId: number; status: 'not-modified' }
  | {
      feedUrl: string;
      feedId: number;
      status: 'ok';
      items: number;
      /** Items beyond the per-poll cap, not read this time. */
      skipped: number;
      /** True on the first successful poll, when every item is stored as already seen. */
      firstSight: boolean;
      created: Post[];
      announced: Post[];
      updated: Post[];
      /** Items the store refused (each skipped alone; logged and recorded on the feed). */
      failedItems: SkippedItem[];
      /** Items dated beyond the fetch time plus `FUTURE_DATE_TOLERANCE_MS`, stored with the fetch time. */
      futureDated: number;
    }
  | { feedUrl: string; feedId: number; status: 'failed'; error: InkwireError; nextPollAt: Date };

export interface FeedPollerOptions {
  store: Store;
  fetchFeed: (request: FetchRequest) => Promise<FetchOutcome>;
  clock: Clock;
  logger: Logger;
  /** First backoff step after a failure; doubles per consecutive failure. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * A new item dated this long before the newest stored post is stored as seen, not announced
   * (an old post re-entering the window, a re-dated import).
   */
  staleAfterMs?: number;
  /** At most this many (the newest) items are read per poll; the rest are logged and counted (default 200). */
  maxItems?: number;
  /** Parses and caps the feed text; the app passes a worker-thread parser, tests the inline one. */
  parseFeed?: FeedParser;
}

/** Posts stored per transaction: the event loop gets a turn between chunks. */
const INGEST_CHUNK = 50;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface PollOptions {
  /** Announce the items of a feed seen for the first time too (default: store them silently). */
  announceExisting?: boolean;
  signal?: AbortSignal;
  /**
   * Whose row of this URL to poll (ADR 005): '' (the default) for the shared one, which is created on first
   * sight; a tenant's key for its own credentialed feed, which must exist (it is never created here).
   */
  ownerKey?: string;
}

const SEVEN_DAYS = 7 * 24 * 3600 * 1000;

/** Polls one feed: conditional fetch, parse, store in one transaction, record health. Never throws for feed faults. */
export function createFeedPoller(options: FeedPollerOptions) {
  const log = options.logger;
  const staleAfterMs = options.staleAfterMs ?? SEVEN_DAYS;
  const maxItems = options.maxItems ?? 200;
  const parseFeed = options.parseFeed ?? createInlineFeedParser(maxItems);

  async function fail(feed: FeedRecord, error: InkwireError, retryAfterMs: number | null): Promise<PollOutcome> {
    const at = options.clock.now();
    const failures = feed.consecutiveFailures + 1;
    const delay = backoffDelayMs(failures, { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs, retryAfterMs });
    const nextPollAt = new Date(at.getTime() + delay);
    await options.store.feeds.recordFailure(feed.id, { at, code: error.code, message: error.message, nextPollAt });
    log.warn(
      { feedUrl: feed.url, code: error.code, consecutiveFailures: failures, nextPollAt: nextPollAt.toISOString() },
      `feed poll failed: ${error.message}`,
    );
    return { feedUrl: feed.url, feedId: feed.id, status: 'failed', error, nextPollAt };
  }

  return async function pollFeed(url: string, pollOptions: PollOptions = {}): Promise<PollOutcome> {
    const ownerKey = pollOptions.ownerKey ?? '';
    const feed = ownerKey === '' ? await options.store.feeds.ensure(url, options.clock.now()) : await options.store.feeds.get(url, ownerKey);
    if (!feed) throw new InkwireError('feed/unknown', `no feed ${redactUrl(url)} of ${ownerKey} is stored`);
    const started = performance.now();
    const fetched = await options.fetchFeed({
      url,
      validators: feed.validators,
      untrusted: feed.addedBy !== null,
      ...(pollOptions.signal ? { signal: pollOptions.signal } : {}),
    });
    if (fetched.kind === 'failed') return fail(feed, fetched.error, fetched.retryAfterMs);
    if (fetched.kind === 'not-modified') {
      const at = options.clock.now();
      await options.store.feeds.recordNotModified(feed.id, at, at);
      log.debug({ feedUrl: url, ms: Math.round(performance.now() - started) }, 'feed not modified');
      return { feedUrl: url, feedId: feed.id, status: 'not-modified' };
    }
    const capped = await parseFeed(fetched); // the bytes: decoded where they are parsed (a large feed: in the worker)
    if (!capped.ok) return fail(feed, capped.error, null);
    const parsed = { value: capped.value.feed };
    const skipped = Math.max(0, capped.value.totalItems - parsed.value.items.length);
    if (skipped > 0) {
      log.warn({ feedUrl: url, items: capped.value.totalItems, read: parsed.value.items.length, skipped }, `the feed lists ${capped.value.totalItems} items; read the newest ${parsed.value.items.length}, skipped ${skipped}`);
    }

    // Dates from the feed are evidence, not truth: one beyond the fetch time (a typo'd year) would be "newest"
    // for a year and make every real post after it look stale. Such a date becomes the fetch time.
    const fetchedAt = options.clock.now();
    const drafts: PostDraft[] = [];
    let futureDated = 0;
    for (const item of parsed.value.items) {
      const raw = draftFromFeedItem(item, parsed.value);
      const draft = raw && clampFutureDate(raw, fetchedAt);
      if (draft?.claimedPublishedAt) {
        futureDated++;
        log.warn(
          { feedUrl: url, key: draft.key, claimedPublishedAt: draft.claimedPublishedAt.toISOString(), usedPublishedAt: fetchedAt.toISOString(), toleranceMs: FUTURE_DATE_TOLERANCE_MS },
          'an item is dated in the future; its date is taken as the fetch time (the feed\'s date is kept as claimed)',
        );
      }
      if (draft) drafts.push(draft);
      // A turn of the event loop after each item: cleaning one post's HTML takes ~1–20 ms, and 20 posts in one
      // stretch held the main thread 30–160 ms (bench:poll).
      await yieldToLoop();
    }
    const firstSight = !feed.bootstrapped;
    const announceKeys = await chooseAnnouncements(feed, drafts, firstSight && !pollOptions.announceExisting, fetchedAt);
    const at = options.clock.now();
    // In chunks, each its own transaction (posts with their outbox rows), the event loop free between them;
    // the feed's validators and health go with the last chunk, so an interrupted poll is simply redone.
    const result: IngestResult = { created: [], announced: [], updated: [], unchanged: 0, skipped: [] };
    try {
      for (let start = 0; start < drafts.length || start === 0; start += INGEST_CHUNK) {
        const last = start + INGEST_CHUNK >= drafts.length;
        const chunk = await options.store.posts.ingest({
          feedId: feed.id,
          at,
          drafts: drafts.slice(start, start + INGEST_CHUNK),
          announceKeys,
          ...(last
            ? {
                feedUpdate: {
                  title: parsed.value.title,
                  siteUrl: parsed.value.siteUrl,
                  isSubstack: isSubstackFeed(url, parsed.value.generator, parsed.value.siteUrl),
                  validators: fetched.validators,
                  nextPollAt: at,
                },
              }
            : {}),
        });
        result.created.push(...chunk.created);
        result.announced.push(...chunk.announced);
        result.updated.push(...chunk.updated);
        result.unchanged += chunk.unchanged;
        result.skipped.push(...chunk.skipped);
        if (last) break;
        await yieldToLoop();
      }
    } catch (error) {
      // The store failed the poll as a whole (not one item): a feed failure, recorded and backed off like any other.
      log.error({ err: error, feedUrl: url }, 'storing the feed\'s items failed');
      const reason = error instanceof Error ? error.message : String(error);
      return fail(feed, new InkwireError('feed/ingest-failed', `storing the feed's items failed: ${reason}`, { cause: error }), null);
    }
    for (const item of result.skipped) {
      log.error({ feedUrl: url, key: item.key, reason: item.message }, 'an item could not be stored; skipped (the rest of the feed was stored)');
    }
    if (result.skipped.length > 0 || feed.ingestSkipped > 0) {
      const first = result.skipped[0];
      await options.store.feeds.recordIngestSkips(feed.id, {
        at,
        skipped: result.skipped.length,
        message: first ? `${result.skipped.length} item(s) not stored; first: "${first.title.slice(0, 80)}": ${first.message}` : null,
      });
    }
    log.info(
      {
        feedUrl: url,
        items: drafts.length,
        skipped,
        created: result.created.length,
        announced: result.announced.length,
        updated: result.updated.length,
        failedItems: result.skipped.length,
        futureDated,
        firstSight,
        bytes: fetched.bytes,
        ms: Math.round(performance.now() - started),
      },
      firstSight ? 'feed seen for the first time; existing items stored as already seen' : 'feed polled',
    );
    return {
      feedUrl: url,
      feedId: feed.id,
      status: 'ok',
      items: drafts.length,
      skipped,
      firstSight,
      created: result.created,
      announced: result.announced,
      updated: result.updated,
      failedItems: result.skipped,
      futureDated,
    };
  };

  async function chooseAnnouncements(feed: FeedRecord, drafts: PostDraft[], silent: boolean, fetchedAt: Date): Promise<Set<string>> {
    if (silent || drafts.length === 0) return new Set();
    const existing = await options.store.posts.existingKeys(feed.id, drafts.map((d) => d.key));
    const stored = await options.store.posts.newestPublishedAt(feed.id);
    // A stored date after the fetch time is a claim we cannot have seen come true: it counts as the fetch time.
    const newest = stored && new Date(Math.min(stored.getTime(), fetchedAt.getTime()));
    const announce = new Set<string>();
    for (const draft of drafts) {
      if (existing.has(draft.key)) continue;
      const stale = newest !== null && draft.publishedAt !== null && draft.publishedAt.getTime() < newest.getTime() - staleAfterMs;
      if (stale) {
        log.info({ feedUrl: feed.url, key: draft.key }, 'an old item appeared in the feed; stored as seen, not announced');
        continue;
      }
      announce.add(draft.key);
    }
    return announce;
  }
}

export type FeedPoller = ReturnType<typeof createFeedPoller>;

/** Substack publications are recognised by the feed's generator or their host. */
export function isSubstackFeed(feedUrl: string, generator: string | null, siteUrl: string | null): boolean {
  if (generator && /substack/i.test(generator)) return true;
  return [feedUrl, siteUrl].some((value) => {
    try {
      return value !== null && /(^|\.)substack\.com$/i.test(new URL(value).hostname);
    } catch {
      return false;
    }
  });
}

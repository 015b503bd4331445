import type { Post } from '../posts/post.ts';
import type { FeedRecord } from '../storage/feed-store.ts';
import type { PollOutcome } from '../feeds/feed-poller.ts';
import type { DeliveryRecord } from '../storage/delivery-store.ts';
import { redactUrl, redactUrlsIn } from '../feeds/url-secrets.ts';

const redactedText = (text: string | null) => (text === null ? null : redactUrlsIn(text));

/** The stable JSON shape of `inkwire posts --json`. */
export function postToJson(post: Post) {
  return {
    id: post.id,
    feedUrl: redactUrl(post.feedUrl),
    title: post.title,
    url: post.url,
    author: post.author,
    publishedAt: post.publishedAt?.toISOString() ?? null,
    /** The feed's own date when it lay in the future and `publishedAt` is the fetch time instead. */
    claimedPublishedAt: post.claimedPublishedAt?.toISOString() ?? null,
    subtitle: post.subtitle,
    tldr: post.tldr,
    previewOnly: post.previewOnly,
    readingMinutes: post.readingMinutes,
    wordCount: post.wordCount,
    coverImageUrl: post.coverImageUrl,
    papers: post.papers.map((p) => `${p.kind}:${p.id}`),
  };
}

export function feedToJson(feed: FeedRecord) {
  return {
    url: redactUrl(feed.url),
    title: feed.title,
    substack: feed.isSubstack,
    status: feedStatus(feed),
    posts: feed.postCount,
    lastPolledAt: feed.lastPolledAt?.toISOString() ?? null,
    lastSuccessAt: feed.lastSuccessAt?.toISOString() ?? null,
    lastErrorAt: feed.lastErrorAt?.toISOString() ?? null,
    lastError: redactedText(feed.lastError),
    lastErrorCode: feed.lastErrorCode,
    consecutiveFailures: feed.consecutiveFailures,
    itemsNotStored: feed.ingestSkipped,
    itemsNotStoredError: redactedText(feed.ingestError),
    itemsNotStoredAt: feed.ingestErrorAt?.toISOString() ?? null,
    nextPollAt: feed.nextPollAt?.toISOString() ?? null,
  };
}

/** `degraded`: the latest poll stored the feed but had to skip some of its items (see `ingestError`). */
export function feedStatus(feed: FeedRecord): 'never polled' | 'ok' | 'degraded' | 'failing' {
  if (feed.consecutiveFailures > 0) return 'failing';
  if (feed.ingestSkipped > 0) return 'degraded';
  return feed.lastSuccessAt ? 'ok' : 'never polled';
}

const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '—');

/** A healthy feed is due at the next cron tick (its stored time is its last poll); a failing one after its backoff. */
function nextPoll(feed: FeedRecord): string {
  const next = feed.nextPollAt;
  if (!next || next.getTime() <= (feed.lastPolledAt?.getTime() ?? 0) || next.getTime() <= 0) return 'at the next POLL_CRON tick';
  return `${iso(next)} (backing off)`;
}

export function formatFeeds(feeds: readonly FeedRecord[]): string {
  if (feeds.length === 0) return 'No feeds yet. Set FEED_URLS and run `inkwire poll --once` or `inkwire start`.';
  return feeds
    .map((feed) => {
      const status = feedStatus(feed);
      const lines = [
        `${redactUrl(feed.url)}${feed.title ? `  (${feed.title})` : ''}`,
        `  status: ${status}${status === 'failing' ? ` — ${feed.consecutiveFailures} consecutive failure(s)` : status === 'degraded' ? ` — ${feed.ingestSkipped} item(s) not stored` : ''}; posts stored: ${feed.postCount}`,
        `  last success: ${iso(feed.lastSuccessAt)}   last poll: ${iso(feed.lastPolledAt)}   next poll: ${nextPoll(feed)}`,
      ];
      if (feed.lastError) lines.push(`  last error (${iso(feed.lastErrorAt)}): [${feed.lastErrorCode}] ${redactUrlsIn(feed.lastError)}`);
      if (feed.ingestSkipped > 0) lines.push(`  items not stored at the last poll (${iso(feed.ingestErrorAt)}): ${redactedText(feed.ingestError) ?? feed.ingestSkipped}`);
      return lines.join('\n');
    })
    .join('\n\n');
}

export function formatPollOutcome(outcome: PollOutcome): string {
  switch (outcome.status) {
    case 'not-modified':
      return `${redactUrl(outcome.feedUrl)}: not modified (304)`;
    case 'failed':
      return `${redactUrl(outcome.feedUrl)}: FAILED [${outcome.error.code}] ${redactUrlsIn(outcome.error.message)}; next try after ${iso(outcome.nextPollAt)}`;
    case 'ok': {
      const silent = outcome.created.length - outcome.announced.length;
      return (
        `${redactUrl(outcome.feedUrl)}: ${outcome.items} item(s); ${outcome.created.length} new` +
        (outcome.firstSight && silent > 0 ? ` (first sight: stored as already seen)` : '') +
        `, ${outcome.announced.length} announced, ${outcome.updated.length} updated` +
        (outcome.failedItems.length > 0 ? `, ${outcome.failedItems.length} NOT STORED (${redactUrlsIn(outcome.failedItems[0]!.message)})` : '') +
        (outcome.futureDated > 0 ? `, ${outcome.futureDated} dated in the future (taken as fetched now)` : '')
      );
    }
  }
}

export function formatPostLine(post: Post): string {
  const date = post.publishedAt ? post.publishedAt.toISOString().slice(0, 10) : '????-??-??';
  const claimed = post.claimedPublishedAt ? `  [feed claims ${iso(post.claimedPublishedAt)}; future date, shown as fetched]` : '';
  return `${String(post.id).padStart(5)}  ${date}  ${post.title}${post.previewOnly ? '  [preview only]' : ''}${claimed}\n       ${post.url}`;
}

export function formatDeliveryLine(record: DeliveryRecord): string {
  const what = record.kind === 'digest' ? 'digest' : (record.postTitle ?? `post ${record.postId}`);
  const outcome =
    record.status === 'sent'
      ? `sent ${iso(record.sentAt)} as ${record.messageId}`
      : record.status === 'pending'
        ? `pending, attempt ${record.attempts + 1} due ${iso(record.nextAttemptAt)}${record.lastError ? ` (last error: ${redactUrlsIn(record.lastError)})` : ''}`
        : `${record.status}${record.lastError ? `: ${redactUrlsIn(record.lastError)}` : ''}`;
  return `${String(record.id).padStart(6)}  ${record.platform}:${record.channelId}  ${what} — ${outcome}`;
}

/** `inkwire deliveries --json`: the stored record, its last error with every URL in it redacted (a platform error can quote an endpoint). */
export function deliveryToJson(record: DeliveryRecord) {
  return { ...record, lastError: redactedText(record.lastError) };
}

import { destinationKeyOf } from '../delivery/delivery-plan.ts';
import type { Subscription, DeliveryMode } from '../delivery/subscription.ts';
import type { Post } from '../posts/post.ts';
import type { DeliveryRecord, DeliveryStatus } from './delivery-store.ts';
import type { FeedRecord } from './feed-store.ts';

/**
 * Rows as both stores select them — times as epoch milliseconds, flags as 0/1 — and the one mapping of
 * each to its record, so SQLite and PostgreSQL can never disagree on what a stored row means.
 */

export interface FeedRow {
  id: number;
  url: string;
  title: string | null;
  site_url: string | null;
  is_substack: number;
  etag: string | null;
  last_modified: string | null;
  bootstrapped: number;
  last_polled_at: number | null;
  last_success_at: number | null;
  last_error_at: number | null;
  last_error: string | null;
  last_error_code: string | null;
  consecutive_failures: number;
  next_poll_at: number | null;
  created_at: number;
  post_count: number;
  subscription_count: number;
  backfill_completed_at: number | null;
  backfill_error: string | null;
  added_by: string | null;
  owner_key: string;
  ingest_error: string | null;
  ingest_error_at: number | null;
  ingest_skipped: number;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function feedFromRow(row: FeedRow): FeedRecord {
  return {
    id: row.id,
    url: row.url,
    title: row.title,
    siteUrl: row.site_url,
    isSubstack: row.is_substack === 1,
    validators: { etag: row.etag, lastModified: row.last_modified },
    bootstrapped: row.bootstrapped === 1,
    lastPolledAt: date(row.last_polled_at),
    lastSuccessAt: date(row.last_success_at),
    lastErrorAt: date(row.last_error_at),
    lastError: row.last_error,
    lastErrorCode: row.last_error_code,
    consecutiveFailures: row.consecutive_failures,
    nextPollAt: date(row.next_poll_at),
    createdAt: new Date(row.created_at),
    postCount: row.post_count,
    subscriptionCount: row.subscription_count,
    backfillCompletedAt: date(row.backfill_completed_at),
    backfillError: row.backfill_error,
    addedBy: row.added_by,
    ownerKey: row.owner_key,
    ingestError: row.ingest_error,
    ingestErrorAt: date(row.ingest_error_at),
    ingestSkipped: row.ingest_skipped,
  };
}

export interface PostRow {
  id: number;
  feed_id: number;
  feed_url: string;
  feed_title: string | null;
  key: string;
  guid: string | null;
  url: string;
  title: string;
  subtitle: string | null;
  author: string | null;
  published_at: number | null;
  claimed_published_at: number | null;
  cover_image_url: string | null;
  html: string;
  text: string;
  word_count: number;
  reading_minutes: number;
  tldr: string | null;
  preview_only: number;
  first_seen_at: number;
  updated_at: number;
  announce: number;
  papers: string | null;
}

export function postFromRow(row: PostRow): Post {
  return {
    id: row.id,
    feedId: row.feed_id,
    feedUrl: row.feed_url,
    feedTitle: row.feed_title,
    key: row.key,
    guid: row.guid,
    url: row.url,
    title: row.title,
    subtitle: row.subtitle,
    author: row.author,
    publishedAt: row.published_at === null ? null : new Date(row.published_at),
    claimedPublishedAt: row.claimed_published_at === null ? null : new Date(row.claimed_published_at),
    coverImageUrl: row.cover_image_url,
    html: row.html,
    text: row.text,
    wordCount: row.word_count,
    readingMinutes: row.reading_minutes,
    tldr: row.tldr,
    previewOnly: row.preview_only === 1,
    // `kind:ref<US>title` entries separated by <RS> (control characters never appear in either).
    papers: (row.papers ?? '')
      .split('\u001e')
      .filter((entry) => entry.length > 0)
      .map((entry) => {
        const [ref = '', title = ''] = entry.split('\u001f');
        const [kind, ...rest] = ref.split(':');
        return { kind: kind === 'doi' ? 'doi' : 'arxiv', id: rest.join(':'), ...(title ? { title } : {}) } as const;
      }),
    firstSeenAt: new Date(row.first_seen_at),
    updatedAt: new Date(row.updated_at),
    announced: row.announce === 1,
  };
}

/** Oldest first; posts without a date go last, in arrival order. */
export function byPublishedAsc(a: Post, b: Post): number {
  const at = a.publishedAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
  const bt = b.publishedAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return at - bt || a.id - b.id;
}

export interface SubscriptionRow {
  id: number;
  kind: 'channel' | 'alert';
  platform: Subscription['platform'];
  workspace_id: string | null;
  channel_id: string;
  feed_id: number | null;
  feed_url: string | null;
  feed_title: string | null;
  keywords: string;
  mode: DeliveryMode;
  mention_id: string | null;
  thread: number;
  created_by: string;
  created_at: number;
  paused_at: number | null;
  paused_reason: string | null;
  last_delivery_at: number | null;
}

/** Where a subscription row's messages go (the outbox's destination key). */
export function destinationKeyOfRow(row: Pick<SubscriptionRow, 'kind' | 'platform' | 'channel_id'>): string {
  return destinationKeyOf({ kind: row.kind, platform: row.platform, channelId: row.channel_id });
}

export function subscriptionFromRow(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    kind: row.kind,
    platform: row.platform,
    workspaceId: row.workspace_id,
    channelId: row.channel_id,
    feedId: row.feed_id,
    feedUrl: row.feed_url,
    feedTitle: row.feed_title,
    keywords: JSON.parse(row.keywords) as string[],
    mode: row.mode,
    mentionId: row.mention_id,
    thread: row.thread === 1,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    pausedAt: row.paused_at === null ? null : new Date(row.paused_at),
    pausedReason: row.paused_reason,
    lastDeliveryAt: row.last_delivery_at === null ? null : new Date(row.last_delivery_at),
  };
}

/** A delivery with its subscription's place and its post's title, as both stores select it (times in epoch ms). */
export interface DeliveryRecordRow {
  id: number;
  kind: 'post' | 'digest';
  subscription_id: number;
  subscription_kind: 'channel' | 'alert';
  platform: string;
  workspace_id: string | null;
  channel_id: string;
  post_id: number | null;
  post_title: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  message_id: string | null;
  sent_at: number | null;
  last_error: string | null;
  created_at: number;
}

export function deliveryRecordFromRow(row: DeliveryRecordRow): DeliveryRecord {
  return {
    id: row.id,
    kind: row.kind,
    subscriptionId: row.subscription_id,
    subscriptionKind: row.subscription_kind,
    platform: row.platform,
    workspaceId: row.workspace_id,
    channelId: row.channel_id,
    postId: row.post_id,
    postTitle: row.post_title,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    messageId: row.message_id,
    sentAt: row.sent_at === null ? null : new Date(row.sent_at),
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
  };
}

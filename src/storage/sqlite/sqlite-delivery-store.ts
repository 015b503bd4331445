import type { Database } from 'better-sqlite3';
import { createKeywordMatcher } from '../../delivery/keyword-filter.ts';
import type { Post } from '../../posts/post.ts';
import type { ClaimedDelivery, DeliveryRecord, DeliveryStatus, DeliveryStore } from '../delivery-store.ts';
import { postFromRow, SELECT_POST, type PostRow } from './sqlite-post-store.ts';
import { SELECT_SUBSCRIPTION, subscriptionFromRow, type SubscriptionRow } from './sqlite-subscription-store.ts';

export function destinationKey(row: { platform: string; channel_id: string; kind: string }): string {
  return row.kind === 'alert' ? `${row.platform}:dm:${row.channel_id}` : `${row.platform}:${row.channel_id}`;
}

/**
 * Writes the outbox rows for a newly stored post, inside the caller's transaction: one delivery per
 * matching instant subscription and alert, one digest-queue row per matching digest subscription.
 */
export function writeOutboxForPost(db: Database, post: Post, at: Date): void {
  const subscriptions = db
    .prepare(
      `SELECT id, kind, platform, channel_id, keywords, mode FROM subscriptions
       WHERE paused_at IS NULL AND ((kind = 'channel' AND feed_id = ?) OR kind = 'alert')`,
    )
    .all(post.feedId) as Array<{ id: number; kind: string; platform: string; channel_id: string; keywords: string; mode: string }>;
  if (subscriptions.length === 0) return;
  const matcher = createKeywordMatcher(post);
  const insertDelivery = db.prepare(`
    INSERT OR IGNORE INTO deliveries (subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
    VALUES (?, 'post', ?, ?, ?, ?, 'pending', ?, ?)`);
  const queueDigest = db.prepare('INSERT OR IGNORE INTO digest_queue (subscription_id, post_id, queued_at) VALUES (?, ?, ?)');
  const seq = post.publishedAt?.getTime() ?? at.getTime();
  for (const sub of subscriptions) {
    if (!matcher.matches(JSON.parse(sub.keywords) as string[])) continue;
    if (sub.mode === 'instant') {
      insertDelivery.run(sub.id, post.id, destinationKey(sub), `p${post.id}-s${sub.id}`, seq, at.getTime(), at.getTime());
    } else {
      queueDigest.run(sub.id, post.id, at.getTime());
    }
  }
}

interface DeliveryRow {
  id: number;
  kind: 'post' | 'digest';
  subscription_id: number;
  post_id: number | null;
  idempotency_key: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  message_id: string | null;
  sent_at: number | null;
  last_error: string | null;
  created_at: number;
}

export function createSqliteDeliveryStore(db: Database): DeliveryStore {
  // A destination's head is its oldest open delivery (of an active subscription). Only heads are
  // claimed, so posts reach a channel in order and one channel has at most one send in flight. Each
  // query walks an index from the most overdue rows and stops at the limit: cost grows with the batch,
  // not with the size of the outbox.
  const notBehindAnother = `NOT EXISTS (
      SELECT 1 FROM deliveries d2 JOIN subscriptions s2 ON s2.id = d2.subscription_id
      WHERE d2.destination_key = d.destination_key AND d2.status IN ('pending', 'sending') AND s2.paused_at IS NULL
        AND (d2.seq < d.seq OR (d2.seq = d.seq AND d2.id < d.id)))`;
  const dueHeads = db.prepare(`
    SELECT d.id, d.destination_key FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND s.paused_at IS NULL AND s.platform = @platform
      AND ${notBehindAnother}
    ORDER BY d.next_attempt_at, d.id
    LIMIT @scan`);
  const expiredHeads = db.prepare(`
    SELECT d.id, d.destination_key FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
    WHERE d.status = 'sending' AND d.lease_until <= @now AND s.paused_at IS NULL AND s.platform = @platform
      AND ${notBehindAnother}
    ORDER BY d.lease_until
    LIMIT @scan`);
  const claim = db.prepare(`
    UPDATE deliveries SET status = 'sending', lease_until = @lease, claimed_by = @owner, attempts = attempts + 1
    WHERE id = @id AND (status = 'pending' OR (status = 'sending' AND lease_until <= @now))`);
  const byId = db.prepare('SELECT * FROM deliveries WHERE id = ?');
  const subById = db.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = ?`);
  const postById = db.prepare(`${SELECT_POST} WHERE p.id = ?`);
  const digestPosts = db.prepare(`${SELECT_POST} WHERE p.id IN (SELECT post_id FROM digest_items WHERE delivery_id = ?) ORDER BY p.published_at, p.id`);
  const completeStmt = db.prepare(`UPDATE deliveries SET status = 'sent', message_id = @messageId, sent_at = @at, lease_until = NULL, last_error = NULL WHERE id = @id`);
  const touchSub = db.prepare('UPDATE subscriptions SET last_delivery_at = @at WHERE id = (SELECT subscription_id FROM deliveries WHERE id = @id)');
  const retryStmt = db.prepare(`UPDATE deliveries SET status = 'pending', lease_until = NULL, last_error = @error, next_attempt_at = @next WHERE id = @id AND status = 'sending'`);
  const failStmt = db.prepare(`UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = @error WHERE id = @id`);

  const claimDue = db.transaction((now: number, limit: number, leaseMs: number, owner: string, platform: string, exclude: ReadonlySet<string>) => {
    const params = { now, platform, scan: limit + exclude.size };
    const candidates = [...expiredHeads.all(params), ...dueHeads.all(params)] as Array<{ id: number; destination_key: string }>;
    const claimed: number[] = [];
    for (const candidate of candidates) {
      if (claimed.length >= limit) break;
      if (exclude.has(candidate.destination_key)) continue;
      if (claim.run({ id: candidate.id, lease: now + leaseMs, owner, now }).changes === 1) claimed.push(candidate.id);
    }
    return claimed.map((id): ClaimedDelivery => {
      const row = byId.get(id) as DeliveryRow;
      const subscription = subscriptionFromRow(subById.get(row.subscription_id) as SubscriptionRow);
      const posts = row.kind === 'digest'
        ? (digestPosts.all(id) as PostRow[]).map(postFromRow)
        : [postFromRow(postById.get(row.post_id) as PostRow)];
      return { id, kind: row.kind, subscription, posts, idempotencyKey: row.idempotency_key, attempts: row.attempts };
    });
  });

  const complete = db.transaction((id: number, messageId: string, at: number) => {
    completeStmt.run({ id, messageId, at });
    touchSub.run({ id, at });
  });

  const failAndPause = db.transaction((id: number, error: string, reason: string, at: number) => {
    failStmt.run({ id, error });
    const sub = db.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = (SELECT subscription_id FROM deliveries WHERE id = ?)`).get(id) as SubscriptionRow | undefined;
    if (!sub) return;
    db.prepare('UPDATE subscriptions SET paused_at = ?, paused_reason = ? WHERE id = ? AND paused_at IS NULL').run(at, reason, sub.id);
    if (sub.workspace_id) {
      const where = sub.kind === 'alert' ? 'a personal alert' : `channel ${sub.channel_id}`;
      db.prepare('INSERT INTO notices (platform, workspace_id, message, created_at) VALUES (?, ?, ?, ?)').run(
        sub.platform,
        sub.workspace_id,
        `Inkwire paused delivery to ${where}${sub.feed_title ? ` (${sub.feed_title})` : ''}: ${reason}. Fix that, then run /subscribe there again to resume.`,
        at,
      );
    }
  });

  const enqueue = db.prepare(`
    INSERT OR IGNORE INTO deliveries (subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
    SELECT s.id, 'post', p.id, CASE s.kind WHEN 'alert' THEN s.platform || ':dm:' || s.channel_id ELSE s.platform || ':' || s.channel_id END,
           'p' || p.id || '-s' || s.id, coalesce(p.published_at, @at), 'pending', @at, @at
    FROM subscriptions s, posts p WHERE s.id = @sub AND p.id = @post`);

  const bundle = db.transaction((mode: string, period: string, at: number) => {
    const subs = db
      .prepare(`SELECT DISTINCT s.id, s.kind, s.platform, s.channel_id FROM subscriptions s JOIN digest_queue q ON q.subscription_id = s.id WHERE s.mode = ? AND s.paused_at IS NULL`)
      .all(mode) as Array<{ id: number; kind: string; platform: string; channel_id: string }>;
    let made = 0;
    for (const sub of subs) {
      const result = db
        .prepare(`INSERT OR IGNORE INTO deliveries (subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
                  VALUES (?, 'digest', NULL, ?, ?, ?, 'pending', ?, ?)`)
        .run(sub.id, destinationKey(sub), `d${sub.id}-${period}`, at, at, at);
      if (result.changes === 0) continue; // this period's digest already exists
      const deliveryId = Number(result.lastInsertRowid);
      db.prepare('INSERT INTO digest_items (delivery_id, post_id) SELECT ?, post_id FROM digest_queue WHERE subscription_id = ?').run(deliveryId, sub.id);
      db.prepare('DELETE FROM digest_queue WHERE subscription_id = ?').run(sub.id);
      made++;
    }
    return made;
  });

  const recordSelect = `
    SELECT d.*, s.platform, s.workspace_id, s.channel_id, p.title AS post_title
    FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id LEFT JOIN posts p ON p.id = d.post_id`;
  const toRecord = (row: DeliveryRow & { platform: string; workspace_id: string | null; channel_id: string; post_title: string | null }): DeliveryRecord => ({
    id: row.id,
    kind: row.kind,
    subscriptionId: row.subscription_id,
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
  });

  return {
    async claimDue({ now, limit, leaseMs, owner, platform, excludeDestinations }) {
      return claimDue.immediate(now.getTime(), limit, leaseMs, owner, platform, excludeDestinations ?? new Set());
    },
    async complete(id, { messageId, at }) {
      complete(id, messageId, at.getTime());
    },
    async retryLater(id, { error, nextAttemptAt }) {
      retryStmt.run({ id, error, next: nextAttemptAt.getTime() });
    },
    async failAndPause(id, { error, reason, at }) {
      failAndPause.immediate(id, error, reason, at.getTime());
    },
    async fail(id, { error }) {
      failStmt.run({ id, error });
    },
    async enqueuePost(subscriptionId, postId, at) {
      const result = enqueue.run({ sub: subscriptionId, post: postId, at: at.getTime() });
      return result.changes === 1 ? Number(result.lastInsertRowid) : null;
    },
    async bundleDigests(mode, period, at) {
      return bundle.immediate(mode, period, at.getTime());
    },
    async list({ status, limit }) {
      const rows = status
        ? db.prepare(`${recordSelect} WHERE d.status = ? ORDER BY d.id DESC LIMIT ?`).all(status, limit)
        : db.prepare(`${recordSelect} ORDER BY d.id DESC LIMIT ?`).all(limit);
      return (rows as Parameters<typeof toRecord>[0][]).map(toRecord);
    },
    async forPost(postId) {
      return (db.prepare(`${recordSelect} WHERE d.post_id = ? OR d.id IN (SELECT delivery_id FROM digest_items WHERE post_id = ?) ORDER BY d.id`).all(postId, postId) as Parameters<typeof toRecord>[0][]).map(toRecord);
    },
    async nextDueAt() {
      const row = db.prepare(`SELECT min(next_attempt_at) AS at FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id WHERE d.status = 'pending' AND s.paused_at IS NULL`).get() as { at: number | null };
      return row.at === null ? null : new Date(row.at);
    },
  };
}

import type { Database } from 'better-sqlite3';
import { matchedLabel, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import type { Post } from '../../posts/post.ts';

/**
 * Writes the outbox rows for a newly stored post, inside the caller's transaction, as the core's planner
 * decides: one delivery per matching instant channel subscription, one per person whose alerts match
 * (carried by one of them, the keywords it matched kept in the row's label for the message to name; a
 * paused subscription's row waits, held, until it resumes), one digest-queue row per matching digest
 * subscription. The statements are prepared once per database, not once per post.
 */
/**
 * Whether alert `s` may see feed `@feed`, by the tenancy rule (feed-visibility.ts, ADR 005): a feed the
 * operator configured (added_by IS NULL), one its own server added, or one a channel of its own server
 * subscribes to. One rule for the outbox writer and the alert handover.
 */
export const SQLITE_ALERT_SEES_FEED = `(
  coalesce((SELECT f.added_by IS NULL OR f.added_by = s.platform || ':' || s.workspace_id FROM feeds f WHERE f.id = @feed), 0)
  OR (s.workspace_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM subscriptions c WHERE c.kind = 'channel' AND c.feed_id = @feed AND c.platform = s.platform AND c.workspace_id = s.workspace_id)))`;

export function createOutboxWriter(db: Database, planDeliveries: DeliveryPlanner): (post: Post, at: Date) => void {
  const candidates = db.prepare(`
      SELECT s.id, s.kind, s.platform, s.channel_id, s.feed_id, s.keywords, s.mode, s.paused_at IS NOT NULL AS paused,
             CASE WHEN s.kind = 'alert' THEN ${SQLITE_ALERT_SEES_FEED} ELSE 1 END AS visible
      FROM subscriptions s WHERE (s.kind = 'channel' AND s.feed_id = @feed) OR s.kind = 'alert'`);
  const insertDelivery = db.prepare(`
    INSERT OR IGNORE INTO deliveries (subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at, label)
    VALUES (?, 'post', ?, ?, ?, ?, 'pending', ?, ?, ?)`);
  const queueDigest = db.prepare('INSERT OR IGNORE INTO digest_queue (subscription_id, post_id, queued_at) VALUES (?, ?, ?)');
  return (post, at) => {
    const rows = candidates.all({ feed: post.feedId }) as Array<{ id: number; kind: 'channel' | 'alert'; platform: 'console' | 'discord' | 'slack'; channel_id: string; feed_id: number | null; keywords: string; mode: 'instant' | 'daily' | 'weekly'; paused: number; visible: number }>;
    if (rows.length === 0) return;
    const plan = planDeliveries(
      post,
      rows.map((r) => ({ id: r.id, kind: r.kind, platform: r.platform, channelId: r.channel_id, feedId: r.feed_id, keywords: JSON.parse(r.keywords) as string[], mode: r.mode, paused: r.paused === 1, feedVisible: r.visible === 1 })),
    );
    const seq = post.publishedAt?.getTime() ?? at.getTime();
    for (const d of plan.deliveries) insertDelivery.run(d.subscriptionId, post.id, d.destinationKey, d.idempotencyKey, seq, at.getTime(), at.getTime(), matchedLabel(d.matched));
    for (const subscriptionId of plan.digests) queueDigest.run(subscriptionId, post.id, at.getTime());
  };
}

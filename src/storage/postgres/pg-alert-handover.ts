import type { PoolClient } from 'pg';
import { matchedLabel, planDeliveries as corePlanner, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { pgAlertSeesFeed } from './pg-post-store.ts';

/**
 * Before alerts are deleted, re-plans the unsent direct messages of their owners (SQLite:
 * `createAlertHandover`): the core's planner, over the person's remaining alerts, picks the carrier and what
 * the message names, so removing the carrying alert does not take the post from the person's other
 * matching alerts; a message no remaining alert matches goes with the deleted alert. Run it in the deleting
 * transaction.
 */
export async function handOverAlertDeliveries(client: PoolClient, deletingIds: readonly number[], planDeliveries: DeliveryPlanner = corePlanner): Promise<void> {
  if (deletingIds.length === 0) return;
  const { rows: carried } = await client.query<{ id: number; post_id: number; platform: 'console' | 'discord' | 'slack'; channel_id: string; feed_id: number; title: string; subtitle: string | null; text: string }>(
    `SELECT d.id, d.post_id, s.platform, s.channel_id, p.feed_id, p.title, p.subtitle, p.text
     FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN posts p ON p.id = d.post_id
     WHERE s.kind = 'alert' AND d.kind = 'post' AND d.status IN ('pending', 'sending')
       AND EXISTS (SELECT 1 FROM subscriptions x WHERE x.id = ANY($1::bigint[]) AND x.kind = 'alert' AND x.platform = s.platform AND x.channel_id = s.channel_id)
     ORDER BY d.id FOR UPDATE OF d`,
    [deletingIds],
  );
  for (const row of carried) {
    // Which alerts may see the feed: the same rule as the outbox writer (pg-post-store.ts).
    const { rows: remaining } = await client.query<{ id: number; keywords: string; paused: boolean; visible: boolean }>(
      `SELECT s.id, s.keywords, s.paused_at IS NOT NULL AS paused, ${pgAlertSeesFeed('$3')} AS visible
       FROM subscriptions s WHERE s.kind = 'alert' AND s.platform = $1 AND s.channel_id = $2 AND NOT (s.id = ANY($4::bigint[]))`,
      [row.platform, row.channel_id, row.feed_id, deletingIds],
    );
    const plan = planDeliveries(
      { id: row.post_id, feedId: row.feed_id, title: row.title, subtitle: row.subtitle, text: row.text },
      remaining.map((a) => ({
        id: a.id, kind: 'alert', platform: row.platform, channelId: row.channel_id, feedId: null, keywords: JSON.parse(a.keywords) as string[],
        mode: 'instant', paused: a.paused, feedVisible: a.visible,
      })),
    );
    const next = plan.deliveries[0]; // one person: at most one delivery
    // The row keeps its idempotency key: a send already attempted under it is still recognised as a repeat.
    if (next) await client.query('UPDATE deliveries SET subscription_id = $2, label = $3 WHERE id = $1', [row.id, next.subscriptionId, matchedLabel(next.matched)]);
  }
}

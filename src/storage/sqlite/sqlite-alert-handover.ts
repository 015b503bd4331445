import type { Database } from 'better-sqlite3';
import { matchedLabel, planDeliveries as corePlanner, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { SQLITE_ALERT_SEES_FEED } from './sqlite-outbox-writer.ts';

interface CarriedRow {
  id: number;
  post_id: number;
  platform: 'console' | 'discord' | 'slack';
  channel_id: string;
  feed_id: number;
  title: string;
  subtitle: string | null;
  text: string;
}

interface AlertRow {
  id: number;
  platform: 'console' | 'discord' | 'slack';
  channel_id: string;
  keywords: string;
  paused: number;
  visible: number;
}

/**
 * Before alerts are deleted, re-plans the unsent direct messages of their owners: a person gets one message
 * per post, carried by one of their matching alerts, so removing that alert must not take the post from
 * their other alerts that matched it too, and a message should not name a keyword they just removed. The
 * core's planner, over the alerts that remain, picks the carrier and what the message names; a message no
 * remaining alert matches goes with the deleted alert. Run it inside the deleting transaction.
 */
export function createAlertHandover(db: Database, planDeliveries: DeliveryPlanner = corePlanner): (deletingIds: readonly number[]) => void {
  const carried = db.prepare(`
    SELECT d.id, d.post_id, s.platform, s.channel_id, p.feed_id, p.title, p.subtitle, p.text
    FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN posts p ON p.id = d.post_id
    WHERE s.kind = 'alert' AND d.kind = 'post' AND d.status IN ('pending', 'sending')
      AND EXISTS (SELECT 1 FROM subscriptions x WHERE x.id IN (SELECT value FROM json_each(?))
                  AND x.kind = 'alert' AND x.platform = s.platform AND x.channel_id = s.channel_id)`);
  const alertsOf = db.prepare(`
    SELECT s.id, s.platform, s.channel_id, s.keywords, s.paused_at IS NOT NULL AS paused, ${SQLITE_ALERT_SEES_FEED} AS visible
    FROM subscriptions s WHERE s.kind = 'alert' AND s.platform = @platform AND s.channel_id = @user`);
  // The row keeps its idempotency key: a send already attempted under it is still recognised as a repeat.
  const move = db.prepare('UPDATE deliveries SET subscription_id = ?, label = ? WHERE id = ?');
  return (deletingIds) => {
    if (deletingIds.length === 0) return;
    const deleting = new Set(deletingIds);
    for (const row of carried.all(JSON.stringify(deletingIds)) as CarriedRow[]) {
      const remaining = (alertsOf.all({ platform: row.platform, user: row.channel_id, feed: row.feed_id }) as AlertRow[]).filter((a) => !deleting.has(a.id));
      const plan = planDeliveries(
        { id: row.post_id, feedId: row.feed_id, title: row.title, subtitle: row.subtitle, text: row.text },
        remaining.map((a) => ({
          id: a.id, kind: 'alert', platform: a.platform, channelId: a.channel_id, feedId: null, keywords: JSON.parse(a.keywords) as string[],
          mode: 'instant', paused: a.paused === 1, feedVisible: a.visible === 1,
        })),
      );
      const next = plan.deliveries[0]; // one person: at most one delivery
      if (next) move.run(next.subscriptionId, matchedLabel(next.matched), row.id);
    }
  };
}

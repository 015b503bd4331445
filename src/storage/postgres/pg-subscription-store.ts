import type { Pool } from 'pg';
import type { SubscriptionStore } from '../subscription-store.ts';
import { subscriptionFromRow, type SubscriptionRow } from '../store-rows.ts';
import { handOverAlertDeliveries } from './pg-alert-handover.ts';
import { inTransaction, ms } from './pg-sql.ts';

/** The columns of a subscription as `SubscriptionRow`, so one mapper serves both stores. */
export const SELECT_SUBSCRIPTION = `
  SELECT s.id, s.kind, s.platform, s.workspace_id, s.channel_id, s.feed_id, f.url AS feed_url, f.title AS feed_title,
         s.keywords, s.mode, s.mention_id, s.thread::int AS thread, s.created_by, ${ms('s.created_at', 'created_at')},
         ${ms('s.paused_at', 'paused_at')}, s.paused_reason, ${ms('s.last_delivery_at', 'last_delivery_at')}
  FROM subscriptions s LEFT JOIN feeds f ON f.id = s.feed_id`;

export function createPostgresSubscriptionStore(pool: Pool): SubscriptionStore {
  const list = async (where: string, params: unknown[]) =>
    (await pool.query<SubscriptionRow>(`${SELECT_SUBSCRIPTION} WHERE ${where} ORDER BY s.created_at, s.id`, params)).rows.map(subscriptionFromRow);
  // Its outbox rows and digest queue go with it (ON DELETE CASCADE): nothing pending is sent afterwards.
  const deleteWhere = async (where: string, params: unknown[]) => (await pool.query(`DELETE FROM subscriptions WHERE ${where}`, params)).rowCount ?? 0;
  const byId = async (id: number) => (await pool.query<SubscriptionRow>(`${SELECT_SUBSCRIPTION} WHERE s.id = $1`, [id])).rows[0];

  return {
    async create(input) {
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO subscriptions (kind, platform, workspace_id, channel_id, feed_id, keywords, mode, mention_id, thread, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id`,
        [input.kind, input.platform, input.workspaceId, input.channelId, input.feedId, JSON.stringify([...input.keywords].sort()), input.mode, input.mentionId, input.thread ?? false, input.createdBy, input.createdAt],
      );
      if (rows.length === 0) return null;
      return subscriptionFromRow((await byId(rows[0]!.id))!);
    },
    async get(id) {
      const row = await byId(id);
      return row ? subscriptionFromRow(row) : null;
    },
    listForChannel: (platform, channelId) => list(`s.kind = 'channel' AND s.platform = $1 AND s.channel_id = $2`, [platform, channelId]),
    listForWorkspace: (platform, workspaceId) => list(`s.kind = 'channel' AND s.platform = $1 AND s.workspace_id = $2`, [platform, workspaceId]),
    listAlerts: (platform, userId) => list(`s.kind = 'alert' AND s.platform = $1 AND s.channel_id = $2`, [platform, userId]),
    async countForWorkspace(platform, workspaceId) {
      return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM subscriptions WHERE kind = 'channel' AND platform = $1 AND workspace_id = $2`, [platform, workspaceId])).rows[0]!.n;
    },
    delete: (ids) =>
      ids.length === 0
        ? Promise.resolve(0)
        : inTransaction(pool, async (client) => {
          // A direct message one of them carries for the person's other matching alerts stays, carried by one of those.
          await handOverAlertDeliveries(client, ids);
          return (await client.query('DELETE FROM subscriptions WHERE id = ANY($1::bigint[])', [ids])).rowCount ?? 0;
        }),
    deleteForChannel: (platform, channelId) => deleteWhere(`kind = 'channel' AND platform = $1 AND channel_id = $2`, [platform, channelId]),
    deleteForWorkspace: (platform, workspaceId) => deleteWhere('platform = $1 AND workspace_id = $2', [platform, workspaceId]),
    async update(id, changes) {
      await pool.query('UPDATE subscriptions SET keywords = $2, mode = $3, mention_id = $4, thread = coalesce($5, thread) WHERE id = $1', [
        id, JSON.stringify([...changes.keywords].sort()), changes.mode, changes.mentionId, changes.thread ?? null,
      ]);
    },
    async resume(id) {
      await pool.query('UPDATE subscriptions SET paused_at = NULL, paused_reason = NULL WHERE id = $1', [id]);
    },
    async addNotice(platform, workspaceId, message, at) {
      await pool.query('INSERT INTO notices (platform, workspace_id, message, created_at) VALUES ($1, $2, $3, $4)', [platform, workspaceId, message, at]);
    },
    async takeNotices(platform, workspaceId, at) {
      // Marked seen as they are taken, in one statement: two instances never show one notice twice.
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ id: number; message: string }>(
          `UPDATE notices SET shown_at = $3 WHERE id IN (
             SELECT id FROM notices WHERE platform = $1 AND workspace_id = $2 AND shown_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED)
           RETURNING id, message`,
          [platform, workspaceId, at],
        );
        return rows.sort((a, b) => a.id - b.id).map((r) => r.message);
      });
    },
  };
}

import type { Database } from 'better-sqlite3';
import type { SubscriptionStore } from '../subscription-store.ts';
import { subscriptionFromRow, type SubscriptionRow } from '../store-rows.ts';
import { createAlertHandover } from './sqlite-alert-handover.ts';

export const SELECT_SUBSCRIPTION = `
  SELECT s.*, f.url AS feed_url, f.title AS feed_title
  FROM subscriptions s LEFT JOIN feeds f ON f.id = s.feed_id`;

export function createSqliteSubscriptionStore(db: Database): SubscriptionStore {
  const insert = db.prepare(`
    INSERT INTO subscriptions (kind, platform, workspace_id, channel_id, feed_id, keywords, mode, mention_id, thread, created_by, created_at)
    VALUES (@kind, @platform, @workspaceId, @channelId, @feedId, @keywords, @mode, @mentionId, @thread, @createdBy, @createdAt)
    ON CONFLICT DO NOTHING`);
  const byId = db.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = ?`);
  const remove = db.prepare('DELETE FROM subscriptions WHERE id = ?');
  const list = (where: string, ...params: unknown[]) =>
    (db.prepare(`${SELECT_SUBSCRIPTION} WHERE ${where} ORDER BY s.created_at, s.id`).all(...params) as SubscriptionRow[]).map(subscriptionFromRow);
  const handOver = createAlertHandover(db);
  const deleteMany = db.transaction((ids: readonly number[]) => {
    let removed = 0;
    // A direct message one of them carries for the person's other matching alerts stays, carried by one of those.
    handOver(ids);
    // Its outbox rows and digest queue go with it (ON DELETE CASCADE): nothing pending is sent afterwards.
    for (const id of ids) removed += remove.run(id).changes;
    return removed;
  });
  const idsWhere = (where: string, ...params: unknown[]) =>
    (db.prepare(`SELECT id FROM subscriptions WHERE ${where}`).all(...params) as Array<{ id: number }>).map((r) => r.id);
  const takeNotices = db.transaction((platform: string, workspaceId: string, at: number) => {
    const rows = db
      .prepare('SELECT id, message FROM notices WHERE platform = ? AND workspace_id = ? AND shown_at IS NULL ORDER BY id')
      .all(platform, workspaceId) as Array<{ id: number; message: string }>;
    const mark = db.prepare('UPDATE notices SET shown_at = ? WHERE id = ?');
    for (const row of rows) mark.run(at, row.id);
    return rows.map((r) => r.message);
  });

  return {
    async create(input) {
      const result = insert.run({
        ...input,
        keywords: JSON.stringify([...input.keywords].sort()),
        thread: input.thread ? 1 : 0,
        createdAt: input.createdAt.getTime(),
      });
      if (result.changes === 0) return null;
      return subscriptionFromRow(byId.get(Number(result.lastInsertRowid)) as SubscriptionRow);
    },
    async get(id) {
      const row = byId.get(id) as SubscriptionRow | undefined;
      return row ? subscriptionFromRow(row) : null;
    },
    async listForChannel(platform, channelId) {
      return list(`s.kind = 'channel' AND s.platform = ? AND s.channel_id = ?`, platform, channelId);
    },
    async listForWorkspace(platform, workspaceId) {
      return list(`s.kind = 'channel' AND s.platform = ? AND s.workspace_id = ?`, platform, workspaceId);
    },
    async listAlerts(platform, userId) {
      return list(`s.kind = 'alert' AND s.platform = ? AND s.channel_id = ?`, platform, userId);
    },
    async countForWorkspace(platform, workspaceId) {
      return (db.prepare(`SELECT count(*) AS n FROM subscriptions WHERE kind = 'channel' AND platform = ? AND workspace_id = ?`).get(platform, workspaceId) as { n: number }).n;
    },
    async delete(ids) {
      return deleteMany(ids);
    },
    async deleteForChannel(platform, channelId) {
      return deleteMany(idsWhere(`kind = 'channel' AND platform = ? AND channel_id = ?`, platform, channelId));
    },
    async deleteForWorkspace(platform, workspaceId) {
      return deleteMany(idsWhere('platform = ? AND workspace_id = ?', platform, workspaceId));
    },
    async update(id, changes) {
      db.prepare('UPDATE subscriptions SET keywords = ?, mode = ?, mention_id = ?, thread = coalesce(?, thread) WHERE id = ?').run(
        JSON.stringify([...changes.keywords].sort()),
        changes.mode,
        changes.mentionId,
        changes.thread === undefined ? null : changes.thread ? 1 : 0,
        id,
      );
    },
    async resume(id) {
      db.prepare('UPDATE subscriptions SET paused_at = NULL, paused_reason = NULL WHERE id = ?').run(id);
    },
    async addNotice(platform, workspaceId, message, at) {
      db.prepare('INSERT INTO notices (platform, workspace_id, message, created_at) VALUES (?, ?, ?, ?)').run(platform, workspaceId, message, at.getTime());
    },
    async takeNotices(platform, workspaceId, at) {
      return takeNotices(platform, workspaceId, at.getTime());
    },
  };
}

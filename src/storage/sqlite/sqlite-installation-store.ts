import type { Database } from 'better-sqlite3';
import type { InstallationStore } from '../installation-store.ts';

export function createSqliteInstallationStore(db: Database): InstallationStore {
  return {
    async save(platform, workspaceId, data, at) {
      db.prepare(
        `INSERT INTO installations (platform, workspace_id, data, installed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id) DO UPDATE SET data = excluded.data, installed_at = excluded.installed_at`,
      ).run(platform, workspaceId, data, at.getTime());
    },
    async get(platform, workspaceId) {
      const row = db.prepare('SELECT data FROM installations WHERE platform = ? AND workspace_id = ?').get(platform, workspaceId) as { data: string } | undefined;
      return row?.data ?? null;
    },
    async delete(platform, workspaceId) {
      return db.prepare('DELETE FROM installations WHERE platform = ? AND workspace_id = ?').run(platform, workspaceId).changes > 0;
    },
    async count(platform) {
      return (db.prepare('SELECT count(*) AS n FROM installations WHERE platform = ?').get(platform) as { n: number }).n;
    },
  };
}

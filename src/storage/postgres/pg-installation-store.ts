import type { Pool } from 'pg';
import type { InstallationStore } from '../installation-store.ts';

export function createPostgresInstallationStore(pool: Pool): InstallationStore {
  return {
    async save(platform, workspaceId, data, at) {
      await pool.query(
        `INSERT INTO installations (platform, workspace_id, data, installed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (platform, workspace_id) DO UPDATE SET data = excluded.data, installed_at = excluded.installed_at`,
        [platform, workspaceId, data, at],
      );
    },
    async get(platform, workspaceId) {
      return (await pool.query<{ data: string }>('SELECT data FROM installations WHERE platform = $1 AND workspace_id = $2', [platform, workspaceId])).rows[0]?.data ?? null;
    },
    async delete(platform, workspaceId) {
      return ((await pool.query('DELETE FROM installations WHERE platform = $1 AND workspace_id = $2', [platform, workspaceId])).rowCount ?? 0) > 0;
    },
    async count(platform) {
      return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM installations WHERE platform = $1', [platform])).rows[0]!.n;
    },
  };
}

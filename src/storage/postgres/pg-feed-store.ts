import type { Pool } from 'pg';
import type { FeedFailure, FeedStore } from '../feed-store.ts';
import { feedFromRow, type FeedRow } from '../store-rows.ts';
import { ms } from './pg-sql.ts';
import { storableOrNull } from '../../posts/stored-text.ts';
import { tenantKey } from '../../feeds/feed-visibility.ts';

/** The columns of a feed as `FeedRow` (epoch milliseconds, 0/1 flags), so one mapper serves both stores. */
export const SELECT_FEED = `
  SELECT f.id, f.url, f.title, f.site_url, f.is_substack::int AS is_substack, f.etag, f.last_modified,
         f.bootstrapped::int AS bootstrapped, ${ms('f.last_polled_at', 'last_polled_at')}, ${ms('f.last_success_at', 'last_success_at')},
         ${ms('f.last_error_at', 'last_error_at')}, f.last_error, f.last_error_code, f.consecutive_failures,
         ${ms('f.next_poll_at', 'next_poll_at')}, ${ms('f.created_at', 'created_at')},
         (SELECT count(*) FROM posts p WHERE p.feed_id = f.id)::int AS post_count,
         (SELECT count(*) FROM subscriptions s WHERE s.feed_id = f.id)::int AS subscription_count,
         ${ms('f.backfill_completed_at', 'backfill_completed_at')}, f.backfill_error, f.added_by, f.owner_key,
         f.ingest_skipped, f.ingest_error, ${ms('f.ingest_error_at', 'ingest_error_at')}
  FROM feeds f`;

export function createPostgresFeedStore(pool: Pool): FeedStore {
  const one = async (url: string, owner: string) => (await pool.query<FeedRow>(`${SELECT_FEED} WHERE f.url = $1 AND f.owner_key = $2`, [url, owner])).rows[0];
  return {
    async ensure(url, at, options) {
      const owner = options?.ownerKey ?? '';
      await pool.query('INSERT INTO feeds (url, owner_key, created_at, added_by) VALUES ($1, $2, $3, $4) ON CONFLICT (url, owner_key) DO NOTHING', [url, owner, at, options?.addedBy ?? null]);
      return feedFromRow((await one(url, owner))!);
    },
    async get(url, ownerKey = '') {
      const row = await one(url, ownerKey);
      return row ? feedFromRow(row) : null;
    },
    async list() {
      return (await pool.query<FeedRow>(`${SELECT_FEED} ORDER BY f.id`)).rows.map(feedFromRow);
    },
    async listVisible(tenant) {
      // The tenancy rule (feed-visibility.ts): configured, added by this tenant, or subscribed by one of its channels.
      const { rows } = await pool.query<FeedRow>(
        `${SELECT_FEED} WHERE f.added_by IS NULL OR f.added_by = $1
           OR EXISTS (SELECT 1 FROM subscriptions c WHERE c.kind = 'channel' AND c.feed_id = f.id AND c.platform = $2 AND c.workspace_id = $3)
         ORDER BY f.id`,
        tenant ? [tenantKey(tenant), tenant.platform, tenant.workspaceId] : [null, null, null],
      );
      return rows.map(feedFromRow);
    },
    async recordNotModified(feedId, at, nextPollAt) {
      await pool.query(
        `UPDATE feeds SET last_polled_at = $2, last_success_at = $2, consecutive_failures = 0, last_error = NULL,
           last_error_code = NULL, next_poll_at = $3 WHERE id = $1`,
        [feedId, at, nextPollAt],
      );
    },
    async recordIngestSkips(feedId, { at, skipped, message }) {
      await pool.query('UPDATE feeds SET ingest_skipped = $2, ingest_error = $3, ingest_error_at = $4 WHERE id = $1', [feedId, skipped, storableOrNull(message), skipped > 0 ? at : null]);
    },
    async recordFailure(feedId, f: FeedFailure) {
      await pool.query(
        `UPDATE feeds SET last_polled_at = $2, last_error_at = $2, last_error = $3, last_error_code = $4,
           consecutive_failures = consecutive_failures + 1, next_poll_at = $5 WHERE id = $1`,
        [feedId, f.at, f.message, f.code, f.nextPollAt],
      );
    },
    async claimPoll(feedId, { owner, leaseMs, notPolledSince }) {
      // The poll lease is on the database's clock, like the outbox's: an instance whose clock runs ahead
      // cannot take a lease another instance holds.
      const { rowCount } = await pool.query(
        `UPDATE feeds SET poll_owner = $2, poll_lease_until = now() + make_interval(secs => $3::float8 / 1000)
         WHERE id = $1 AND (poll_lease_until IS NULL OR poll_lease_until <= now() OR poll_owner = $2)
           AND (last_polled_at IS NULL OR last_polled_at < $4)`,
        [feedId, owner, leaseMs, notPolledSince],
      );
      return rowCount === 1;
    },
    async releasePoll(feedId, owner) {
      await pool.query('UPDATE feeds SET poll_owner = NULL, poll_lease_until = NULL WHERE id = $1 AND poll_owner = $2', [feedId, owner]);
    },
    async recordBackfill(feedId, outcome) {
      await pool.query('UPDATE feeds SET backfill_completed_at = coalesce($2, backfill_completed_at), backfill_error = $3 WHERE id = $1', [feedId, outcome.completedAt, outcome.error]);
    },
  };
}

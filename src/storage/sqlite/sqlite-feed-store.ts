import type { Database } from 'better-sqlite3';
import type { FeedFailure, FeedStore } from '../feed-store.ts';
import { feedFromRow, type FeedRow } from '../store-rows.ts';
import { storableOrNull } from '../../posts/stored-text.ts';
import { tenantKey } from '../../feeds/feed-visibility.ts';

const SELECT_FEED = `SELECT f.*, (SELECT count(*) FROM posts p WHERE p.feed_id = f.id) AS post_count,
  (SELECT count(*) FROM subscriptions s WHERE s.feed_id = f.id) AS subscription_count FROM feeds f`;

export function createSqliteFeedStore(db: Database): FeedStore {
  const insert = db.prepare('INSERT INTO feeds (url, owner_key, created_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT (url, owner_key) DO NOTHING');
  const byUrl = db.prepare<[string, string], FeedRow>(`${SELECT_FEED} WHERE f.url = ? AND f.owner_key = ?`);
  const all = db.prepare<[], FeedRow>(`${SELECT_FEED} ORDER BY f.id`);
  // The tenancy rule (feed-visibility.ts): configured, added by this tenant, or subscribed by one of its channels.
  const visible = db.prepare<{ key: string | null; platform: string | null; workspace: string | null }, FeedRow>(
    `${SELECT_FEED} WHERE f.added_by IS NULL OR f.added_by = @key
       OR EXISTS (SELECT 1 FROM subscriptions c WHERE c.kind = 'channel' AND c.feed_id = f.id AND c.platform = @platform AND c.workspace_id = @workspace)
     ORDER BY f.id`,
  );
  const notModified = db.prepare(
    `UPDATE feeds SET last_polled_at = @at, last_success_at = @at, consecutive_failures = 0,
       last_error = NULL, last_error_code = NULL, next_poll_at = @next WHERE id = @id`,
  );
  const failure = db.prepare(
    `UPDATE feeds SET last_polled_at = @at, last_error_at = @at, last_error = @message, last_error_code = @code,
       consecutive_failures = consecutive_failures + 1, next_poll_at = @next WHERE id = @id`,
  );
  const ingestSkips = db.prepare('UPDATE feeds SET ingest_skipped = @skipped, ingest_error = @message, ingest_error_at = @at WHERE id = @id');
  const backfill = db.prepare(
    `UPDATE feeds SET backfill_completed_at = coalesce(@completedAt, backfill_completed_at), backfill_error = @error WHERE id = @id`,
  );
  const claim = db.prepare(
    `UPDATE feeds SET poll_owner = @owner, poll_lease_until = @until
     WHERE id = @id AND (poll_lease_until IS NULL OR poll_lease_until <= @now OR poll_owner = @owner)
       AND (last_polled_at IS NULL OR last_polled_at < @since)`,
  );
  const release = db.prepare('UPDATE feeds SET poll_owner = NULL, poll_lease_until = NULL WHERE id = ? AND poll_owner = ?');
  return {
    async claimPoll(feedId, { owner, now, leaseMs, notPolledSince }) {
      return claim.run({ id: feedId, owner, now: now.getTime(), until: now.getTime() + leaseMs, since: notPolledSince.getTime() }).changes === 1;
    },
    async releasePoll(feedId, owner) {
      release.run(feedId, owner);
    },
    async recordBackfill(feedId, outcome) {
      backfill.run({ id: feedId, completedAt: outcome.completedAt?.getTime() ?? null, error: outcome.error });
    },
    async ensure(url, at, options) {
      const owner = options?.ownerKey ?? '';
      insert.run(url, owner, at.getTime(), options?.addedBy ?? null);
      return feedFromRow(byUrl.get(url, owner)!);
    },
    async get(url, ownerKey = '') {
      const row = byUrl.get(url, ownerKey);
      return row ? feedFromRow(row) : null;
    },
    async list() {
      return all.all().map(feedFromRow);
    },
    async listVisible(tenant) {
      const params = tenant ? { key: tenantKey(tenant), platform: tenant.platform, workspace: tenant.workspaceId } : { key: null, platform: null, workspace: null };
      return visible.all(params).map(feedFromRow);
    },
    async recordNotModified(feedId, at, nextPollAt) {
      notModified.run({ id: feedId, at: at.getTime(), next: nextPollAt.getTime() });
    },
    async recordIngestSkips(feedId, { at, skipped, message }) {
      ingestSkips.run({ id: feedId, skipped, message: storableOrNull(message), at: skipped > 0 ? at.getTime() : null });
    },
    async recordFailure(feedId, f: FeedFailure) {
      failure.run({ id: feedId, at: f.at.getTime(), message: f.message, code: f.code, next: f.nextPollAt.getTime() });
    },
  };
}

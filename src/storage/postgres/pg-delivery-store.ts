import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { digestDeliveryKey, heldSummaryKey, matchedOfLabel, postDeliveryKey } from '../../delivery/delivery-plan.ts';
import type { Post } from '../../posts/post.ts';
import type { ClaimedDelivery, DeliveryStore } from '../delivery-store.ts';
import { deliveryRecordFromRow, destinationKeyOfRow, postFromRow, subscriptionFromRow, type DeliveryRecordRow, type PostRow, type SubscriptionRow } from '../store-rows.ts';
import { SELECT_POST } from './pg-post-store.ts';
import { SELECT_SUBSCRIPTION } from './pg-subscription-store.ts';
import { inTransaction, ms } from './pg-sql.ts';


/** A duration in milliseconds (a bound parameter) from the database's own clock. */
const fromDbNow = (param: string) => `now() + make_interval(secs => ${param}::float8 / 1000)`;

const HELD = `id = $1 AND claim_token = $2 AND status = 'sending'`;

interface DeliveryRow {
  id: number;
  kind: 'post' | 'digest';
  subscription_id: number;
  post_id: number | null;
  idempotency_key: string;
  attempts: number;
  lease_until: number;
  uncertain_since: number | null;
  uncertain_last_at: number | null;
  message_id: string | null;
  label: string | null;
  claim_token: string;
}

/**
 * The outbox on PostgreSQL, shared by any number of instances. Each destination's head and its due time
 * live in `delivery_heads`, kept by triggers (pg-migrations.ts, step 3): a claim reads that table's due
 * index, locks the due heads and their rows with `FOR UPDATE SKIP LOCKED` (instances never wait on each
 * other, and never take the same one), gives each a fresh token and loads their subscriptions and posts, all
 * in one transaction. Every outcome is recorded only with the current token (fenced), so an instance whose
 * lease ran out cannot record over the new holder; a lease that runs out (a dead instance) makes the row due
 * again, marked "maybe sent". Every lease and due time is on the database's clock (`now()`), never an
 * instance's.
 */
export function createPostgresDeliveryStore(pool: Pool): DeliveryStore {
  const subscriptionOf = async (client: PoolClient | Pool, id: number) =>
    (await client.query<SubscriptionRow>(`${SELECT_SUBSCRIPTION} WHERE s.id = $1`, [id])).rows[0];

  const retry = async (client: PoolClient | Pool, id: number, token: string, error: string, delayMs: number, uncertain: Date | null, refund = false) =>
    ((await client.query(
      `UPDATE deliveries SET status = 'pending', lease_until = NULL, claim_token = NULL, last_error = $3, next_attempt_at = ${fromDbNow('$4')},
         uncertain_since = coalesce(uncertain_since, $5::timestamptz),
         uncertain_last_at = CASE WHEN $5::timestamptz IS NULL THEN uncertain_last_at ELSE greatest(uncertain_last_at, coalesce(send_started_at, $5::timestamptz)) END,
         send_started_at = NULL, attempts = attempts - $6::int
       WHERE ${HELD}`,
      [id, token, error, delayMs, uncertain, refund ? 1 : 0],
    )).rowCount ?? 0) === 1;

  /** A digest or held-posts summary, due now. `id` only for a summary taking the place of the first held post. */
  const insertBundle = async (client: PoolClient, sub: SubscriptionRow, key: string, seq: number, at: Date, label: string | null, id: number | null = null) =>
    (await client.query<{ id: number }>(
      `INSERT INTO deliveries (id, subscription_id, kind, post_id, platform, destination_key, idempotency_key, seq, status, next_attempt_at, created_at, label)
       VALUES (coalesce($8::bigint, nextval(pg_get_serial_sequence('deliveries', 'id'))), $1, 'digest', NULL, $2, $3, $4, $5, 'pending', now(), $6, $7)
       ON CONFLICT DO NOTHING RETURNING id`,
      [sub.id, sub.platform, destinationKeyOfRow(sub), key, seq, at, label, id],
    )).rows[0]?.id ?? null;

  const recordSelect = `
    SELECT d.id, d.kind, d.subscription_id, s.kind AS subscription_kind, s.platform, s.workspace_id, s.channel_id, d.post_id,
           p.title AS post_title, d.status, d.attempts, ${ms('d.next_attempt_at', 'next_attempt_at')}, d.message_id,
           ${ms('d.sent_at', 'sent_at')}, d.last_error, ${ms('d.created_at', 'created_at')}
    FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id LEFT JOIN posts p ON p.id = d.post_id`;

  return {
    async claimDue({ now, limit, leaseMs, owner, platform, excludeDestinations }) {
      const excluded = [...(excludeDestinations ?? [])];
      // Nothing due (the idle case) costs one read of the heads index, not a transaction's three round trips.
      // (Named: prepared once per connection, so the idle poll does not pay for planning each time.)
      const { rowCount: anyDue } = await pool.query({
        name: 'inkwire-outbox-any-due',
        text: `SELECT 1 FROM delivery_heads h WHERE h.platform = $1 AND h.head_id IS NOT NULL AND h.due_at <= now() AND NOT (h.destination_key = ANY($2::text[])) LIMIT 1`,
        values: [platform, excluded],
      });
      if (!anyDue) return [];
      return inTransaction(pool, async (client) => {
        // The limit applies after SKIP LOCKED (heads another instance is claiming or writing are passed over,
        // not counted), and a head changed and committed since this statement's snapshot is re-checked at
        // its newest version. Two statements, each on one table's index, rather than one join: with
        // statistics that do not yet know a fan-out's rows (a fresh outbox; autoanalyze comes a minute
        // later) the planner turned the join into a nested loop over every pending row (100–300 ms per
        // claim at 3,000 rows, 0.16 ms after ANALYZE). The heads' index scan and primary-key look-ups have
        // no such plan to fall into.
        const { rows: heads } = await client.query<{ head_id: number }>(
          `SELECT h.head_id FROM delivery_heads h
           WHERE h.platform = $1 AND h.head_id IS NOT NULL AND h.due_at <= now() AND NOT (h.destination_key = ANY($2::text[]))
           ORDER BY h.due_at
           LIMIT $3
           FOR UPDATE OF h SKIP LOCKED`,
          [platform, excluded, limit],
        );
        if (heads.length === 0) return [];
        // The head's delivery row is locked too (a holder recording its outcome is passed over) and re-checked.
        const { rows: locked } = await client.query<{ id: number }>(
          `SELECT d.id FROM deliveries d
           WHERE d.id = ANY($1::bigint[])
             AND ((d.status = 'pending' AND d.next_attempt_at <= now()) OR (d.status = 'sending' AND d.lease_until <= now()))
           FOR UPDATE OF d SKIP LOCKED`,
          [heads.map((h) => h.head_id)],
        );
        if (locked.length === 0) return [];
        const tokens = locked.map(() => randomUUID());
        const { rows: claimed } = await client.query<DeliveryRow>(
          `UPDATE deliveries d SET status = 'sending', lease_until = ${fromDbNow('$2')}, claimed_by = $3,
             claim_token = t.token, claimed_at = $5, attempts = d.attempts + 1,
             -- a lease that ran out with a request started means a worker died mid-send: that request may have
             -- posted; one that died before its request posted nothing. (send_started_at and uncertain_since
             -- are records on the instances' clocks, like the engine's own uncertainSince.)
             uncertain_since = CASE WHEN d.status = 'sending' AND d.send_started_at IS NOT NULL THEN coalesce(d.uncertain_since, d.send_started_at) ELSE d.uncertain_since END,
             uncertain_last_at = CASE WHEN d.status = 'sending' AND d.send_started_at IS NOT NULL THEN d.send_started_at ELSE d.uncertain_last_at END,
             send_started_at = NULL
           FROM unnest($1::bigint[], $4::text[]) AS t(id, token)
           WHERE d.id = t.id
           RETURNING d.id, d.kind, d.subscription_id, d.post_id, d.idempotency_key, d.attempts, ${ms('d.lease_until', 'lease_until')},
                     ${ms('d.uncertain_since', 'uncertain_since')}, ${ms('d.uncertain_last_at', 'uncertain_last_at')}, d.message_id, d.label, d.claim_token`,
          [locked.map((r) => r.id), leaseMs, owner, tokens, now],
        );
        // What a send needs is read in the claim's transaction, while its rows are locked: an unsubscribe
        // (which deletes the rows) waits for this commit instead of leaving a claim without its subscription.
        const subs = new Map((await client.query<SubscriptionRow>(`${SELECT_SUBSCRIPTION} WHERE s.id = ANY($1::bigint[])`, [[...new Set(claimed.map((r) => r.subscription_id))]])).rows.map((row) => [row.id, subscriptionFromRow(row)]));
        const postIds = claimed.filter((r) => r.kind === 'post').map((r) => r.post_id!);
        const posts = new Map((await client.query<PostRow>(`${SELECT_POST} WHERE p.id = ANY($1::bigint[])`, [postIds])).rows.map((row) => [row.id, postFromRow(row)]));
        const digestIds = claimed.filter((r) => r.kind === 'digest').map((r) => r.id);
        const digestPosts = new Map<number, Post[]>();
        if (digestIds.length > 0) {
          const { rows } = await client.query<PostRow & { delivery_id: number }>(
            `SELECT di.delivery_id, x.* FROM digest_items di JOIN LATERAL (${SELECT_POST} WHERE p.id = di.post_id) x ON true
             WHERE di.delivery_id = ANY($1::bigint[]) ORDER BY x.published_at, x.id`,
            [digestIds],
          );
          for (const row of rows) digestPosts.set(row.delivery_id, [...(digestPosts.get(row.delivery_id) ?? []), postFromRow(row)]);
        }
        const out: ClaimedDelivery[] = [];
        const orphans: number[] = [];
        for (const row of claimed.sort((a, b) => a.id - b.id)) {
          const subscription = subs.get(row.subscription_id);
          const post = row.kind === 'post' ? posts.get(row.post_id!) : undefined;
          if (!subscription || (row.kind === 'post' && !post)) {
            orphans.push(row.id);
            continue;
          }
          out.push({
            id: row.id,
            claimToken: row.claim_token,
            kind: row.kind,
            subscription,
            posts: row.kind === 'digest' ? (digestPosts.get(row.id) ?? []) : [post!],
            idempotencyKey: row.idempotency_key,
            attempts: row.attempts,
            leaseUntil: new Date(row.lease_until),
            uncertainSince: row.uncertain_since === null ? null : new Date(row.uncertain_since),
            uncertainLastAt: row.uncertain_since === null || row.uncertain_last_at === null ? null : new Date(row.uncertain_last_at),
            messageId: row.message_id,
            label: row.label === 'held' ? 'held' : null,
            matched: matchedOfLabel(row.label),
          });
        }
        // Rows whose subscription or post is gone (foreign keys normally delete them first) fail alone; the
        // rest of the batch is sent.
        if (orphans.length > 0) {
          await client.query(`UPDATE deliveries SET status = 'failed', lease_until = NULL, claim_token = NULL, last_error = 'unsubscribed' WHERE id = ANY($1::bigint[])`, [orphans]);
        }
        return out;
      });
    },
    async renew(claims, { leaseMs }) {
      if (claims.length === 0) return new Set();
      const { rows } = await pool.query<{ id: number }>(
        `UPDATE deliveries d SET lease_until = ${fromDbNow('$3')} FROM unnest($1::bigint[], $2::text[]) AS t(id, token)
         WHERE d.id = t.id AND d.claim_token = t.token AND d.status = 'sending' RETURNING d.id`,
        [claims.map((c) => c.id), claims.map((c) => c.claimToken), leaseMs],
      );
      return new Set(rows.map((r) => r.id));
    },
    async complete(c, { messageId, at }) {
      return inTransaction(pool, async (client) => {
        const done = await client.query(
          `UPDATE deliveries SET status = 'sent', message_id = $3, sent_at = $4, lease_until = NULL, claim_token = NULL, last_error = NULL WHERE ${HELD} RETURNING subscription_id`,
          [c.id, c.claimToken, messageId, at],
        );
        if (done.rowCount !== 1) return false;
        await client.query('UPDATE subscriptions SET last_delivery_at = $2 WHERE id = $1', [(done.rows[0] as { subscription_id: number }).subscription_id, at]);
        return true;
      });
    },
    retryLater: (c, { error, delayMs, uncertainSince, refundAttempt }) => retry(pool, c.id, c.claimToken, error, delayMs, uncertainSince ?? null, refundAttempt),
    async markSending(c, { at, resolved }) {
      const { rowCount } = await pool.query(
        `UPDATE deliveries SET send_started_at = $3,
           uncertain_since = CASE WHEN $4::boolean THEN NULL ELSE uncertain_since END,
           uncertain_last_at = CASE WHEN $4::boolean THEN NULL ELSE uncertain_last_at END
         WHERE ${HELD}`,
        [c.id, c.claimToken, at, resolved],
      );
      return rowCount === 1;
    },
    async recordMessage(c, { messageId }) {
      const { rowCount } = await pool.query(
        `UPDATE deliveries SET message_id = $3, send_started_at = NULL, uncertain_since = NULL, uncertain_last_at = NULL WHERE ${HELD}`,
        [c.id, c.claimToken, messageId],
      );
      return rowCount === 1;
    },
    async holdAndPause(c, { error, reason, at }) {
      return inTransaction(pool, async (client) => {
        if (!(await retry(client, c.id, c.claimToken, error, 0, null))) return false;
        const sub = (await client.query<SubscriptionRow>(`${SELECT_SUBSCRIPTION} WHERE s.id = (SELECT subscription_id FROM deliveries WHERE id = $1)`, [c.id])).rows[0];
        if (!sub) return true;
        const paused = (await client.query('UPDATE subscriptions SET paused_at = $2, paused_reason = $3 WHERE id = $1 AND paused_at IS NULL', [sub.id, at, reason])).rowCount === 1;
        if (paused && sub.workspace_id) {
          const where = sub.kind === 'alert' ? 'a personal alert' : `channel ${sub.channel_id}`;
          await client.query('INSERT INTO notices (platform, workspace_id, message, created_at) VALUES ($1, $2, $3, $4)', [
            sub.platform, sub.workspace_id,
            `Inkwire paused delivery to ${where}${sub.feed_title ? ` (${sub.feed_title})` : ''}: ${reason}. New posts are kept for it; fix that, then run /subscribe there again to resume.`,
            at,
          ]);
        }
        return true;
      });
    },
    async fail(c, { error }) {
      return ((await pool.query(`UPDATE deliveries SET status = 'failed', lease_until = NULL, claim_token = NULL, last_error = $3 WHERE ${HELD}`, [c.id, c.claimToken, error])).rowCount ?? 0) === 1;
    },
    async enqueuePost(subscriptionId, postId, at) {
      const sub = await subscriptionOf(pool, subscriptionId);
      const post = (await pool.query<{ id: number }>('SELECT id FROM posts WHERE id = $1', [postId])).rows[0];
      if (!sub || !post) return null;
      // Queued now: it goes after what the channel already has waiting (planning order, not the post's date).
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO deliveries (subscription_id, kind, post_id, platform, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
         VALUES ($1, 'post', $2, $3, $4, $5, $6, 'pending', now(), $7) ON CONFLICT DO NOTHING RETURNING id`,
        [sub.id, post.id, sub.platform, destinationKeyOfRow(sub), postDeliveryKey(post.id, sub.id), at.getTime(), at],
      );
      return rows[0]?.id ?? null;
    },
    async bundleDigests(mode, period, at) {
      return inTransaction(pool, async (client) => {
        const { rows: subs } = await client.query<SubscriptionRow>(
          `${SELECT_SUBSCRIPTION} WHERE s.mode = $1 AND s.paused_at IS NULL AND EXISTS (SELECT 1 FROM digest_queue q WHERE q.subscription_id = s.id) ORDER BY s.id`,
          [mode],
        );
        let made = 0;
        for (const sub of subs) {
          const id = await insertBundle(client, sub, digestDeliveryKey(sub.id, period), at.getTime(), at, null);
          if (id === null) continue; // this period's digest already exists (another instance made it)
          await client.query('INSERT INTO digest_items (delivery_id, post_id) SELECT $1, post_id FROM digest_queue WHERE subscription_id = $2', [id, sub.id]);
          await client.query('DELETE FROM digest_queue WHERE subscription_id = $1', [sub.id]);
          made++;
        }
        return made;
      });
    },
    async releaseHeld(subscriptionId, { at, summariseBefore }) {
      return inTransaction(pool, async (client) => {
        const sub = await subscriptionOf(client, subscriptionId);
        if (!sub) return { held: 0, summarised: 0 };
        const { rows: waiting } = await client.query<{ id: number; post_id: number; created_at: number; seq: number }>(
          `SELECT id, post_id, ${ms('created_at', 'created_at')}, seq FROM deliveries WHERE subscription_id = $1 AND kind = 'post' AND status = 'pending' ORDER BY id FOR UPDATE`,
          [subscriptionId],
        );
        const old = waiting.filter((d) => d.created_at < summariseBefore.getTime());
        if (old.length < 2) return { held: waiting.length, summarised: 0 };
        // Long-held posts arrive as one summary (oldest first), in the place of the first of them: the
        // summary takes that row's id, and the id is the planning order.
        await client.query('DELETE FROM deliveries WHERE id = ANY($1::bigint[])', [old.map((d) => d.id)]);
        const summaryId = await insertBundle(client, sub, heldSummaryKey(sub.id, at), old[0]!.seq, at, 'held', old[0]!.id);
        if (summaryId === null) throw new Error(`a held-posts summary ${heldSummaryKey(sub.id, at)} already exists`);
        await client.query('INSERT INTO digest_items (delivery_id, post_id) SELECT $1, unnest($2::bigint[])', [summaryId, old.map((d) => d.post_id)]);
        return { held: waiting.length - old.length, summarised: old.length };
      });
    },
    async list({ status, limit }) {
      const { rows } = status
        ? await pool.query<DeliveryRecordRow>(`${recordSelect} WHERE d.status = $1 ORDER BY d.id DESC LIMIT $2`, [status, limit])
        : await pool.query<DeliveryRecordRow>(`${recordSelect} ORDER BY d.id DESC LIMIT $1`, [limit]);
      return rows.map(deliveryRecordFromRow);
    },
    async forPost(postId) {
      const { rows } = await pool.query<DeliveryRecordRow>(`${recordSelect} WHERE d.post_id = $1 OR d.id IN (SELECT delivery_id FROM digest_items WHERE post_id = $1) ORDER BY d.id`, [postId]);
      return rows.map(deliveryRecordFromRow);
    },
    async stats() {
      const { rows } = await pool.query<{ n: number; oldest: number | null; paused: number }>(
        `SELECT count(*)::int AS n, ${ms('min(d.created_at)', 'oldest')},
                (SELECT count(*)::int FROM subscriptions WHERE paused_at IS NOT NULL) AS paused
         FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
         WHERE d.status IN ('pending', 'sending') AND s.paused_at IS NULL`,
      );
      const row = rows[0]!;
      return { pending: row.n, oldestPendingAt: row.oldest === null ? null : new Date(row.oldest), pausedSubscriptions: row.paused };
    },
    async nextDueAt(platform, now) {
      const { rows } = await pool.query<{ wait: number | null }>({
        name: 'inkwire-outbox-next-due',
        text: `SELECT (extract(epoch from min(due_at) - now()) * 1000)::float8 AS wait FROM delivery_heads WHERE platform = $1 AND head_id IS NOT NULL`,
        values: [platform],
      });
      return rows[0]?.wait == null ? null : new Date(now.getTime() + rows[0].wait);
    },
  };
}

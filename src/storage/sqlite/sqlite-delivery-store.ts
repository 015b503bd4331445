import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { digestDeliveryKey, heldSummaryKey, matchedOfLabel, postDeliveryKey } from '../../delivery/delivery-plan.ts';
import type { ClaimedDelivery, DeliveryClaim, DeliveryStatus, DeliveryStore } from '../delivery-store.ts';
import { SELECT_POST } from './sqlite-post-store.ts';
import { SELECT_SUBSCRIPTION } from './sqlite-subscription-store.ts';
import { deliveryRecordFromRow, destinationKeyOfRow, postFromRow, subscriptionFromRow, type DeliveryRecordRow, type PostRow, type SubscriptionRow } from '../store-rows.ts';


interface DeliveryRow {
  id: number;
  kind: 'post' | 'digest';
  subscription_id: number;
  post_id: number | null;
  idempotency_key: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  claim_token: string | null;
  uncertain_since: number | null;
  uncertain_last_at: number | null;
  send_started_at: number | null;
  label: string | null;
  message_id: string | null;
  sent_at: number | null;
  last_error: string | null;
  created_at: number;
}

export function createSqliteDeliveryStore(db: Database): DeliveryStore {
  // `delivery_queues` holds each destination's head and when it is due, kept by triggers (the head rule of
  // ADR 003: a row in 'sending' heads its destination; otherwise the oldest pending row of an active
  // subscription in planning order). Only heads are claimed, so posts reach a channel in the order they were
  // planned and a channel has at most one send in flight; the claim reads the due index and stops at the
  // limit: its cost grows with the batch, not with the rows waiting behind a retrying head.
  const dueHeads = db.prepare(`
    SELECT q.head_id AS id, q.destination_key FROM delivery_queues q
    WHERE q.platform = @platform AND q.head_id IS NOT NULL AND q.due_at <= @now
    ORDER BY q.due_at LIMIT @scan`);
  const claim = db.prepare(`
    UPDATE deliveries SET status = 'sending', lease_until = @lease, claimed_by = @owner, claim_token = @token, claimed_at = @now,
      attempts = attempts + 1,
      -- a lease that ran out with a request started means a worker died mid-send: that request may have
      -- posted. One that died before its request (send_started_at unset) posted nothing: no look-up needed.
      uncertain_since = CASE WHEN status = 'sending' AND send_started_at IS NOT NULL THEN coalesce(uncertain_since, send_started_at) ELSE uncertain_since END,
      uncertain_last_at = CASE WHEN status = 'sending' AND send_started_at IS NOT NULL THEN send_started_at ELSE uncertain_last_at END,
      send_started_at = NULL
    WHERE id = @id AND (status = 'pending' AND next_attempt_at <= @now OR (status = 'sending' AND lease_until <= @now))`);
  const byId = db.prepare('SELECT * FROM deliveries WHERE id = ?');
  const subById = db.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = ?`);
  const postById = db.prepare(`${SELECT_POST} WHERE p.id = ?`);
  const digestPosts = db.prepare(`${SELECT_POST} WHERE p.id IN (SELECT post_id FROM digest_items WHERE delivery_id = ?) ORDER BY p.published_at, p.id`);
  const held = 'id = @id AND claim_token = @token AND status = \'sending\'';
  const renewStmt = db.prepare(`UPDATE deliveries SET lease_until = @lease WHERE ${held}`);
  const completeStmt = db.prepare(`UPDATE deliveries SET status = 'sent', message_id = @messageId, sent_at = @at, lease_until = NULL, claim_token = NULL, last_error = NULL WHERE ${held}`);
  const touchSub = db.prepare('UPDATE subscriptions SET last_delivery_at = @at WHERE id = (SELECT subscription_id FROM deliveries WHERE id = @id)');
  const retryStmt = db.prepare(`
    UPDATE deliveries SET status = 'pending', lease_until = NULL, claim_token = NULL, last_error = @error, next_attempt_at = @next,
      uncertain_since = coalesce(uncertain_since, @uncertain),
      uncertain_last_at = CASE WHEN @uncertain IS NULL THEN uncertain_last_at ELSE max(coalesce(uncertain_last_at, 0), coalesce(send_started_at, @uncertain)) END,
      send_started_at = NULL, attempts = attempts - @refund
    WHERE ${held}`);
  const markSendingStmt = db.prepare(`
    UPDATE deliveries SET send_started_at = @at,
      uncertain_since = CASE WHEN @resolved THEN NULL ELSE uncertain_since END,
      uncertain_last_at = CASE WHEN @resolved THEN NULL ELSE uncertain_last_at END
    WHERE ${held}`);
  const recordMessageStmt = db.prepare(`
    UPDATE deliveries SET message_id = @messageId, send_started_at = NULL, uncertain_since = NULL, uncertain_last_at = NULL WHERE ${held}`);
  const failStmt = db.prepare(`UPDATE deliveries SET status = 'failed', lease_until = NULL, claim_token = NULL, last_error = @error WHERE ${held}`);

  const orphaned = db.prepare(`UPDATE deliveries SET status = 'failed', lease_until = NULL, claim_token = NULL, last_error = 'unsubscribed' WHERE id = ?`);
  const claimDue = db.transaction((now: number, limit: number, leaseMs: number, owner: string, platform: string, exclude: ReadonlySet<string>) => {
    const candidates = dueHeads.all({ now, platform, scan: limit + exclude.size }) as Array<{ id: number; destination_key: string }>;
    const claimed: Array<{ id: number; token: string }> = [];
    for (const candidate of candidates) {
      if (claimed.length >= limit) break;
      if (exclude.has(candidate.destination_key)) continue;
      const token = randomUUID();
      if (claim.run({ id: candidate.id, lease: now + leaseMs, owner, token, now }).changes === 1) claimed.push({ id: candidate.id, token });
    }
    // Read in the claim's transaction; a row whose subscription or post is gone (foreign keys normally
    // delete it first) fails alone and the rest of the batch is sent.
    return claimed.flatMap(({ id, token }): ClaimedDelivery[] => {
      const row = byId.get(id) as DeliveryRow;
      const subRow = subById.get(row.subscription_id) as SubscriptionRow | undefined;
      const postRow = row.kind === 'post' ? (postById.get(row.post_id) as PostRow | undefined) : undefined;
      if (!subRow || (row.kind === 'post' && !postRow)) {
        orphaned.run(id);
        return [];
      }
      const subscription = subscriptionFromRow(subRow);
      const posts = row.kind === 'digest' ? (digestPosts.all(id) as PostRow[]).map(postFromRow) : [postFromRow(postRow!)];
      return [{
        id,
        claimToken: token,
        kind: row.kind,
        subscription,
        posts,
        idempotencyKey: row.idempotency_key,
        attempts: row.attempts,
        leaseUntil: new Date(row.lease_until!),
        uncertainSince: row.uncertain_since === null ? null : new Date(row.uncertain_since),
        uncertainLastAt: row.uncertain_since === null || row.uncertain_last_at === null ? null : new Date(row.uncertain_last_at),
        messageId: row.message_id,
        label: row.label === 'held' ? 'held' : null,
        matched: matchedOfLabel(row.label),
      }];
    });
  });

  const renew = db.transaction((claims: readonly DeliveryClaim[], lease: number) => {
    const still = new Set<number>();
    for (const c of claims) if (renewStmt.run({ id: c.id, token: c.claimToken, lease }).changes === 1) still.add(c.id);
    return still;
  });

  const complete = db.transaction((c: DeliveryClaim, messageId: string, at: number) => {
    if (completeStmt.run({ id: c.id, token: c.claimToken, messageId, at }).changes === 0) return false;
    touchSub.run({ id: c.id, at });
    return true;
  });

  const holdAndPause = db.transaction((c: DeliveryClaim, error: string, reason: string, at: number) => {
    if (retryStmt.run({ id: c.id, token: c.claimToken, error, next: at, uncertain: null, refund: 0 }).changes === 0) return false;
    const sub = db.prepare(`${SELECT_SUBSCRIPTION} WHERE s.id = (SELECT subscription_id FROM deliveries WHERE id = ?)`).get(c.id) as SubscriptionRow | undefined;
    if (!sub) return true;
    const paused = db.prepare('UPDATE subscriptions SET paused_at = ?, paused_reason = ? WHERE id = ? AND paused_at IS NULL').run(at, reason, sub.id).changes === 1;
    if (paused && sub.workspace_id) {
      const where = sub.kind === 'alert' ? 'a personal alert' : `channel ${sub.channel_id}`;
      db.prepare('INSERT INTO notices (platform, workspace_id, message, created_at) VALUES (?, ?, ?, ?)').run(
        sub.platform,
        sub.workspace_id,
        `Inkwire paused delivery to ${where}${sub.feed_title ? ` (${sub.feed_title})` : ''}: ${reason}. New posts are kept for it; fix that, then run /subscribe there again to resume.`,
        at,
      );
    }
    return true;
  });

  const enqueue = db.prepare(`
    INSERT OR IGNORE INTO deliveries (subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at)
    VALUES (@sub, 'post', @post, @destination, @key, @seq, 'pending', @at, @at)`);
  const enqueuePost = db.transaction((subscriptionId: number, postId: number, at: number) => {
    const sub = subById.get(subscriptionId) as SubscriptionRow | undefined;
    const post = postById.get(postId) as PostRow | undefined;
    if (!sub || !post) return null;
    // Queued now: it goes after what the channel already has waiting (planning order, not the post's date).
    const result = enqueue.run({ sub: sub.id, post: post.id, destination: destinationKeyOfRow(sub), key: postDeliveryKey(post.id, sub.id), seq: at, at });
    return result.changes === 1 ? Number(result.lastInsertRowid) : null;
  });

  // `id` is null (a new one) except for a held-posts summary, which takes the id of the first post it
  // replaces: the id is the planning order, so the summary goes in that post's place.
  const insertBundle = db.prepare(`
    INSERT OR IGNORE INTO deliveries (id, subscription_id, kind, post_id, destination_key, idempotency_key, seq, status, next_attempt_at, created_at, label)
    VALUES (@id, @sub, 'digest', NULL, @destination, @key, @seq, 'pending', @at, @at, @label)`);
  const bundle = db.transaction((mode: string, period: string, at: number) => {
    const subs = db
      .prepare(`SELECT DISTINCT s.id, s.kind, s.platform, s.channel_id FROM subscriptions s JOIN digest_queue q ON q.subscription_id = s.id WHERE s.mode = ? AND s.paused_at IS NULL`)
      .all(mode) as Array<Pick<SubscriptionRow, 'id' | 'kind' | 'platform' | 'channel_id'>>;
    let made = 0;
    for (const sub of subs) {
      const result = insertBundle.run({ id: null, sub: sub.id, destination: destinationKeyOfRow(sub), key: digestDeliveryKey(sub.id, period), seq: at, at, label: null });
      if (result.changes === 0) continue; // this period's digest already exists
      const deliveryId = Number(result.lastInsertRowid);
      db.prepare('INSERT INTO digest_items (delivery_id, post_id) SELECT ?, post_id FROM digest_queue WHERE subscription_id = ?').run(deliveryId, sub.id);
      db.prepare('DELETE FROM digest_queue WHERE subscription_id = ?').run(sub.id);
      made++;
    }
    return made;
  });

  const releaseHeld = db.transaction((subscriptionId: number, at: number, summariseBefore: number) => {
    const sub = subById.get(subscriptionId) as SubscriptionRow | undefined;
    if (!sub) return { held: 0, summarised: 0 };
    const waiting = db
      .prepare(`SELECT id, post_id, created_at, seq FROM deliveries WHERE subscription_id = ? AND kind = 'post' AND status = 'pending' ORDER BY id`)
      .all(subscriptionId) as Array<{ id: number; post_id: number; created_at: number; seq: number }>;
    const old = waiting.filter((d) => d.created_at < summariseBefore);
    if (old.length >= 2) {
      // Long-held posts arrive as one summary (oldest first), in the place of the first of them.
      const remove = db.prepare('DELETE FROM deliveries WHERE id = ?');
      for (const d of old) remove.run(d.id);
      const result = insertBundle.run({ id: old[0]!.id, sub: sub.id, destination: destinationKeyOfRow(sub), key: heldSummaryKey(sub.id, new Date(at)), seq: old[0]!.seq, at, label: 'held' });
      if (result.changes !== 1) throw new Error(`a held-posts summary ${heldSummaryKey(sub.id, new Date(at))} already exists`);
      const summaryId = Number(result.lastInsertRowid);
      const addItem = db.prepare('INSERT INTO digest_items (delivery_id, post_id) VALUES (?, ?)');
      for (const d of old) addItem.run(summaryId, d.post_id);
      return { held: waiting.length - old.length, summarised: old.length };
    }
    return { held: waiting.length, summarised: 0 };
  });

  const recordSelect = `
    SELECT d.*, s.kind AS subscription_kind, s.platform, s.workspace_id, s.channel_id, p.title AS post_title
    FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id LEFT JOIN posts p ON p.id = d.post_id`;
  const nextDue = db.prepare('SELECT min(due_at) AS at FROM delivery_queues WHERE platform = ? AND head_id IS NOT NULL');

  return {
    async claimDue({ now, limit, leaseMs, owner, platform, excludeDestinations }) {
      return claimDue.immediate(now.getTime(), limit, leaseMs, owner, platform, excludeDestinations ?? new Set());
    },
    async renew(claims, { now, leaseMs }) {
      return claims.length === 0 ? new Set() : renew.immediate(claims, now.getTime() + leaseMs);
    },
    async complete(c, { messageId, at }) {
      return complete.immediate(c, messageId, at.getTime());
    },
    async retryLater(c, { error, at, delayMs, uncertainSince, refundAttempt }) {
      return retryStmt.run({ id: c.id, token: c.claimToken, error, next: at.getTime() + delayMs, uncertain: uncertainSince?.getTime() ?? null, refund: refundAttempt ? 1 : 0 }).changes === 1;
    },
    async markSending(c, { at, resolved }) {
      return markSendingStmt.run({ id: c.id, token: c.claimToken, at: at.getTime(), resolved: resolved ? 1 : 0 }).changes === 1;
    },
    async recordMessage(c, { messageId }) {
      return recordMessageStmt.run({ id: c.id, token: c.claimToken, messageId }).changes === 1;
    },
    async holdAndPause(c, { error, reason, at }) {
      return holdAndPause.immediate(c, error, reason, at.getTime());
    },
    async fail(c, { error }) {
      return failStmt.run({ id: c.id, token: c.claimToken, error }).changes === 1;
    },
    async enqueuePost(subscriptionId, postId, at) {
      return enqueuePost.immediate(subscriptionId, postId, at.getTime());
    },
    async bundleDigests(mode, period, at) {
      return bundle.immediate(mode, period, at.getTime());
    },
    async releaseHeld(subscriptionId, { at, summariseBefore }) {
      return releaseHeld.immediate(subscriptionId, at.getTime(), summariseBefore.getTime());
    },
    async list({ status, limit }) {
      const rows = status
        ? db.prepare(`${recordSelect} WHERE d.status = ? ORDER BY d.id DESC LIMIT ?`).all(status, limit)
        : db.prepare(`${recordSelect} ORDER BY d.id DESC LIMIT ?`).all(limit);
      return (rows as DeliveryRecordRow[]).map(deliveryRecordFromRow);
    },
    async forPost(postId) {
      return (db.prepare(`${recordSelect} WHERE d.post_id = ? OR d.id IN (SELECT delivery_id FROM digest_items WHERE post_id = ?) ORDER BY d.id`).all(postId, postId) as DeliveryRecordRow[]).map(deliveryRecordFromRow);
    },
    async stats() {
      const row = db
        .prepare(`SELECT count(*) AS n, min(d.created_at) AS oldest FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id WHERE d.status IN ('pending', 'sending') AND s.paused_at IS NULL`)
        .get() as { n: number; oldest: number | null };
      const paused = (db.prepare('SELECT count(*) AS n FROM subscriptions WHERE paused_at IS NOT NULL').get() as { n: number }).n;
      return { pending: row.n, oldestPendingAt: row.oldest === null ? null : new Date(row.oldest), pausedSubscriptions: paused };
    },
    // One machine, one clock: the due times are already on the caller's clock.
    async nextDueAt(platform) {
      const row = nextDue.get(platform) as { at: number | null };
      return row.at === null ? null : new Date(row.at);
    },
  };
}

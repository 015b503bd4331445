import type { Pool, PoolClient } from 'pg';
import { matchedLabel, type DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { postContentHash } from '../../posts/content-hash.ts';
import { postFingerprint } from '../../posts/post-identity.ts';
import type { Post, PostDraft } from '../../posts/post.ts';
import { compoundAliases } from '../../search/compound-words.ts';
import type { IngestBatch, IngestResult, PostStore, SkippedItem } from '../post-store.ts';
import { fingerprintDate } from '../../posts/post-dates.ts';
import { storableDraft, storableOrNull } from '../../posts/stored-text.ts';
import { byPublishedAsc, postFromRow, type PostRow } from '../store-rows.ts';
import { inTransaction, ms, type Queryable } from './pg-sql.ts';

/** The post columns plus its feed and papers, as `PostRow`, so one mapper serves both stores. */
export const SELECT_POST = `
  SELECT p.id, p.feed_id, f.url AS feed_url, f.title AS feed_title, p.key, p.guid, p.url, p.title, p.subtitle,
         p.author, ${ms('p.published_at', 'published_at')}, ${ms('p.claimed_published_at', 'claimed_published_at')}, p.cover_image_url, p.html, p.text, p.word_count, p.reading_minutes, p.tldr,
         p.preview_only::int AS preview_only, ${ms('p.first_seen_at', 'first_seen_at')}, ${ms('p.updated_at', 'updated_at')}, p.announce::int AS announce,
         (SELECT string_agg(pp.kind || ':' || pp.ref || chr(31) || coalesce(pp.title, ''), chr(30)) FROM post_papers pp WHERE pp.post_id = p.id) AS papers
  FROM posts p JOIN feeds f ON f.id = p.feed_id`;

export async function loadPosts(db: Queryable, ids: readonly number[]): Promise<Map<number, Post>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<PostRow>(`${SELECT_POST} WHERE p.id = ANY($1::bigint[])`, [ids]);
  return new Map(rows.map((row) => [row.id, postFromRow(row)]));
}

/**
 * Whether alert `s` may see the feed whose id is `feed` (a parameter), by the tenancy rule (feed-visibility.ts,
 * ADR 005): configured (added_by IS NULL), added by the alert's own server, or subscribed by a channel of it.
 * One rule for the outbox writer and the alert handover, and the same as SQLite's `SQLITE_ALERT_SEES_FEED`.
 */
export const pgAlertSeesFeed = (feed: string) => `(
  coalesce((SELECT f.added_by IS NULL OR f.added_by = s.platform || ':' || s.workspace_id FROM feeds f WHERE f.id = ${feed}), false)
  OR (s.workspace_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM subscriptions c WHERE c.kind = 'channel' AND c.feed_id = ${feed} AND c.platform = s.platform AND c.workspace_id = s.workspace_id)))`;

/**
 * Writes the outbox rows for a newly stored post inside the caller's transaction, as the core's planner
 * decides (the same planner and the same candidate rule as SQLite's outbox writer).
 */
async function writeOutbox(client: PoolClient, planDeliveries: DeliveryPlanner, post: Post, at: Date): Promise<void> {
  const { rows } = await client.query<{ id: number; kind: 'channel' | 'alert'; platform: 'console' | 'discord' | 'slack'; channel_id: string; feed_id: number | null; keywords: string; mode: 'instant' | 'daily' | 'weekly'; paused: boolean; visible: boolean }>(
    `SELECT s.id, s.kind, s.platform, s.channel_id, s.feed_id, s.keywords, s.mode, s.paused_at IS NOT NULL AS paused,
            CASE WHEN s.kind = 'alert' THEN ${pgAlertSeesFeed('$1')} ELSE true END AS visible
     FROM subscriptions s WHERE (s.kind = 'channel' AND s.feed_id = $1) OR s.kind = 'alert'`,
    [post.feedId],
  );
  if (rows.length === 0) return;
  const plan = planDeliveries(
    post,
    rows.map((r) => ({ id: r.id, kind: r.kind, platform: r.platform, channelId: r.channel_id, feedId: r.feed_id, keywords: JSON.parse(r.keywords) as string[], mode: r.mode, paused: r.paused, feedVisible: r.visible })),
  );
  const seq = post.publishedAt?.getTime() ?? at.getTime();
  if (plan.deliveries.length > 0) {
    // One statement for every channel: a post to 10,000 channels is one round trip, not 10,000.
    await client.query(
      `INSERT INTO deliveries (subscription_id, kind, post_id, platform, destination_key, idempotency_key, seq, status, next_attempt_at, created_at, label)
       SELECT sub, 'post', $1, split_part(dest, ':', 1), dest, key, $2, 'pending', now(), $3, label -- due now on the database's clock (ADR 004)
       FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[]) AS t(sub, dest, key, label)
       ON CONFLICT DO NOTHING`,
      [post.id, seq, at, plan.deliveries.map((d) => d.subscriptionId), plan.deliveries.map((d) => d.destinationKey), plan.deliveries.map((d) => d.idempotencyKey), plan.deliveries.map((d) => matchedLabel(d.matched))],
    );
  }
  if (plan.digests.length > 0) {
    await client.query(
      'INSERT INTO digest_queue (subscription_id, post_id, queued_at) SELECT sub, $1, $2 FROM unnest($3::bigint[]) AS t(sub) ON CONFLICT DO NOTHING',
      [post.id, at, plan.digests],
    );
  }
}

/**
 * A refusal about one item's data, which skipping that item resolves: a data exception (class 22: a value
 * the column cannot hold), a constraint (23), a program limit (54: an index row too large) or a trigger's
 * RAISE (P0). Anything else (a lost connection, a serialization failure to retry) is the whole batch's.
 */
function isItemError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54|P0)/.test(code);
}

/**
 * Posts in PostgreSQL: the same identity rules as SQLite (key, else a unique link, else the fingerprint),
 * and the outbox rows of a new post written in the transaction that stores it. Ingests of one feed are
 * serialised by a transaction-scoped advisory lock, so two instances storing the same poll cannot both
 * insert a post.
 */
export function createPostgresPostStore(pool: Pool, options: { planDeliveries: DeliveryPlanner }): PostStore {
  const values = (draft: PostDraft) => ({
    contentHash: postContentHash(draft),
    searchAka: compoundAliases(draft.title, draft.subtitle, draft.text),
    fingerprint: postFingerprint(draft.title, fingerprintDate(draft)),
  });
  const writePapers = async (client: PoolClient, postId: number, draft: PostDraft) => {
    await client.query('DELETE FROM post_papers WHERE post_id = $1', [postId]);
    for (const paper of draft.papers) {
      await client.query('INSERT INTO post_papers (post_id, kind, ref, title) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [postId, paper.kind, paper.id, paper.title ?? null]);
    }
  };

  type Outcome = { kind: 'created'; id: number; announce: boolean } | { kind: 'updated'; id: number } | { kind: 'unchanged' };

  async function ingestOne(client: PoolClient, batch: IngestBatch, draft: PostDraft, linkCount: ReadonlyMap<string, number>): Promise<Outcome> {
    const v = values(draft);
    type Known = { id: number; content_hash: string };
    const known = async (): Promise<Known | undefined> => {
      const byKey = (await client.query<Known>('SELECT id, content_hash FROM posts WHERE feed_id = $1 AND key = $2', [batch.feedId, draft.key])).rows[0];
      if (byKey) return byKey;
      // A link shared by several items (a feed without item links falls back to its site URL) says nothing.
      if (draft.url && linkCount.get(draft.url) === 1) {
        const byLink = (await client.query<Known>('SELECT id, content_hash FROM posts WHERE feed_id = $1 AND url = $2 LIMIT 2', [batch.feedId, draft.url])).rows;
        if (byLink.length === 1) return byLink[0]!;
      }
      if (v.fingerprint) {
        const byPrint = (await client.query<Known>('SELECT id, content_hash FROM posts WHERE feed_id = $1 AND fingerprint = $2 LIMIT 2', [batch.feedId, v.fingerprint])).rows;
        if (byPrint.length === 1) return byPrint[0]!;
      }
      return undefined;
    };
    const existing = await known();
    if (!existing) {
      const announce = batch.announceKeys.has(draft.key);
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO posts (feed_id, key, guid, url, title, subtitle, author, published_at, cover_image_url, html, text, word_count,
                            reading_minutes, tldr, preview_only, content_hash, search_aka, fingerprint, announce, first_seen_at, updated_at, claimed_published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21) RETURNING id`,
        [batch.feedId, draft.key, draft.guid, draft.url, draft.title, draft.subtitle, draft.author, draft.publishedAt, draft.coverImageUrl, draft.html, draft.text,
          draft.wordCount, draft.readingMinutes, draft.tldr, draft.previewOnly, v.contentHash, v.searchAka, v.fingerprint, announce, batch.at, draft.claimedPublishedAt ?? null],
      );
      const id = rows[0]!.id;
      await writePapers(client, id, draft);
      return { kind: 'created', id, announce };
    }
    if (existing.content_hash !== v.contentHash) {
      // The post keeps the key it was first stored under; a new guid for it is an update, not a new post. A date
      // clamped to a fetch time never moves later on a re-fetch (LEAST ignores NULL).
      await client.query(
        `UPDATE posts SET guid = $2, url = $3, title = $4, subtitle = $5, author = $6,
           published_at = CASE WHEN $19::timestamptz IS NULL THEN coalesce($7, published_at) ELSE least(published_at, $7) END,
           claimed_published_at = $19, cover_image_url = $8, html = $9, text = $10, word_count = $11, reading_minutes = $12, tldr = $13, preview_only = $14,
           content_hash = $15, search_aka = $16, fingerprint = $17, updated_at = $18 WHERE id = $1`,
        [existing.id, draft.guid, draft.url, draft.title, draft.subtitle, draft.author, draft.publishedAt, draft.coverImageUrl, draft.html, draft.text,
          draft.wordCount, draft.readingMinutes, draft.tldr, draft.previewOnly, v.contentHash, v.searchAka, v.fingerprint, batch.at, draft.claimedPublishedAt ?? null],
      );
      await writePapers(client, existing.id, draft);
      return { kind: 'updated', id: existing.id };
    }
    await client.query('UPDATE posts SET guid = $2 WHERE id = $1 AND guid IS DISTINCT FROM $2', [existing.id, draft.guid]);
    return { kind: 'unchanged' };
  }

  async function ingest(client: PoolClient, batch: IngestBatch): Promise<IngestResult> {
    await client.query('SELECT pg_advisory_xact_lock(74657002, $1::int)', [batch.feedId]);
    const drafts = batch.drafts.map(storableDraft);
    const linkCount = new Map<string, number>();
    for (const draft of drafts) linkCount.set(draft.url, (linkCount.get(draft.url) ?? 0) + 1);
    // Optimistically the whole batch under one savepoint (no extra round trips per post); if an item is
    // refused, the batch is redone with a savepoint per item, so that item alone is skipped.
    await client.query('SAVEPOINT ingest_batch');
    let state: BatchState;
    try {
      state = await ingestDrafts(client, batch, drafts, linkCount, false);
      await client.query('RELEASE SAVEPOINT ingest_batch');
    } catch (error) {
      if (!isItemError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT ingest_batch');
      state = await ingestDrafts(client, batch, drafts, linkCount, true);
    }
    const { createdIds, announcedIds, updatedIds, unchanged, skipped } = state;
    if (batch.feedUpdate) {
      const u = batch.feedUpdate;
      await client.query(
        `UPDATE feeds SET title = coalesce($2, title), site_url = coalesce($3, site_url), is_substack = $4, etag = $5, last_modified = $6,
           bootstrapped = true, last_polled_at = $7, last_success_at = $7, consecutive_failures = 0, last_error = NULL,
           last_error_code = NULL, next_poll_at = $8 WHERE id = $1`,
        [batch.feedId, storableOrNull(u.title), storableOrNull(u.siteUrl), u.isSubstack, u.validators.etag, u.validators.lastModified, batch.at, u.nextPollAt],
      );
    }
    const posts = await loadPosts(client, [...createdIds, ...updatedIds]);
    const created = createdIds.map((id) => posts.get(id)!).sort(byPublishedAsc);
    const announced = created.filter((post) => announcedIds.has(post.id));
    // The outbox rows are written in this same transaction (a stored post is never left undelivered), oldest
    // post first: a channel receives in planning order (ADR 003), so planning follows publication here.
    for (const post of announced) await writeOutbox(client, options.planDeliveries, post, batch.at);
    return { created, announced, updated: updatedIds.map((id) => posts.get(id)!), unchanged, skipped };
  }

  type BatchState = { createdIds: number[]; announcedIds: Set<number>; updatedIds: number[]; unchanged: number; skipped: SkippedItem[] };

  async function ingestDrafts(client: PoolClient, batch: IngestBatch, drafts: readonly PostDraft[], linkCount: ReadonlyMap<string, number>, isolate: boolean): Promise<BatchState> {
    const state: BatchState = { createdIds: [], announcedIds: new Set(), updatedIds: [], unchanged: 0, skipped: [] };
    // Identities already handled in this batch: a feed listing one post twice, or under two guids.
    const seenInBatch = new Set<string>();
    for (const draft of drafts) {
      const fingerprint = values(draft).fingerprint;
      const identities = [`k:${draft.key}`, ...(linkCount.get(draft.url) === 1 ? [`l:${draft.url}`] : []), ...(fingerprint ? [`f:${fingerprint}`] : [])];
      if (identities.some((identity) => seenInBatch.has(identity))) continue;
      let outcome: Outcome;
      if (isolate) {
        await client.query('SAVEPOINT ingest_item');
        try {
          outcome = await ingestOne(client, batch, draft, linkCount);
          await client.query('RELEASE SAVEPOINT ingest_item');
        } catch (error) {
          if (!isItemError(error)) throw error;
          await client.query('ROLLBACK TO SAVEPOINT ingest_item');
          // One item the database refuses is skipped, never the batch: the feed's other posts still arrive.
          state.skipped.push({ key: draft.key, title: draft.title, message: error instanceof Error ? error.message : String(error) });
          continue;
        }
      } else {
        outcome = await ingestOne(client, batch, draft, linkCount);
      }
      for (const identity of identities) seenInBatch.add(identity);
      if (outcome.kind === 'created') {
        state.createdIds.push(outcome.id);
        if (outcome.announce) state.announcedIds.add(outcome.id);
      } else if (outcome.kind === 'updated') {
        state.updatedIds.push(outcome.id);
      } else {
        state.unchanged++;
      }
    }
    return state;
  }

  return {
    ingest: (batch) => inTransaction(pool, (client) => ingest(client, batch)),
    async latest({ limit, offset = 0, feedId, feedIds }) {
      if (feedIds !== undefined) {
        if (feedIds.length === 0) return [];
        const { rows } = await pool.query<PostRow>(
          `${SELECT_POST} WHERE p.feed_id = ANY($3::bigint[]) AND ($4::bigint IS NULL OR p.feed_id = $4) ORDER BY p.published_at DESC NULLS LAST, p.id DESC LIMIT $1 OFFSET $2`,
          [limit, offset, feedIds, feedId ?? null],
        );
        return rows.map(postFromRow);
      }
      const { rows } = feedId === undefined
        ? await pool.query<PostRow>(`${SELECT_POST} ORDER BY p.published_at DESC NULLS LAST, p.id DESC LIMIT $1 OFFSET $2`, [limit, offset])
        : await pool.query<PostRow>(`${SELECT_POST} WHERE p.feed_id = $3 ORDER BY p.published_at DESC NULLS LAST, p.id DESC LIMIT $1 OFFSET $2`, [limit, offset, feedId]);
      return rows.map(postFromRow);
    },
    async count(feedId) {
      const { rows } = feedId === undefined
        ? await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM posts')
        : await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM posts WHERE feed_id = $1', [feedId]);
      return rows[0]?.n ?? 0;
    },
    async findByUrl(url) {
      const { rows } = await pool.query<PostRow>(`${SELECT_POST} WHERE p.url = $1 OR p.key = $1 ORDER BY p.id LIMIT 1`, [url]);
      return rows[0] ? postFromRow(rows[0]) : null;
    },
    async newestPublishedAt(feedId) {
      const { rows } = await pool.query<{ at: number | null }>(`SELECT ${ms('max(published_at)', 'at')} FROM posts WHERE feed_id = $1`, [feedId]);
      return rows[0]?.at == null ? null : new Date(rows[0].at);
    },
    async existingKeys(feedId, keys) {
      if (keys.length === 0) return new Set();
      const { rows } = await pool.query<{ key: string }>('SELECT key FROM posts WHERE feed_id = $1 AND key = ANY($2::text[])', [feedId, keys]);
      return new Set(rows.map((r) => r.key));
    },
  };
}

import type { Database } from 'better-sqlite3';
import { postContentHash } from '../../posts/content-hash.ts';
import { compoundAliases } from '../../search/compound-words.ts';
import type { DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { postFingerprint } from '../../posts/post-identity.ts';
import { createOutboxWriter } from './sqlite-outbox-writer.ts';
import type { PostDraft } from '../../posts/post.ts';
import type { IngestBatch, IngestResult, PostStore, SkippedItem } from '../post-store.ts';
import { fingerprintDate } from '../../posts/post-dates.ts';
import { storableDraft, storableOrNull } from '../../posts/stored-text.ts';
import { byPublishedAsc, postFromRow, type PostRow } from '../store-rows.ts';

/** The post columns plus its feed and papers, for any query that returns posts. */
export const SELECT_POST = `
  SELECT p.id, p.feed_id, f.url AS feed_url, f.title AS feed_title, p.key, p.guid, p.url, p.title, p.subtitle,
         p.author, p.published_at, p.claimed_published_at, p.cover_image_url, p.html, p.text, p.word_count, p.reading_minutes, p.tldr,
         p.preview_only, p.first_seen_at, p.updated_at, p.announce,
         (SELECT group_concat(pp.kind || ':' || pp.ref || char(31) || coalesce(pp.title, ''), char(30)) FROM post_papers pp WHERE pp.post_id = p.id) AS papers
  FROM posts p JOIN feeds f ON f.id = p.feed_id`;

/**
 * Posts in SQLite. `planDeliveries` (pure, from the core) decides which subscriptions get a new post; the
 * store writes that plan in the transaction that stores the post, so a post is never left undelivered.
 */
export function createSqlitePostStore(db: Database, options: { planDeliveries: DeliveryPlanner }): PostStore {
  const findKey = db.prepare<[number, string], { id: number; content_hash: string }>(
    'SELECT id, content_hash FROM posts WHERE feed_id = ? AND key = ?',
  );
  const writeOutbox = createOutboxWriter(db, options.planDeliveries);
  // A post is known by its key, else by its link (when exactly one post has it), else by its fingerprint.
  const findByLink = db.prepare<[number, string], { id: number; content_hash: string }>(
    'SELECT id, content_hash FROM posts WHERE feed_id = ? AND url = ? LIMIT 2',
  );
  const findByFingerprint = db.prepare<[number, string], { id: number; content_hash: string }>(
    'SELECT id, content_hash FROM posts WHERE feed_id = ? AND fingerprint = ? LIMIT 2',
  );
  const insertPost = db.prepare(`
    INSERT INTO posts (feed_id, key, guid, url, title, subtitle, author, published_at, claimed_published_at, cover_image_url, html, text,
                       word_count, reading_minutes, tldr, preview_only, content_hash, search_aka, fingerprint, announce, first_seen_at, updated_at)
    VALUES (@feedId, @key, @guid, @url, @title, @subtitle, @author, @publishedAt, @claimedPublishedAt, @coverImageUrl, @html, @text,
            @wordCount, @readingMinutes, @tldr, @previewOnly, @contentHash, @searchAka, @fingerprint, @announce, @at, @at)`);
  const updatePost = db.prepare(`
    UPDATE posts SET guid = @guid, url = @url, title = @title, subtitle = @subtitle, author = @author,
      published_at = CASE WHEN @claimedPublishedAt IS NULL THEN coalesce(@publishedAt, published_at)
        ELSE coalesce(min(published_at, @publishedAt), @publishedAt) END,
      claimed_published_at = @claimedPublishedAt, cover_image_url = @coverImageUrl, html = @html,
      text = @text, word_count = @wordCount, reading_minutes = @readingMinutes, tldr = @tldr,
      preview_only = @previewOnly, content_hash = @contentHash, search_aka = @searchAka, fingerprint = @fingerprint, updated_at = @at
    WHERE id = @id`);
  const setGuid = db.prepare('UPDATE posts SET guid = @guid WHERE id = @id AND guid IS NOT @guid');
  const deletePapers = db.prepare('DELETE FROM post_papers WHERE post_id = ?');
  const insertPaper = db.prepare('INSERT OR IGNORE INTO post_papers (post_id, kind, ref, title) VALUES (?, ?, ?, ?)');
  const updateFeed = db.prepare(`
    UPDATE feeds SET title = coalesce(@title, title), site_url = coalesce(@siteUrl, site_url),
      is_substack = @isSubstack, etag = @etag, last_modified = @lastModified, bootstrapped = 1,
      last_polled_at = @at, last_success_at = @at, consecutive_failures = 0, last_error = NULL,
      last_error_code = NULL, next_poll_at = @next
    WHERE id = @id`);
  const byId = db.prepare<[number], PostRow>(`${SELECT_POST} WHERE p.id = ?`);
  const newest = db.prepare<[number], { at: number | null }>('SELECT max(published_at) AS at FROM posts WHERE feed_id = ?');

  const params = (draft: PostDraft, at: Date) => ({
    key: draft.key,
    guid: draft.guid,
    url: draft.url,
    title: draft.title,
    subtitle: draft.subtitle,
    author: draft.author,
    publishedAt: draft.publishedAt?.getTime() ?? null,
    claimedPublishedAt: draft.claimedPublishedAt?.getTime() ?? null,
    coverImageUrl: draft.coverImageUrl,
    html: draft.html,
    text: draft.text,
    wordCount: draft.wordCount,
    readingMinutes: draft.readingMinutes,
    tldr: draft.tldr,
    previewOnly: draft.previewOnly ? 1 : 0,
    contentHash: postContentHash(draft),
    searchAka: compoundAliases(draft.title, draft.subtitle, draft.text),
    fingerprint: postFingerprint(draft.title, fingerprintDate(draft)),
    at: at.getTime(),
  });

  const writePapers = (postId: number, draft: PostDraft) => {
    deletePapers.run(postId);
    for (const paper of draft.papers) insertPaper.run(postId, paper.kind, paper.id, paper.title ?? null);
  };

  type Outcome = { kind: 'created'; id: number; announce: boolean } | { kind: 'updated'; id: number } | { kind: 'unchanged' };
  // One draft in its own savepoint (a nested better-sqlite3 transaction): if it fails, only it is undone.
  const ingestOne = db.transaction((batch: IngestBatch, draft: PostDraft, linkCount: ReadonlyMap<string, number>): Outcome => {
    const values = params(draft, batch.at);
    const existing = known(batch.feedId, draft, values.fingerprint, linkCount);
    if (!existing) {
      const announce = batch.announceKeys.has(draft.key);
      const { lastInsertRowid } = insertPost.run({ ...values, feedId: batch.feedId, announce: announce ? 1 : 0 });
      const id = Number(lastInsertRowid);
      writePapers(id, draft);
      return { kind: 'created', id, announce };
    }
    if (existing.content_hash !== values.contentHash) {
      // The post keeps the key it was first stored under; a new guid for it is an update, not a new post.
      updatePost.run({ ...values, id: existing.id });
      writePapers(existing.id, draft);
      return { kind: 'updated', id: existing.id };
    }
    setGuid.run({ guid: draft.guid, id: existing.id });
    return { kind: 'unchanged' };
  });
  const known = (feedId: number, draft: PostDraft, fingerprint: string | null, linkCount: ReadonlyMap<string, number>) => {
    const byKey = findKey.get(feedId, draft.key);
    if (byKey) return byKey;
    // A link shared by several items (a feed without item links falls back to its site URL) says nothing.
    if (draft.url && linkCount.get(draft.url) === 1) {
      const byLink = findByLink.all(feedId, draft.url);
      if (byLink.length === 1) return byLink[0]!;
    }
    if (fingerprint) {
      const byPrint = findByFingerprint.all(feedId, fingerprint);
      if (byPrint.length === 1) return byPrint[0]!;
    }
    return undefined;
  };

  const ingest = db.transaction((batch: IngestBatch): IngestResult => {
    const createdIds: number[] = [];
    const announcedIds = new Set<number>();
    const updatedIds: number[] = [];
    const skipped: SkippedItem[] = [];
    let unchanged = 0;
    // Identities already handled in this batch: a feed listing one post twice, or under two guids.
    const seenInBatch = new Set<string>();
    const drafts = batch.drafts.map(storableDraft);
    const linkCount = new Map<string, number>();
    for (const draft of drafts) linkCount.set(draft.url, (linkCount.get(draft.url) ?? 0) + 1);
    for (const draft of drafts) {
      const fingerprint = postFingerprint(draft.title, fingerprintDate(draft));
      const identities = [`k:${draft.key}`, ...(linkCount.get(draft.url) === 1 ? [`l:${draft.url}`] : []), ...(fingerprint ? [`f:${fingerprint}`] : [])];
      if (identities.some((identity) => seenInBatch.has(identity))) continue;
      let outcome: Outcome;
      try {
        outcome = ingestOne(batch, draft, linkCount);
      } catch (error) {
        // A failure that ended the whole transaction (disk full, I/O) is the batch's, not this item's.
        if (!db.inTransaction) throw error;
        // One item the database refuses is skipped, never the batch: the feed's other posts still arrive.
        skipped.push({ key: draft.key, title: draft.title, message: error instanceof Error ? error.message : String(error) });
        continue;
      }
      for (const identity of identities) seenInBatch.add(identity);
      if (outcome.kind === 'created') {
        createdIds.push(outcome.id);
        if (outcome.announce) announcedIds.add(outcome.id);
      } else if (outcome.kind === 'updated') {
        updatedIds.push(outcome.id);
      } else {
        unchanged++;
      }
    }
    if (batch.feedUpdate) {
      const u = batch.feedUpdate;
      updateFeed.run({
        id: batch.feedId,
        title: storableOrNull(u.title),
        siteUrl: storableOrNull(u.siteUrl),
        isSubstack: u.isSubstack ? 1 : 0,
        etag: u.validators.etag,
        lastModified: u.validators.lastModified,
        at: batch.at.getTime(),
        next: u.nextPollAt.getTime(),
      });
    }
    const load = (id: number) => postFromRow(byId.get(id)!);
    const created = createdIds.map(load).sort(byPublishedAsc);
    const announced = created.filter((post) => announcedIds.has(post.id));
    // The outbox rows are written in this same transaction (a stored post is never left undelivered), oldest
    // post first: a channel receives in planning order (ADR 003), so planning follows publication here.
    for (const post of announced) writeOutbox(post, batch.at);
    return {
      created,
      announced,
      updated: updatedIds.map(load),
      unchanged,
      skipped,
    };
  });

  return {
    async ingest(batch) {
      return ingest.immediate(batch);
    },
    async latest({ limit, offset = 0, feedId, feedIds }) {
      if (feedIds !== undefined) {
        if (feedIds.length === 0) return [];
        return db
          .prepare<{ ids: string; feed: number | null; limit: number; offset: number }, PostRow>(
            `${SELECT_POST} WHERE p.feed_id IN (SELECT value FROM json_each(@ids)) AND (@feed IS NULL OR p.feed_id = @feed)
             ORDER BY p.published_at DESC, p.id DESC LIMIT @limit OFFSET @offset`,
          )
          .all({ ids: JSON.stringify(feedIds), feed: feedId ?? null, limit, offset })
          .map(postFromRow);
      }
      const rows = feedId === undefined
        ? db.prepare<[number, number], PostRow>(`${SELECT_POST} ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`).all(limit, offset)
        : db
            .prepare<[number, number, number], PostRow>(
              `${SELECT_POST} WHERE p.feed_id = ? ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
            )
            .all(feedId, limit, offset);
      return rows.map(postFromRow);
    },
    async count(feedId) {
      const row = feedId === undefined
        ? db.prepare<[], { n: number }>('SELECT count(*) AS n FROM posts').get()
        : db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM posts WHERE feed_id = ?').get(feedId);
      return row?.n ?? 0;
    },
    async findByUrl(url) {
      const rows = db.prepare<[string, string], PostRow>(`${SELECT_POST} WHERE p.url = ? OR p.key = ? ORDER BY p.id LIMIT 1`).all(url, url);
      return rows[0] ? postFromRow(rows[0]) : null;
    },
    async newestPublishedAt(feedId) {
      const at = newest.get(feedId)?.at ?? null;
      return at === null ? null : new Date(at);
    },
    async existingKeys(feedId, keys) {
      const found = new Set<string>();
      for (const key of keys) if (findKey.get(feedId, key)) found.add(key);
      return found;
    },
  };
}

import type { Database } from 'better-sqlite3';
import { postContentHash } from '../../posts/content-hash.ts';
import { compoundAliases } from '../../search/compound-words.ts';
import type { DeliveryPlanner } from '../../delivery/delivery-plan.ts';
import { postFingerprint } from '../../posts/post-identity.ts';
import { createOutboxWriter } from './sqlite-outbox-writer.ts';
import type { PostDraft } from '../../posts/post.ts';
import type { IngestBatch, IngestResult, PostStore } from '../post-store.ts';
import { byPublishedAsc, postFromRow, type PostRow } from '../store-rows.ts';

/** The post columns plus its feed and papers, for any query that returns posts. */
export const SELECT_POST = `
  SELECT p.id, p.feed_id, f.url AS feed_url, f.title AS feed_title, p.key, p.guid, p.url, p.title, p.subtitle,
         p.author, p.published_at, p.cover_image_url, p.html, p.text, p.word_count, p.reading_minutes, p.tldr,
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
    INSERT INTO posts (feed_id, key, guid, url, title, subtitle, author, published_at, cover_image_url, html, text,
                       word_count, reading_minutes, tldr, preview_only, content_hash, search_aka, fingerprint, announce, first_seen_at, updated_at)
    VALUES (@feedId, @key, @guid, @url, @title, @subtitle, @author, @publishedAt, @coverImageUrl, @html, @text,
            @wordCount, @readingMinutes, @tldr, @previewOnly, @contentHash, @searchAka, @fingerprint, @announce, @at, @at)`);
  const updatePost = db.prepare(`
    UPDATE posts SET guid = @guid, url = @url, title = @title, subtitle = @subtitle, author = @author,
      published_at = coalesce(@publishedAt, published_at), cover_image_url = @coverImageUrl, html = @html,
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
    coverImageUrl: draft.coverImageUrl,
    html: draft.html,
    text: draft.text,
    wordCount: draft.wordCount,
    readingMinutes: draft.readingMinutes,
    tldr: draft.tldr,
    previewOnly: draft.previewOnly ? 1 : 0,
    contentHash: postContentHash(draft),
    searchAka: compoundAliases(draft.title, draft.subtitle, draft.text),
    fingerprint: postFingerprint(draft.title, draft.publishedAt),
    at: at.getTime(),
  });

  const writePapers = (postId: number, draft: PostDraft) => {
    deletePapers.run(postId);
    for (const paper of draft.papers) insertPaper.run(postId, paper.kind, paper.id, paper.title ?? null);
  };

  const ingest = db.transaction((batch: IngestBatch): IngestResult => {
    const createdIds: number[] = [];
    const announcedIds = new Set<number>();
    const updatedIds: number[] = [];
    let unchanged = 0;
    // Identities already handled in this batch: a feed listing one post twice, or under two guids.
    const seenInBatch = new Set<string>();
    const linkCount = new Map<string, number>();
    for (const draft of batch.drafts) linkCount.set(draft.url, (linkCount.get(draft.url) ?? 0) + 1);
    const known = (draft: PostDraft, fingerprint: string | null) => {
      const byKey = findKey.get(batch.feedId, draft.key);
      if (byKey) return byKey;
      // A link shared by several items (a feed without item links falls back to its site URL) says nothing.
      if (draft.url && linkCount.get(draft.url) === 1) {
        const byLink = findByLink.all(batch.feedId, draft.url);
        if (byLink.length === 1) return byLink[0]!;
      }
      if (fingerprint) {
        const byPrint = findByFingerprint.all(batch.feedId, fingerprint);
        if (byPrint.length === 1) return byPrint[0]!;
      }
      return undefined;
    };
    for (const draft of batch.drafts) {
      const values = params(draft, batch.at);
      const identities = [`k:${draft.key}`, ...(linkCount.get(draft.url) === 1 ? [`l:${draft.url}`] : []), ...(values.fingerprint ? [`f:${values.fingerprint}`] : [])];
      if (identities.some((identity) => seenInBatch.has(identity))) continue;
      for (const identity of identities) seenInBatch.add(identity);
      const existing = known(draft, values.fingerprint);
      if (!existing) {
        const announce = batch.announceKeys.has(draft.key);
        const { lastInsertRowid } = insertPost.run({ ...values, feedId: batch.feedId, announce: announce ? 1 : 0 });
        const id = Number(lastInsertRowid);
        writePapers(id, draft);
        createdIds.push(id);
        if (announce) {
          announcedIds.add(id);
          // The outbox rows are written in this same transaction: a stored post is never left undelivered.
          writeOutbox(postFromRow(byId.get(id)!), batch.at);
        }
      } else if (existing.content_hash !== values.contentHash) {
        // The post keeps the key it was first stored under; a new guid for it is an update, not a new post.
        updatePost.run({ ...values, id: existing.id });
        writePapers(existing.id, draft);
        updatedIds.push(existing.id);
      } else {
        setGuid.run({ guid: draft.guid, id: existing.id });
        unchanged++;
      }
    }
    if (batch.feedUpdate) {
      const u = batch.feedUpdate;
      updateFeed.run({
        id: batch.feedId,
        title: u.title,
        siteUrl: u.siteUrl,
        isSubstack: u.isSubstack ? 1 : 0,
        etag: u.validators.etag,
        lastModified: u.validators.lastModified,
        at: batch.at.getTime(),
        next: u.nextPollAt.getTime(),
      });
    }
    const load = (id: number) => postFromRow(byId.get(id)!);
    const created = createdIds.map(load).sort(byPublishedAsc);
    return {
      created,
      announced: created.filter((post) => announcedIds.has(post.id)),
      updated: updatedIds.map(load),
      unchanged,
    };
  });

  return {
    async ingest(batch) {
      return ingest.immediate(batch);
    },
    async latest({ limit, offset = 0, feedId }) {
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

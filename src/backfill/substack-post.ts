import { cleanPostHtml, normaliseSpace } from '../content/html-cleaner.ts';
import { countWords, readingMinutes, truncateAtWord } from '../content/text.ts';
import { normaliseUrl } from '../posts/post-key.ts';
import { TLDR_MAX } from '../posts/post-draft.ts';
import type { PostDraft } from '../posts/post.ts';

/** The fields Inkwire reads from Substack's `/api/v1/archive` rows and `/api/v1/posts/<slug>` objects. */
export interface SubstackPost {
  id?: number;
  slug: string;
  title?: string | null;
  subtitle?: string | null;
  description?: string | null;
  post_date?: string | null;
  canonical_url?: string | null;
  audience?: string | null;
  type?: string | null;
  cover_image?: string | null;
  body_html?: string | null;
  truncated_body_text?: string | null;
  wordcount?: number | null;
  publishedBylines?: Array<{ name?: string | null }> | null;
}

/** Text fields that may be missing or of a surprising type: anything but a string counts as absent. */
const LENIENT_TEXT = ['subtitle', 'description', 'canonical_url', 'audience', 'type', 'cover_image', 'body_html', 'truncated_body_text'] as const;

/**
 * One post object as Substack's API returns it, or null when it is not one: a slug of 1-300 characters is
 * required, and `id`, `title` and `post_date` must have their types when present; the other fields fall
 * back to null when they are of another type. Fields that are absent stay absent (so a full post can be
 * laid over its archive row), and nothing else is kept.
 */
export function parseSubstackPost(input: unknown): SubstackPost | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const row = input as Record<string, unknown>;
  if (typeof row.slug !== 'string' || row.slug.length < 1 || row.slug.length > 300) return null;
  const post: SubstackPost = { slug: row.slug };
  if (row.id !== undefined) {
    if (typeof row.id !== 'number') return null;
    post.id = row.id;
  }
  for (const key of ['title', 'post_date'] as const) {
    const value = row[key];
    if (value === undefined) continue;
    if (value !== null && typeof value !== 'string') return null;
    post[key] = value;
  }
  for (const key of LENIENT_TEXT) {
    const value = row[key];
    if (value !== undefined) post[key] = typeof value === 'string' ? value : null;
  }
  if (row.wordcount !== undefined) post.wordcount = typeof row.wordcount === 'number' ? row.wordcount : null;
  if (row.publishedBylines !== undefined) {
    const bylines = row.publishedBylines;
    const fits = Array.isArray(bylines) && bylines.every((b) => typeof b === 'object' && b !== null && (b.name === undefined || b.name === null || typeof b.name === 'string'));
    post.publishedBylines = fits ? (bylines as Array<{ name?: string | null }>) : null;
  }
  return post;
}

/** A bare JSON array of posts, newest first; rows that do not fit are dropped, not fatal. */
export function parseArchivePage(json: unknown): { posts: SubstackPost[]; rejected: number } | null {
  if (!Array.isArray(json)) return null;
  const posts: SubstackPost[] = [];
  let rejected = 0;
  for (const row of json) {
    const post = parseSubstackPost(row);
    if (post) posts.push(post);
    else rejected++;
  }
  return { posts, rejected };
}

/**
 * A Substack API post as a draft. Paid posts (`audience` other than `everyone`) and posts without a
 * body are stored as preview-only, with whatever text is public.
 */
export function draftFromSubstackPost(post: SubstackPost, publicationUrl: string): PostDraft {
  const html = post.body_html ?? (post.truncated_body_text ? `<p>${escapeHtml(post.truncated_body_text)}</p>` : '');
  const cleaned = cleanPostHtml(html);
  const words = countWords(cleaned.text);
  const url = normaliseUrl(post.canonical_url ?? null) ?? `${publicationUrl.replace(/\/+$/, '')}/p/${encodeURIComponent(post.slug)}`;
  const date = post.post_date ? new Date(post.post_date) : null;
  const subtitle = normaliseSpace(post.subtitle ?? post.description ?? '') || null;
  return {
    key: `slug:${post.slug.toLowerCase()}`,
    guid: null,
    url,
    title: normaliseSpace(post.title ?? '') || post.slug,
    subtitle,
    author: post.publishedBylines?.map((b) => b.name).filter((n): n is string => !!n).join(', ') || null,
    publishedAt: date && !Number.isNaN(date.getTime()) ? date : null,
    coverImageUrl: post.cover_image || null,
    html: cleaned.html,
    text: cleaned.text,
    wordCount: words,
    readingMinutes: readingMinutes(post.body_html ? words : (post.wordcount ?? words)),
    tldr: cleaned.tldrSource ? truncateAtWord(cleaned.tldrSource, TLDR_MAX) : null,
    previewOnly: (post.audience ?? 'everyone') !== 'everyone' || !post.body_html || cleaned.hasPaywallMarker,
    papers: cleaned.papers,
  };
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

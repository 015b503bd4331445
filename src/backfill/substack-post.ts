import { z } from 'zod';
import { cleanPostHtml, normaliseSpace } from '../content/html-cleaner.ts';
import { countWords, readingMinutes, truncateAtWord } from '../content/text.ts';
import { normaliseUrl } from '../posts/post-key.ts';
import { TLDR_MAX } from '../posts/post-draft.ts';
import type { PostDraft } from '../posts/post.ts';

const nullableString = z.string().nullish().catch(null);

/** The fields Inkwire reads from Substack's `/api/v1/archive` rows and `/api/v1/posts/<slug>` objects. */
export const substackPostSchema = z.object({
  id: z.number().optional(),
  slug: z.string().min(1).max(300),
  title: z.string().nullish(),
  subtitle: nullableString,
  description: nullableString,
  post_date: z.string().nullish(),
  canonical_url: nullableString,
  audience: nullableString,
  type: nullableString,
  cover_image: nullableString,
  body_html: nullableString,
  truncated_body_text: nullableString,
  wordcount: z.number().nullish().catch(null),
  publishedBylines: z.array(z.object({ name: z.string().nullish() }).passthrough()).nullish().catch(null),
});

export type SubstackPost = z.infer<typeof substackPostSchema>;

/** A bare JSON array of posts, newest first; rows that do not fit are dropped, not fatal. */
export function parseArchivePage(json: unknown): { posts: SubstackPost[]; rejected: number } | null {
  if (!Array.isArray(json)) return null;
  const posts: SubstackPost[] = [];
  let rejected = 0;
  for (const row of json) {
    const parsed = substackPostSchema.safeParse(row);
    if (parsed.success) posts.push(parsed.data);
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

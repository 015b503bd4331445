import { truncateAtWord } from '../content/text.ts';
import type { Post } from '../posts/post.ts';

/** A paper link shown on a card. */
export interface PaperLink {
  label: string;
  url: string;
}

/**
 * The platform-neutral explainer card. Every field is plain text or a URL taken from the feed;
 * each adapter escapes the text for its own markup when it renders.
 */
export interface PostCard {
  postId: number;
  title: string;
  url: string;
  subtitle: string | null;
  author: string | null;
  publishedAt: Date | null;
  readingMinutes: number;
  tldr: string | null;
  coverImageUrl: string | null;
  papers: PaperLink[];
  previewOnly: boolean;
  feedTitle: string | null;
}

export const CARD_TLDR_MAX = 300;
const MAX_PAPERS = 5;

export function paperUrl(paper: Post['papers'][number]): string {
  return paper.kind === 'arxiv' ? `https://arxiv.org/abs/${paper.id}` : `https://doi.org/${paper.id}`;
}

export function paperLabel(paper: Post['papers'][number]): string {
  return paper.kind === 'arxiv' ? `arXiv:${paper.id}` : `doi:${paper.id}`;
}

/** Only http(s) links leave the core; anything else (javascript:, data:) is dropped. */
export function safeHttpUrl(value: string | null): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : null;
  } catch {
    return null;
  }
}

export function buildPostCard(post: Post): PostCard {
  return {
    postId: post.id,
    title: post.title,
    url: safeHttpUrl(post.url) ?? post.feedUrl,
    subtitle: post.subtitle,
    author: post.author,
    publishedAt: post.publishedAt,
    readingMinutes: post.readingMinutes,
    tldr: post.tldr ? truncateAtWord(post.tldr, CARD_TLDR_MAX) : null,
    coverImageUrl: safeHttpUrl(post.coverImageUrl),
    papers: post.papers.slice(0, MAX_PAPERS).map((paper) => ({ label: paperLabel(paper), url: paperUrl(paper) })),
    previewOnly: post.previewOnly,
    feedTitle: post.feedTitle,
  };
}

import { truncateAtWord } from '../content/text.ts';
import { safeLinkUrl } from './safe-url.ts';
import type { Post } from '../posts/post.ts';

/** A paper link shown on a card. */
export interface PaperLink {
  label: string;
  url: string;
}

/**
 * The platform-neutral explainer card. Every field is plain text (each adapter escapes it for its own
 * markup) or a URL made safe by `safeLinkUrl` (http(s), re-serialised, link-breaking characters encoded).
 */
export interface PostCard {
  postId: number;
  title: string;
  /** Null when the feed's link is not a usable http(s) URL: the card then has no link. */
  url: string | null;
  subtitle: string | null;
  author: string | null;
  publishedAt: Date | null;
  readingMinutes: number;
  tldr: string | null;
  coverImageUrl: string | null;
  papers: PaperLink[];
  previewOnly: boolean;
  feedTitle: string | null;
  /** On an alert's direct message: the keywords of the person's alerts that the post matched. */
  matched?: readonly string[];
}

export const CARD_TLDR_MAX = 300;

/** How every platform labels a paid post whose feed shows only its opening. */
export const PREVIEW_LABEL = 'Subscriber post — preview';
const MAX_PAPERS = 5;

/** The paper's page: arXiv's abstract, or the DOI resolver (brackets and the like percent-encoded). */
export function paperUrl(paper: Post['papers'][number]): string | null {
  return safeLinkUrl(paper.kind === 'arxiv' ? `https://arxiv.org/abs/${paper.id}` : `https://doi.org/${paper.id}`);
}

export function paperLabel(paper: Post['papers'][number]): string {
  return paper.kind === 'arxiv' ? `arXiv:${paper.id}` : `doi:${paper.id}`;
}

/** On a card: the paper's title where the post names it, with its id. */
export function paperCardLabel(paper: Post['papers'][number]): string {
  return paper.title ? `${truncateAtWord(paper.title, 90)} (${paperLabel(paper)})` : paperLabel(paper);
}

export function buildPostCard(post: Post): PostCard {
  return {
    postId: post.id,
    title: post.title,
    url: safeLinkUrl(post.url),
    subtitle: post.subtitle,
    author: post.author,
    publishedAt: post.publishedAt,
    readingMinutes: post.readingMinutes,
    tldr: post.tldr ? truncateAtWord(post.tldr, CARD_TLDR_MAX) : null,
    coverImageUrl: safeLinkUrl(post.coverImageUrl),
    papers: post.papers.slice(0, MAX_PAPERS).flatMap((paper) => {
      const url = paperUrl(paper);
      return url ? [{ label: paperCardLabel(paper), url }] : [];
    }),
    previewOnly: post.previewOnly,
    feedTitle: post.feedTitle,
  };
}

/** The card of an alert's direct message, naming the keywords that matched (unchanged when there are none). */
export function withAlertMatches(card: PostCard, matched: readonly string[] | undefined): PostCard {
  return matched && matched.length > 0 ? { ...card, matched: [...matched] } : card;
}

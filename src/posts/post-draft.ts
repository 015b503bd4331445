import { cleanPostHtml, normaliseSpace } from '../content/html-cleaner.ts';
import { countWords, readingMinutes, truncateAtWord } from '../content/text.ts';
import type { FeedItem, ParsedFeed } from '../feeds/feed-parser.ts';
import { normaliseUrl, postKey } from './post-key.ts';
import type { PostDraft } from './post.ts';

export const TLDR_MAX = 300;

/** Turns a feed item into what the store keeps. Items with neither a title nor a link are skipped (null). */
export function draftFromFeedItem(item: FeedItem, feed: Pick<ParsedFeed, 'author' | 'siteUrl'>): PostDraft | null {
  const url = normaliseUrl(item.link) ?? normaliseUrl(item.guid) ?? null;
  if (!url && !item.title) return null;
  const cleaned = cleanPostHtml(item.contentHtml ?? '');
  const words = countWords(cleaned.text);
  const subtitle = item.description ? normaliseSpace(stripTags(item.description)) || null : null;
  const title = item.title ? normaliseSpace(stripTags(item.title)) : truncateAtWord(cleaned.text, 80) || '(untitled)';
  return {
    key: postKey(item),
    guid: item.guid,
    url: url ?? feed.siteUrl ?? '',
    title,
    subtitle: subtitle === title ? null : subtitle,
    author: item.author ?? feed.author,
    publishedAt: item.publishedAt,
    coverImageUrl: item.enclosureUrl && /^image\//.test(item.enclosureType ?? 'image/') ? item.enclosureUrl : null,
    html: cleaned.html,
    text: cleaned.text,
    wordCount: words,
    readingMinutes: readingMinutes(words),
    tldr: cleaned.tldrSource ? truncateAtWord(cleaned.tldrSource, TLDR_MAX) : null,
    previewOnly: cleaned.hasPaywallMarker,
    papers: cleaned.papers,
  };
}

function stripTags(value: string): string {
  // Titles and subtitles arrive as decoded text; a few feeds still put tags in them.
  return /<[a-z!/][^>]*>/i.test(value) ? cleanPostHtml(value).text : value;
}

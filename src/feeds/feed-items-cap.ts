import type { FeedItem } from './feed-parser.ts';

/**
 * At most `max` items, the newest by publication date (undated items count as newest, in document
 * order: feeds list new items first). Bounded work per poll whatever the feed's size.
 */
export function newestItems(items: readonly FeedItem[], max: number): FeedItem[] {
  if (items.length <= max) return [...items];
  const ranked = items.map((item, index) => ({ item, index, at: item.publishedAt?.getTime() ?? Number.POSITIVE_INFINITY }));
  ranked.sort((a, b) => b.at - a.at || a.index - b.index);
  return ranked
    .slice(0, max)
    .sort((a, b) => a.index - b.index)
    .map((r) => r.item);
}

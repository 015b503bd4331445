import type { FeedItem } from './feed-parser.ts';

/** Which way a feed lists its items, as its dated items show; `unknown` with too few dates to tell. */
export type FeedOrder = 'newest-first' | 'oldest-first' | 'unknown';

/**
 * At most `max` items, the newest, kept in document order: bounded work per poll whatever the feed's size.
 * Dated items rank by date. Undated items rank by position, in the direction the feed's dated items show
 * (feeds usually list new items first; a generated archive may append them at the end). With no dates to
 * tell the direction, the first half and the last half of the window are read, so a new item is read at
 * whichever end the feed adds it.
 */
export function newestItems(items: readonly FeedItem[], max: number): FeedItem[] {
  if (items.length <= max) return [...items];
  if (max <= 0) return [];
  const order = feedOrder(items);
  if (order === 'unknown' && items.some((item) => item.publishedAt === null)) {
    const head = Math.ceil(max / 2);
    return [...items.slice(0, head), ...items.slice(items.length - (max - head))];
  }
  const n = items.length;
  const ranked = items.map((item, index) => ({ item, index, at: item.publishedAt?.getTime() ?? Number.POSITIVE_INFINITY }));
  // Undated items are the newest; among them, the one nearest the feed's "new" end first.
  const nearNewEnd = (index: number) => (order === 'oldest-first' ? n - index : index);
  ranked.sort((a, b) => b.at - a.at || nearNewEnd(a.index) - nearNewEnd(b.index));
  return ranked
    .slice(0, max)
    .sort((a, b) => a.index - b.index)
    .map((r) => r.item);
}

/** The direction most neighbouring dated items agree on (undated items in between are skipped). */
export function feedOrder(items: readonly FeedItem[]): FeedOrder {
  let previous: number | null = null;
  let descending = 0;
  let ascending = 0;
  for (const item of items) {
    const at = item.publishedAt?.getTime();
    if (at === undefined || Number.isNaN(at)) continue;
    if (previous !== null && at !== previous) {
      if (at < previous) descending++;
      else ascending++;
    }
    previous = at;
  }
  if (descending === ascending) return 'unknown';
  return descending > ascending ? 'newest-first' : 'oldest-first';
}

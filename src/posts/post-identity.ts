import { foldWords } from '../delivery/keyword-filter.ts';

/**
 * A post's (title, date) fingerprint: its folded title and its UTC publication day. A feed that
 * republishes its items with new guids (a platform migration, a CMS rebuild) keeps titles and dates, so a
 * draft whose guid is new but whose fingerprint is known is the same post. Null without a date: a title
 * alone ("Weekly links") is too weak to say two items are one.
 */
export function postFingerprint(title: string, publishedAt: Date | null): string | null {
  if (!publishedAt || Number.isNaN(publishedAt.getTime())) return null;
  const words = foldWords(title);
  if (words.length === 0) return null;
  return `${words.join(' ')}|${publishedAt.toISOString().slice(0, 10)}`;
}

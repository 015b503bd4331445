const SEGMENTER = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Shortens text to at most `max` UTF-16 units, cutting at a word boundary and adding `…`.
 * Never splits a surrogate pair or a grapheme cluster.
 */
export function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return max === 1 ? '…' : '';
  let end = 0;
  for (const { segment, index } of SEGMENTER.segment(text)) {
    if (index + segment.length > max - 1) break;
    end = index + segment.length;
  }
  const head = text.slice(0, end);
  const endsAtBoundary = /\s/.test(text.charAt(end));
  const lastSpace = head.search(/\s\S*$/);
  const cut = !endsAtBoundary && lastSpace > max * 0.5 ? head.slice(0, lastSpace) : head;
  return `${cut.replace(/[\s,;:–—-]+$/u, '')}…`;
}

/** Words in plain text, for word counts and reading time. */
export function countWords(text: string): number {
  const matches = text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu);
  return matches ? matches.length : 0;
}

/** Minutes at 238 words per minute (the adult silent-reading average), at least 1. */
export function readingMinutes(words: number): number {
  return Math.max(1, Math.round(words / 238));
}

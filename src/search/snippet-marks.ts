import type { Span } from '../commands/reply.ts';

/** Snippet markers around matched words: private-use characters, which ingest strips from feed text. */
export const MARK_OPEN = '\uE000';
export const MARK_CLOSE = '\uE001';

/** Turns snippet markers (FTS5's `snippet()`, PostgreSQL's `ts_headline`) into spans; feed text never contains the markers (ingest strips them). */
export function markedToSpans(marked: string): Span[] {
  const spans: Span[] = [];
  const pattern = new RegExp(`${MARK_OPEN}([^${MARK_CLOSE}]*)${MARK_CLOSE}`, 'g');
  let last = 0;
  for (const match of marked.matchAll(pattern)) {
    if (match.index > last) spans.push({ text: marked.slice(last, match.index) });
    spans.push({ text: match[1]!, bold: true });
    last = match.index + match[0].length;
  }
  if (last < marked.length) spans.push({ text: marked.slice(last) });
  return spans.filter((span) => span.text.length > 0);
}

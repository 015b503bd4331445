import type { SearchResults } from '../search/search-service.ts';

/** `inkwire search --json`: one object per hit, with at least id, title, url, publishedAt, score, snippet. */
export function searchResultsToJson(results: SearchResults) {
  return results.hits.map((hit) => ({
    id: hit.post.id,
    title: hit.post.title,
    url: hit.post.url,
    publishedAt: hit.post.publishedAt?.toISOString() ?? null,
    author: hit.post.author,
    previewOnly: hit.post.previewOnly,
    score: hit.score,
    matchedBy: hit.matchedBy,
    snippet: hit.snippet.map((span) => (span.bold ? `**${span.text}**` : span.text)).join(''),
  }));
}

export function formatSearchResults(results: SearchResults): string {
  if (results.hits.length === 0) return 'No posts match.';
  const total = results.totalIsLowerBound ? `${results.total - 1}+` : String(results.total);
  const lines = [
    `${results.offset + 1}–${results.offset + results.hits.length} of ${total}${results.fallback ? ' (no post has every word; showing posts with any)' : ''}`,
  ];
  for (const hit of results.hits) {
    const date = hit.post.publishedAt?.toISOString().slice(0, 10) ?? '????-??-??';
    lines.push(
      `\n${date}  ${hit.post.title}${hit.post.previewOnly ? '  [preview only]' : ''}${hit.matchedBy === 'paper' ? '  [cites the paper]' : ''}`,
      `  ${hit.post.url}`,
    );
    // Indented like the rest of the hit, every line of it (a snippet can span paragraphs).
    const snippet = hit.snippet.map((span) => (span.bold ? `*${span.text}*` : span.text)).join('').replace(/\s*\n\s*/g, '\n  ');
    if (snippet) lines.push(`  ${snippet}`);
  }
  return lines.join('\n');
}

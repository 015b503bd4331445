const COMPOUND = /[\p{L}\p{N}]+(?:[-‐‑–][\p{L}\p{N}]+)+/gu;

/**
 * Joined forms of hyphenated compounds ("fine-tuning" → "finetuning"), indexed beside the text so the
 * spellings people actually type — fine-tuning, finetuning, fine tuning — find the same posts.
 */
export function compoundAliases(...texts: ReadonlyArray<string | null>): string {
  const seen = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const match of text.matchAll(COMPOUND)) {
      const joined = match[0].replace(/[-‐‑–]/g, '').toLowerCase();
      if (joined.length <= 40) seen.add(joined);
    }
  }
  return [...seen].join(' ');
}

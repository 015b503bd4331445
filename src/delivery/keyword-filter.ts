import { UserError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';

export const MAX_KEYWORDS = 10;
export const MAX_KEYWORD_LENGTH = 60;
export const MAX_KEYWORDS_TEXT = 300;

/** Lower-case, accent-free words: how both keywords and posts are compared. */
export function foldWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

/**
 * Reads a keyword list as people type it: `diffusion, RLHF, "mixture of experts"`. With commas, each
 * comma-separated part is one keyword (a phrase if it has several words); without, each word or quoted
 * phrase is one. Stored folded (lower-case, no accents), so matching ignores case and accents.
 */
export function parseKeywords(input: string): Result<string[], UserError> {
  const text = input.normalize('NFKC').replace(/[“”„«»]/g, '"').trim();
  if (text.length === 0) return ok([]);
  if ([...text].length > MAX_KEYWORDS_TEXT) {
    return err(new UserError('keywords/too-long', `Keep keywords under ${MAX_KEYWORDS_TEXT} characters in total.`));
  }
  const parts: string[] = [];
  if (text.includes(',')) {
    parts.push(...text.split(',').map((part) => part.replace(/"/g, ' ')));
  } else {
    for (const match of text.matchAll(/"([^"]*)"?|(\S+)/g)) parts.push(match[1] ?? match[2] ?? '');
  }
  const keywords = [...new Set(parts.map((part) => foldWords(part).join(' ')).filter((k) => k.length > 0))];
  if (keywords.length === 0) {
    return err(new UserError('keywords/empty', 'Keywords need letters or numbers, e.g. `keywords:"diffusion, RLHF"`.'));
  }
  if (keywords.length > MAX_KEYWORDS) {
    return err(new UserError('keywords/too-many', `Use at most ${MAX_KEYWORDS} keywords (got ${keywords.length}).`));
  }
  const long = keywords.find((k) => k.length > MAX_KEYWORD_LENGTH);
  if (long) return err(new UserError('keywords/keyword-too-long', `Each keyword must be at most ${MAX_KEYWORD_LENGTH} characters.`));
  return ok(keywords);
}

/** Matches whole words and phrases in a post's title, subtitle and body; an empty list matches everything. */
export function createKeywordMatcher(post: { title: string; subtitle: string | null; text: string }) {
  const haystack = ` ${foldWords(`${post.title} ${post.subtitle ?? ''} ${post.text}`).join(' ')} `;
  return {
    /** The first keyword found, or null. */
    firstMatch(keywords: readonly string[]): string | null {
      return keywords.find((keyword) => haystack.includes(` ${keyword} `)) ?? null;
    },
    /** Every keyword found, in the list's order. */
    allMatches(keywords: readonly string[]): string[] {
      return keywords.filter((keyword) => haystack.includes(` ${keyword} `));
    },
    matches(keywords: readonly string[]): boolean {
      return keywords.length === 0 || keywords.some((keyword) => haystack.includes(` ${keyword} `));
    },
  };
}

import { parsePaperQuery, type PaperRef } from '../content/paper-refs.ts';
import { UserError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';

/** One thing to look for: a word, or several tokens that must be adjacent (a phrase). */
export interface QueryTerm {
  /** Lower-cased letters/digits only: nothing in a token is ever query syntax. */
  tokens: string[];
  /** Typed as a quoted phrase (or split by punctuation, like `gpt-4` or `you're`). */
  phrase: boolean;
  /** Trailing `*`: the last token is a prefix. */
  prefix: boolean;
  /** Leading `-`: posts containing it are excluded. */
  negated: boolean;
  /** Written with hyphens (`fine-tuning`): the joined form (`finetuning`) also matches. */
  hyphenated: boolean;
}

/** A parsed `/search` query: text terms plus filters, or a paper reference. */
export interface SearchQuery {
  raw: string;
  terms: QueryTerm[];
  author: string[] | null;
  before: Date | null;
  after: Date | null;
  paper: PaperRef | null;
  /** Set when the query was shortened (too many terms). */
  notice: string | null;
}

export const MAX_QUERY_LENGTH = 300;
export const MAX_TERMS = 16;

const TOKEN_SPLIT = /[^\p{L}\p{N}\p{M}]+/u;
const FILTER = /^(author|before|after):/i;

/** Straight quotes for typographic ones, so `you’re` and `you're`, `“phrase”` and `"phrase"` are the same. */
function normalise(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[“”„‟«»〝〞＂]/g, '"')
    .replace(/[‘’‚‛′`´]/g, "'")
    .replace(/[\u0000-\u001F\u007F-\u009F]/g, ' ');
}

function tokensOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(TOKEN_SPLIT)
    .filter((token) => token.length > 0)
    .map((token) => (token.length > 64 ? token.slice(0, 64) : token));
}

/**
 * Parses what a user typed. Never throws: unsearchable or over-long input comes back as a `UserError`
 * with a message to show. Syntax: words, `"exact phrase"`, `-excluded`, `prefix*`, `author:name`,
 * `before:YYYY-MM-DD`, `after:YYYY-MM-DD`; an arXiv id/URL or DOI alone looks the paper up.
 */
export function parseSearchQuery(input: string): Result<SearchQuery, UserError> {
  const text = normalise(input).trim();
  if ([...text].length > MAX_QUERY_LENGTH) {
    return err(
      new UserError(
        'search/query-too-long',
        `That search is ${[...text].length} characters long; the limit is ${MAX_QUERY_LENGTH}. Try the few words that matter most.`,
      ),
    );
  }
  const paper = parsePaperQuery(text);
  const query: SearchQuery = { raw: text, terms: [], author: null, before: null, after: null, paper, notice: null };
  if (paper) return ok(query);

  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let negated = false;
    if (text[i] === '-' && i + 1 < text.length && !/\s/.test(text[i + 1]!)) {
      negated = true;
      i++;
    }
    const filter = FILTER.exec(text.slice(i));
    if (filter && !negated) {
      i += filter[0].length;
      let value: string;
      if (text[i] === '"') {
        const end = text.indexOf('"', i + 1);
        value = text.slice(i + 1, end === -1 ? text.length : end);
        i = end === -1 ? text.length : end + 1;
      } else {
        const start = i;
        while (i < text.length && !/\s/.test(text[i]!)) i++;
        value = text.slice(start, i);
      }
      const name = filter[1]!.toLowerCase();
      if (name === 'author') {
        const tokens = tokensOf(value);
        if (tokens.length === 0) return err(new UserError('search/bad-author', 'Put a name after `author:`, e.g. `author:somani`.'));
        query.author = tokens;
      } else {
        const date = parseDay(value);
        if (!date) {
          return err(new UserError('search/bad-date', `\`${name}:\` needs a date like \`${name}:2024-01-31\` (got "${value.slice(0, 20)}").`));
        }
        if (name === 'before') query.before = date;
        else query.after = new Date(date.getTime() + 24 * 3600 * 1000);
      }
      continue;
    }
    let chunk: string;
    let quoted = false;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      chunk = text.slice(i + 1, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end + 1;
      quoted = true;
      if (text[i] === '*') i++; // a star after a phrase is ignored, not syntax
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!) && text[i] !== '"') i++;
      chunk = text.slice(start, i);
    }
    const prefix = !quoted && /[\p{L}\p{N}]\*+$/u.test(chunk);
    const tokens = tokensOf(chunk);
    if (tokens.length === 0) continue;
    query.terms.push({
      tokens,
      phrase: tokens.length > 1,
      prefix,
      negated,
      hyphenated: !quoted && tokens.length > 1 && /^[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+\**$/u.test(chunk),
    });
  }
  if (query.terms.length > MAX_TERMS) {
    query.terms = query.terms.slice(0, MAX_TERMS);
    query.notice = `Only the first ${MAX_TERMS} words were used.`;
  }
  if (query.terms.length > 0 && query.terms.every((term) => term.negated)) {
    return err(new UserError('search/only-exclusions', 'Add at least one word to look for; `-word` only excludes.'));
  }
  if (query.terms.length === 0 && !query.author && !query.before && !query.after) {
    return err(new UserError('search/nothing-searchable', 'Type at least one word to search for (letters or numbers).'));
  }
  return ok(query);
}

function parseDay(value: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return null;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.getUTCDate() === Number(match[3]) && date.getUTCMonth() === Number(match[2]) - 1 ? date : null;
}

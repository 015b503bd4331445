import type { QueryTerm, SearchQuery } from '../../search/search-query.ts';

/**
 * Builds FTS5 MATCH expressions from a parsed query. Safe by construction: every token is made only of
 * letters, digits and marks (the parser guarantees it) and is always inside double quotes, so `AND`,
 * `OR`, `NEAR`, `*`, `^`, `:`, `(`, `"` and column names typed by a user are only ever text.
 */
const quote = (token: string) => `"${token}"`;

export interface ExpressionOptions {
  /** Join positive terms with OR instead of AND (the "any word" fallback). */
  anyWord?: boolean;
  /** Phrases become AND of their tokens: a superset used to size the candidate set cheaply. */
  relaxed?: boolean;
  /** Leave out exclusions and the author filter (for the head index, which has no author column). */
  positivesOnly?: boolean;
  /** Joined forms known to exist in the index for adjacent word pairs, e.g. `fine tuning` → `finetuning`. */
  joinedPairs?: ReadonlyMap<number, string>;
}

/** The porter stemmer indexes "learning" as "learn", so `learnin*` alone would miss it. */
function prefixTerm(token: string): string {
  if (token.length >= 6) return `(${quote(token)}* OR ${quote(token.slice(0, Math.max(4, token.length - 2)))}*)`;
  return `${quote(token)}*`;
}

function termExpression(term: QueryTerm, relaxed: boolean): string {
  const { tokens } = term;
  if (tokens.length === 1) return term.prefix ? prefixTerm(tokens[0]!) : quote(tokens[0]!);
  let core: string;
  if (relaxed) {
    core = `(${tokens.map((t, i) => (term.prefix && i === tokens.length - 1 ? prefixTerm(t) : quote(t))).join(' AND ')})`;
  } else {
    core = `${quote(tokens.join(' '))}${term.prefix ? '*' : ''}`;
  }
  return term.hyphenated ? `(${core} OR ${quote(tokens.join(''))})` : core;
}

/** The MATCH expression for the full index, or null when nothing positive remains. */
export function buildMatchExpression(query: SearchQuery, options: ExpressionOptions = {}): string | null {
  const parts: string[] = [];
  const positives = query.terms.filter((t) => !t.negated);
  for (let i = 0; i < positives.length; i++) {
    const term = positives[i]!;
    const joined = options.joinedPairs?.get(i);
    if (joined !== undefined && !options.anyWord) {
      const next = positives[i + 1]!;
      parts.push(`((${termExpression(term, true)} AND ${termExpression(next, true)}) OR ${quote(joined)})`);
      i++;
      continue;
    }
    parts.push(termExpression(term, options.relaxed ?? false));
  }
  let expression = parts.join(options.anyWord ? ' OR ' : ' AND ');
  if (!options.positivesOnly && query.author) {
    const author = `{author} : (${query.author.map((t, i) => (i === query.author!.length - 1 ? `${quote(t)}*` : quote(t))).join(' AND ')})`;
    expression = expression ? `(${expression}) AND ${author}` : author;
  }
  if (!expression) return null;
  const negatives = query.terms.filter((t) => t.negated);
  if (!options.positivesOnly && negatives.length > 0) {
    expression = `(${expression}) NOT (${negatives.map((t) => termExpression({ ...t, prefix: t.prefix }, false)).join(' OR ')})`;
  }
  return expression;
}

/** Adjacent plain single-word positive terms, as candidates for a joined form (`fine tuning` → `finetuning`). */
export function adjacentWordPairs(query: SearchQuery): Array<{ index: number; joined: string }> {
  const positives = query.terms.filter((t) => !t.negated);
  const pairs: Array<{ index: number; joined: string }> = [];
  for (let i = 0; i + 1 < positives.length && pairs.length < 8; i++) {
    const a = positives[i]!;
    const b = positives[i + 1]!;
    if (a.tokens.length === 1 && b.tokens.length === 1 && !a.prefix && !b.prefix) {
      pairs.push({ index: i, joined: a.tokens[0]! + b.tokens[0]! });
    }
  }
  return pairs;
}

/** Autocomplete over titles: every typed word, the last one as a prefix while the user is still typing. */
export function buildAutocompleteExpression(partial: string, anchored: boolean): string | null {
  const tokens = partial
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}\p{M}]+/u)
    .filter((t) => t.length > 0)
    .slice(0, 8);
  if (tokens.length === 0) return null;
  const stillTyping = !/\s$/.test(partial);
  const parts = tokens.map((t, i) => (i === tokens.length - 1 && stillTyping ? `${quote(t)}*` : quote(t)));
  return anchored ? `^${parts[0]} ${parts.slice(1).join(' ')}`.trim() : parts.join(' ');
}

/** A paper a post explains or cites, normalised so the same paper always has the same id. */
export interface PaperRef {
  kind: 'arxiv' | 'doi';
  /** arXiv: `2205.14135` (no version) or `cs/0112017`; DOI: lower-cased `10.1038/…`. */
  id: string;
  /** The paper's title, when the post names it (the text of a link to the paper). */
  title?: string;
}

/** Link text that is a title, not "arXiv", "paper", "here" or the URL itself. */
export function titleFromLinkText(text: string): string | null {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length < 12 || clean.length > 300) return null;
  if (/^(arxiv|paper|the paper|here|link|pdf|doi|this paper|source)$/i.test(clean) || /^https?:|arxiv\.org|doi\.org|^\d{4}\.\d{4,5}/i.test(clean)) return null;
  return clean;
}

const ARXIV_NEW = String.raw`\d{4}\.\d{4,5}`;
const ARXIV_OLD = String.raw`[a-z][a-z.-]{1,20}/\d{7}`;
const ARXIV_URL = new RegExp(
  String.raw`arxiv\.org/(?:abs|pdf|html|format)/(${ARXIV_NEW}|${ARXIV_OLD})(?:v\d+)?`,
  'gi',
);
const ARXIV_LABEL = new RegExp(String.raw`\barxiv:\s?(${ARXIV_NEW}|${ARXIV_OLD})(?:v\d+)?`, 'gi');
const DOI = /\b(10\.\d{4,9}\/[-._;()/:a-z0-9<>[\]]{1,200})/gi;
const ARXIV_DOI = new RegExp(String.raw`^10\.48550/arxiv\.(${ARXIV_NEW})`, 'i');

/** Every distinct paper reference in a body of text and link targets, in order of appearance. */
export function extractPaperRefs(sources: readonly string[]): PaperRef[] {
  const seen = new Set<string>();
  const refs: PaperRef[] = [];
  const add = (ref: PaperRef) => {
    const key = `${ref.kind}:${ref.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      refs.push(ref);
    }
  };
  for (const source of sources) {
    for (const match of source.matchAll(ARXIV_URL)) add({ kind: 'arxiv', id: match[1]!.toLowerCase() });
    for (const match of source.matchAll(ARXIV_LABEL)) add({ kind: 'arxiv', id: match[1]!.toLowerCase() });
    for (const match of source.matchAll(DOI)) {
      const ref = doiRef(match[1]!);
      if (ref) add(ref);
    }
  }
  return refs;
}

/**
 * What a DOI is, beyond its characters: `10.<registrant>/<suffix>`, where the suffix never holds markup
 * (`](`, `)[`, a `://` URL) and its brackets balance — `(SICI)…<475::AID-JBM6>…` is real, a trailing `)`
 * or `>` from the surrounding prose is not. Brackets that stay are percent-encoded when linked.
 */
function trimDoi(raw: string): string {
  let doi = raw;
  const markup = /\]\(|\)\[|:\/\/|\[[a-z]+:/i.exec(doi);
  if (markup) doi = doi.slice(0, markup.index);
  for (;;) {
    const trimmed = doi.replace(/[.,;:]+$/, '');
    const last = trimmed.at(-1);
    const pairs: Record<string, string> = { ')': '(', ']': '[', '>': '<' };
    const open = last ? pairs[last] : undefined;
    if (open && count(trimmed, last!) > count(trimmed, open)) {
      doi = trimmed.slice(0, -1);
      continue;
    }
    doi = trimmed;
    break;
  }
  // An opening bracket left without its partner ends the DOI there.
  for (const [open, close] of [['(', ')'], ['[', ']'], ['<', '>']] as const) {
    if (count(doi, open) > count(doi, close)) doi = doi.slice(0, doi.lastIndexOf(open)).replace(/[.,;:]+$/, '');
  }
  return doi;
}

const count = (text: string, ch: string) => text.split(ch).length - 1;

function doiRef(raw: string): PaperRef | null {
  const doi = trimDoi(raw).toLowerCase();
  if (doi.length < 8) return null;
  const arxiv = ARXIV_DOI.exec(doi);
  if (arxiv) return { kind: 'arxiv', id: arxiv[1]! };
  return { kind: 'doi', id: doi };
}

/**
 * Reads a search query that is nothing but a paper reference (`2205.14135`, `arXiv:2205.14135v2`,
 * `https://arxiv.org/pdf/2205.14135`, `10.1038/…`, `https://doi.org/10.1038/…`). Null otherwise.
 */
export function parsePaperQuery(query: string): PaperRef | null {
  const trimmed = query.trim();
  if (trimmed.length === 0 || trimmed.length > 300 || /\s/.test(trimmed)) return null;
  const bare = new RegExp(String.raw`^(?:arxiv:)?(${ARXIV_NEW})(?:v\d+)?$`, 'i').exec(trimmed);
  if (bare) return { kind: 'arxiv', id: bare[1]! };
  const refs = extractPaperRefs([trimmed]);
  if (refs.length !== 1) return null;
  return refs[0]!;
}

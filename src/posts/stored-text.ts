import type { PostDraft } from './post.ts';

// C0 controls but tab, newline and carriage return (PostgreSQL refuses NUL in text; none of them is text), and
// UTF-16 surrogates without their pair (no UTF-8 encoding exists for them).
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as every store keeps it: C0 control characters other than tab, newline and CR removed, and lone
 * surrogates replaced by U+FFFD. The one rule at the storage boundary, applied by the SQLite and the
 * PostgreSQL post stores and by `migrate-data` to rows stored before it, so no feed's bytes can make one
 * store refuse what the other accepts.
 */
export function storableText(value: string): string {
  return value.replace(CONTROLS, '').replace(LONE_SURROGATES, '\uFFFD');
}

/** `storableText` for a nullable value. */
export function storableOrNull(value: string | null): string | null {
  return value === null ? null : storableText(value);
}

/** Every text field of a draft made storable (see `storableText`). */
export function storableDraft(draft: PostDraft): PostDraft {
  return {
    ...draft,
    key: storableText(draft.key),
    guid: storableOrNull(draft.guid),
    url: storableText(draft.url),
    title: storableText(draft.title),
    subtitle: storableOrNull(draft.subtitle),
    author: storableOrNull(draft.author),
    coverImageUrl: storableOrNull(draft.coverImageUrl),
    html: storableText(draft.html),
    text: storableText(draft.text),
    tldr: storableOrNull(draft.tldr),
    papers: draft.papers.map((paper) => ({ ...paper, id: storableText(paper.id), ...(paper.title !== undefined ? { title: storableText(paper.title) } : {}) })),
  };
}

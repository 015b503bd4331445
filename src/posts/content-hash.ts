import { createHash } from 'node:crypto';
import type { PostDraft } from './post.ts';

/** What counts as an edit: a change to anything a reader sees. */
export function postContentHash(draft: PostDraft): string {
  return createHash('sha256')
    .update(
      JSON.stringify([draft.title, draft.subtitle, draft.author, draft.coverImageUrl, draft.previewOnly, draft.url, draft.text]),
    )
    .digest('hex');
}

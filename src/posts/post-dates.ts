import type { PostDraft } from './post.ts';

/**
 * How far past the fetch time a feed's date may be and still be believed: 10 minutes. Clocks of publishers'
 * servers drift by seconds to a few minutes, and some CMSes stamp a post a few minutes ahead when it is
 * scheduled; a date beyond that is a typo (a wrong year) or a post scheduled but published early. Ten
 * minutes is well under any poll interval, so a clamped date never reorders posts of two polls.
 */
export const FUTURE_DATE_TOLERANCE_MS = 10 * 60_000;

/**
 * A feed's date is evidence, not truth: a date more than `FUTURE_DATE_TOLERANCE_MS` after `fetchedAt` is
 * replaced by `fetchedAt` (the post cannot have been published after we read it), and the feed's claim is
 * kept in `claimedPublishedAt` for operators. Returns the draft unchanged otherwise.
 */
export function clampFutureDate(draft: PostDraft, fetchedAt: Date): PostDraft {
  if (!isBeyondTolerance(draft.publishedAt, fetchedAt)) return draft;
  return { ...draft, publishedAt: fetchedAt, claimedPublishedAt: draft.publishedAt };
}

/** True when `date` lies further in the future than the tolerance allows, seen from `now`. */
export function isBeyondTolerance(date: Date | null, now: Date): boolean {
  return date !== null && date.getTime() > now.getTime() + FUTURE_DATE_TOLERANCE_MS;
}

/** The date a post's fingerprint uses: the feed's own claim when it was clamped, so the fingerprint is stable across polls. */
export function fingerprintDate(draft: Pick<PostDraft, 'publishedAt' | 'claimedPublishedAt'>): Date | null {
  return draft.claimedPublishedAt ?? draft.publishedAt;
}

import { createHash } from 'node:crypto';

const TRACKING_PARAMS = /^(utm_[a-z]+|ref|r|s|triedRedirect|publication_id|post_id|isFreemail|token|action)$/i;

/** A URL with tracking parameters, fragments and trailing slashes removed; null when unparseable. */
export function normaliseUrl(raw: string | null): string | null {
  if (!raw) return null;
  try {
    const url = new URL(raw.trim());
    url.hash = '';
    for (const name of [...url.searchParams.keys()]) {
      if (TRACKING_PARAMS.test(name)) url.searchParams.delete(name);
    }
    url.hostname = url.hostname.toLowerCase();
    if (url.pathname.length > 1 && url.pathname.endsWith('/')) url.pathname = url.pathname.replace(/\/+$/, '');
    return url.toString();
  } catch {
    return null;
  }
}

/** The Substack post slug (`/p/<slug>`) of a URL, if it has one. */
export function substackSlug(raw: string | null): string | null {
  if (!raw) return null;
  try {
    const match = /^\/p\/([^/?#]+)\/?$/.exec(new URL(raw).pathname);
    return match?.[1] ? decodeURIComponent(match[1]).toLowerCase() : null;
  } catch {
    return null;
  }
}

/**
 * A post's identity within its feed, chosen to survive a custom-domain switch: the Substack
 * `/p/<slug>` path where there is one, else the guid, else the normalised link, else a hash.
 */
export function postKey(item: { link: string | null; guid: string | null; title: string | null; publishedAt: Date | null }): string {
  const slug = substackSlug(item.link) ?? substackSlug(item.guid);
  if (slug) return `slug:${slug}`;
  if (item.guid) return `guid:${item.guid}`;
  const link = normaliseUrl(item.link);
  if (link) return `link:${link}`;
  const digest = createHash('sha256')
    .update(`${item.title ?? ''}\u0000${item.publishedAt?.toISOString() ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return `hash:${digest}`;
}

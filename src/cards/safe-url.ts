/**
 * Characters that end or break a link in chat markup: `)` and `]` close a Discord masked link `[label](url)`,
 * `|` and `>` split or close a Slack link `<url|label>`, `<` opens one, and quotes, backslashes, backticks,
 * braces and spaces confuse both, and an `@` could read as `@everyone` in text. Percent-encoding them keeps
 * the URL's meaning (credentials are dropped first, so no `@` is left in the authority) and makes it inert.
 */
const LINK_BREAKING = /[()[\]<>|"'`\\{}^@\s]/g;

/** The longest link Inkwire puts in any card (platforms accept more; nothing legitimate needs it). */
export const LINK_MAX_LENGTH = 2048;

/**
 * The one way a URL reaches a card: parsed with `URL`, http(s) only, credentials dropped, re-serialised,
 * link-breaking characters percent-encoded, at most `maxLength` characters. Anything else is null: the
 * caller shows the text without a link.
 */
export function safeLinkUrl(raw: string | null | undefined, maxLength = LINK_MAX_LENGTH): string | null {
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  url.username = '';
  url.password = '';
  const href = url.href.replace(LINK_BREAKING, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return href.length <= maxLength ? href : null;
}

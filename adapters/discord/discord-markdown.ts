import { hyperlink } from '@discordjs/formatters';
import { safeLinkUrl } from '../../src/cards/safe-url.ts';

/**
 * Makes feed text inert in Discord markdown: every character Discord gives meaning to is escaped
 * (bold, italics, code, spoilers, quotes, headings, lists, masked links), mention syntax is broken up
 * so `<@&role>` and `<#channel>` show as text, and `@everyone`/`@here` get a zero-width space. Mentions
 * are also disabled by `allowed_mentions` on every message; this keeps the text from even looking like one.
 */
export function escapeDiscord(text: string): string {
  return text
    .replace(/[\\*_~`|>#\-[\]()<:]/g, (ch) => `\\${ch}`)
    .replace(/@(everyone|here)/gi, '@\u200b$1')
    .replace(/^(\s*)(\d+)\./gm, '$1$2\\.');
}

/**
 * For embed fields Discord shows as plain text (author, footer): no markdown to escape, but
 * `@everyone`/`@here` still get a zero-width space so they never read as a ping.
 */
export function plainDiscord(text: string): string {
  return text.replace(/@(everyone|here)/gi, '@\u200b$1');
}

/**
 * The one way Inkwire writes a Discord masked link: the label escaped, the URL made safe (`safeLinkUrl`:
 * http(s), re-serialised, `()[]<>` and the like percent-encoded). A URL that is not safe leaves the label
 * as plain escaped text, never a link.
 */
export function markdownLink(label: string, url: string | null | undefined): string {
  const safe = safeLinkUrl(url);
  return safe ? hyperlink(escapeDiscord(label), safe) : escapeDiscord(label);
}

/** Cuts text to `max` characters at a word boundary, adding `…`, never inside an escape or a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  const space = cut.lastIndexOf(' ');
  if (space > max * 0.6) cut = cut.slice(0, space);
  cut = cut.replace(/\\+$/, (run) => (run.length % 2 === 1 ? run.slice(0, -1) : run));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

import { PREVIEW_LABEL, type PostCard } from '../../src/cards/post-card.ts';
import type { Reply, Span } from '../../src/commands/reply.ts';

/** Terminal styling; `plain` for pipes and files. */
export interface Style {
  bold(value: string): string;
  dim(value: string): string;
  italic(value: string): string;
}

export const ansiStyle: Style = {
  bold: (v) => `\u001b[1m${v}\u001b[22m`,
  dim: (v) => `\u001b[2m${v}\u001b[22m`,
  italic: (v) => `\u001b[3m${v}\u001b[23m`,
};

export const plainStyle: Style = { bold: (v) => v, dim: (v) => v, italic: (v) => v };

/**
 * Feed text may carry terminal escape sequences; printing them could rewrite the screen or the
 * title bar. Everything from a feed goes through here: escapes and control characters are removed.
 */
export function terminalSafe(value: string): string {
  return value
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g, '')
    .replace(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/g, '');
}

export function renderSpans(spans: readonly Span[], style: Style): string {
  return spans
    .map((span) => {
      let out = terminalSafe(span.channelRef ? `#${span.channelRef}` : span.roleRef ? `@${span.roleRef}` : span.text);
      if (span.code) out = `\`${out}\``;
      if (span.bold) out = style.bold(out);
      if (span.italic) out = style.italic(out);
      if (span.url && span.url !== span.text) out = `${out} <${terminalSafe(span.url)}>`;
      return out;
    })
    .join('');
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

export function renderCard(card: PostCard, style: Style, heading?: string, snippet?: readonly Span[]): string {
  const meta = [
    card.author,
    card.publishedAt ? DATE.format(card.publishedAt) : null,
    `${card.readingMinutes} min read`,
  ].filter((part): part is string => part !== null);
  const lines = [
    heading ? style.dim(`── ${terminalSafe(heading)} ${'─'.repeat(Math.max(4, 48 - heading.length))}`) : null,
    style.bold(terminalSafe(card.title)),
    card.matched && card.matched.length > 0 ? `Matched your alert: ${card.matched.map((k) => style.bold(terminalSafe(k))).join(', ')}` : null,
    card.previewOnly ? style.bold(`🔒 ${PREVIEW_LABEL}`) : null,
    snippet ? renderSpans(snippet, style) : card.tldr ? `tl;dr: ${terminalSafe(card.tldr)}` : null,
    card.subtitle ? style.italic(terminalSafe(card.subtitle)) : null,
    style.dim(terminalSafe(meta.join(' · '))),
    card.papers.length > 0 ? `Papers explained: ${card.papers.map((p) => `${terminalSafe(p.label)} <${terminalSafe(p.url)}>`).join(', ')}` : null,
    card.url ? `Read the explainer: ${terminalSafe(card.url)}` : null,
  ];
  return lines.filter((line): line is string => line !== null).join('\n');
}

export function renderReply(reply: Reply, style: Style): string {
  const parts: string[] = [];
  if (reply.visibility === 'private') parts.push(style.dim('(only you can see this)'));
  for (const block of reply.blocks) {
    parts.push(block.kind === 'text' ? renderSpans(block.spans, style) : `${renderCard(block.card, style, undefined, block.snippet)}\n`);
  }
  if (reply.buttons && reply.buttons.length > 0) {
    parts.push(style.dim(`Buttons: ${reply.buttons.map((b) => `[${terminalSafe(b.label)}] (type /press ${b.action})`).join('  ')}`));
  }
  return parts.join('\n').replace(/\n+$/, '');
}

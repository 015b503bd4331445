import { hyperlink } from '@discordjs/formatters';
import { safeLinkUrl } from '../../src/cards/safe-url.ts';
import { PREVIEW_LABEL, type PostCard } from '../../src/cards/post-card.ts';
import type { Reply, ReplyButton, Span } from '../../src/commands/reply.ts';
import type { OutgoingMessage } from '../../src/platform/chat-platform.ts';
import { clip, escapeDiscord, markdownLink, plainDiscord } from './discord-markdown.ts';

/** Discord's published limits. */
export const LIMITS = { title: 256, description: 4096, footer: 2048, author: 256, fieldName: 256, fieldValue: 1024, total: 6000, content: 2000, customId: 100, embeds: 10 } as const;
export const INKWIRE_COLOUR = 0x2f6fde;

/** Plain text cut to `max` before escaping (so an escape is never cut in half). */
const clipText = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`);

export interface DiscordEmbed {
  title?: string;
  url?: string;
  description?: string;
  color?: number;
  timestamp?: string;
  author?: { name: string };
  footer?: { text: string };
  image?: { url: string };
  fields?: Array<{ name: string; value: string; inline?: boolean }>;
}

export interface DiscordMessageBody {
  content?: string;
  embeds?: DiscordEmbed[];
  components?: unknown[];
  allowed_mentions: { parse: []; roles?: string[] };
  nonce?: string;
  enforce_nonce?: boolean;
  flags?: number;
}

function embedLength(embed: DiscordEmbed): number {
  return (
    (embed.title?.trim().length ?? 0) +
    (embed.description?.trim().length ?? 0) +
    (embed.author?.name.trim().length ?? 0) +
    (embed.footer?.text.trim().length ?? 0) +
    (embed.fields ?? []).reduce((n, f) => n + f.name.trim().length + f.value.trim().length, 0)
  );
}


/** An explainer card as one embed, every limit enforced and every feed string escaped. */
export function cardEmbed(card: PostCard, snippet?: readonly Span[]): DiscordEmbed {
  // At a glance: a paid post says so first, then the tl;dr (or, in search, the matching passage), then the subtitle.
  const lines: string[] = [];
  if (card.matched && card.matched.length > 0) lines.push(`🔔 Matched your alert: ${card.matched.map((k) => `**${escapeDiscord(k)}**`).join(', ')}`);
  if (card.previewOnly) lines.push(`🔒 **${PREVIEW_LABEL}**`);
  if (snippet && snippet.length > 0) lines.push(spansToMarkdown(snippet)); // FTS5 puts '…' where it cut
  else if (card.tldr) lines.push(`**tl;dr** ${escapeDiscord(card.tldr)}`);
  if (card.subtitle) lines.push(`*${escapeDiscord(card.subtitle)}*`);
  const embed: DiscordEmbed = {
    title: clip(escapeDiscord(card.title), LIMITS.title),
    ...(card.url ? { url: card.url } : {}),
    description: clip(lines.join('\n\n'), LIMITS.description),
    color: INKWIRE_COLOUR,
    footer: { text: clip(plainDiscord(`${card.feedTitle ?? 'Inkwire'} · ${card.readingMinutes} min read`), LIMITS.footer) },
  };
  if (card.author) embed.author = { name: clip(plainDiscord(card.author), LIMITS.author) };
  if (card.publishedAt) embed.timestamp = card.publishedAt.toISOString();
  if (card.coverImageUrl) embed.image = { url: card.coverImageUrl };
  if (card.papers.length > 0) {
    // Whole links only: a link cut in half by the field limit would be broken markup.
    const links: string[] = [];
    for (const p of card.papers) {
      const next = markdownLink(p.label, p.url);
      if ([...links, next].join('\n').length > LIMITS.fieldValue) break;
      links.push(next);
    }
    if (links.length > 0) embed.fields = [{ name: 'Papers explained', value: links.join('\n') }];
  }
  // The 6000-character total: shorten the description until the whole embed fits.
  const over = embedLength(embed) - LIMITS.total;
  if (over > 0 && embed.description) embed.description = clip(embed.description, Math.max(1, embed.description.length - over - 1));
  return embed;
}

/** Discord refuses a link button whose URL is longer than this (50035), a limit its schema does not show. */
export const BUTTON_URL_MAX = 512;

/** The "Read the explainer" row, or nothing when the URL is not one Discord accepts on a button. */
export function linkButtonRows(url: string | null): unknown[] {
  if (!url || url.length > BUTTON_URL_MAX || !/^https?:\/\//i.test(url)) return [];
  return [{ type: 1, components: [{ type: 2, style: 5, label: 'Read the explainer', url }] }];
}

/** A nonce is at most 25 characters; the delivery's idempotency key is used as is when it fits. */
export function nonceFor(key: string): string {
  if (key.length <= 25) return key;
  let hash = 0;
  for (const ch of key) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  return `${key.slice(0, 16)}-${(hash >>> 0).toString(36)}`.slice(0, 25);
}

/** A delivery as a channel message: the card, a link button, only the subscription's role may be pinged. */
export function deliveryMessage(message: OutgoingMessage, idempotencyKey: string): DiscordMessageBody {
  const nonce = { nonce: nonceFor(idempotencyKey), enforce_nonce: true };
  if (message.kind === 'post') {
    const role = message.mentionId && /^\d{17,20}$/.test(message.mentionId) ? message.mentionId : null;
    return {
      ...(role ? { content: `<@&${role}>` } : {}),
      embeds: [cardEmbed(message.card)],
      // Limits are enforced here, before sending: a too-long URL loses its button (the title still links).
      components: linkButtonRows(message.card.url),
      allowed_mentions: role ? { parse: [], roles: [role] } : { parse: [] },
      ...nonce,
    };
  }
  const cards = message.cards.slice(0, 10);
  const lines = cards.map((c) => `**${markdownLink(clipText(c.title, 200), c.url)}**${c.tldr ? `\n${clip(escapeDiscord(c.tldr), 200)}` : ''}`);
  const more = message.cards.length > cards.length ? `\n\n…and ${message.cards.length - cards.length} more.` : '';
  return {
    embeds: [{ title: clip(escapeDiscord(message.title), LIMITS.title), description: clip(lines.join('\n\n') + more, LIMITS.description), color: INKWIRE_COLOUR }],
    allowed_mentions: { parse: [] },
    ...nonce,
  };
}

export function spansToMarkdown(spans: readonly Span[]): string {
  return spans
    .map((span) => {
      if (span.channelRef && /^\d{17,20}$/.test(span.channelRef)) return `<#${span.channelRef}>`;
      if (span.roleRef && /^\d{17,20}$/.test(span.roleRef)) return `<@&${span.roleRef}>`;
      let out = escapeDiscord(span.text);
      if (!out.trim()) return out;
      if (span.code) out = `\`${span.text.replace(/`/g, 'ˋ')}\``;
      if (span.bold) out = `**${out}**`;
      if (span.italic) out = `*${out}*`;
      if (span.url && safeLinkUrl(span.url)) out = hyperlink(out, safeLinkUrl(span.url)!);
      return out;
    })
    .join('');
}

function buttonRow(buttons: readonly ReplyButton[]) {
  const style = { primary: 1, secondary: 2, danger: 4 } as const;
  return {
    type: 1,
    components: buttons.slice(0, 5).map((b) => ({ type: 2, style: style[b.style ?? 'secondary'], label: clip(b.label, 80), custom_id: b.action.slice(0, LIMITS.customId) })),
  };
}

/** A command reply as interaction response data (ephemeral when private). */
export function replyData(reply: Reply): DiscordMessageBody {
  const text: string[] = [];
  const embeds: DiscordEmbed[] = [];
  let cards = 0;
  for (const block of reply.blocks) {
    if (block.kind === 'text') text.push(spansToMarkdown(block.spans));
    else {
      cards++;
      if (embeds.length < LIMITS.embeds) embeds.push(cardEmbed(block.card, block.snippet));
    }
  }
  // Keep the embeds' combined size under the message total: whole cards only, and say what was left out.
  while (embeds.length > 1 && embeds.reduce((n, e) => n + embedLength(e), 0) > LIMITS.total) embeds.pop();
  if (embeds.length < cards) text.push(`*${cards - embeds.length} more not shown here${reply.moreHint ? ` — ${reply.moreHint}` : ''}*`);
  const content = clip(text.join('\n'), LIMITS.content);
  return {
    ...(content ? { content } : {}),
    ...(embeds.length > 0 ? { embeds } : {}),
    ...(reply.buttons && reply.buttons.length > 0 ? { components: [buttonRow(reply.buttons)] } : {}),
    allowed_mentions: { parse: [] },
    ...(reply.visibility === 'private' ? { flags: 64 } : {}),
  };
}

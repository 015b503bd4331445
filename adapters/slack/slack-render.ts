import { safeLinkUrl } from '../../src/cards/safe-url.ts';
import { PREVIEW_LABEL, type PostCard } from '../../src/cards/post-card.ts';
import type { Reply, ReplyButton, Span } from '../../src/commands/reply.ts';
import type { OutgoingMessage } from '../../src/platform/chat-platform.ts';

export const SLACK_LIMITS = { header: 150, section: 3000, button: 75, blocks: 50, text: 3000, blocksJson: 12_000 } as const;

/**
 * Slack's escaping: `&`, `<`, `>` become entities, so feed text can never form `<!channel>`, `<@U…>` or a
 * `<url|label>` link. `@channel`-style words also get a zero-width space, in case a client links names.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/@(channel|here|everyone)/gi, '@\u200b$1');
}

/** Cuts at a word boundary, never inside an entity or a surrogate pair. */
export function clipSlack(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  if (space > max * 0.6) cut = cut.slice(0, space);
  cut = cut.replace(/&[a-z]{0,4}$/, '');
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

/**
 * The one way Inkwire writes a Slack link `<url|label>`: the URL made safe (`safeLinkUrl`: http(s),
 * re-serialised, `<`, `>`, `|` and the like percent-encoded), the label escaped. A URL that is not safe
 * leaves the label as plain escaped text.
 */
export function slackLink(url: string | null | undefined, label: string): string {
  const safe = safeLinkUrl(url);
  // Slack's text is entity-encoded throughout, links included: a query's `&` travels as `&amp;`.
  return safe ? `<${safe.replace(/&/g, '&amp;')}|${escapeSlack(label).replace(/\|/g, '¦')}>` : escapeSlack(label);
}
const link = slackLink;

export function spansToMrkdwn(spans: readonly Span[]): string {
  return spans
    .map((span) => {
      if (span.channelRef && /^[CG][A-Z0-9]{6,}$/.test(span.channelRef)) return `<#${span.channelRef}>`;
      let out = escapeSlack(span.text);
      if (!out.trim()) return out;
      if (span.code) out = `\`${out.replace(/`/g, 'ˋ')}\``;
      if (span.bold) out = `*${out}*`;
      if (span.italic) out = `_${out}_`;
      if (span.url && safeLinkUrl(span.url)) out = link(span.url, span.text);
      return out;
    })
    .join('');
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

/** One card as blocks: header, section (subtitle, tl;dr or snippet, papers), cover image, context, button. */
export function cardBlocks(card: PostCard, snippet?: readonly Span[]): Record<string, unknown>[] {
  // At a glance: a paid post says so first, then the tl;dr (or the matching passage), the subtitle, the papers.
  const lines: string[] = [];
  if (card.matched && card.matched.length > 0) lines.push(`:bell: Matched your alert: ${card.matched.map((k) => `*${escapeSlack(k)}*`).join(', ')}`);
  if (card.previewOnly) lines.push(`:lock: *${PREVIEW_LABEL}*`);
  if (snippet && snippet.length > 0) lines.push(spansToMrkdwn(snippet)); // FTS5 puts '…' where it cut
  else if (card.tldr) lines.push(`*tl;dr* ${escapeSlack(card.tldr)}`);
  if (card.subtitle) lines.push(`_${escapeSlack(card.subtitle)}_`);
  if (card.papers.length > 0) lines.push(`Papers explained: ${card.papers.map((p) => link(p.url, p.label)).join(', ')}`);
  const meta = [card.author, card.publishedAt ? DATE.format(card.publishedAt) : null, `${card.readingMinutes} min read`, card.feedTitle].filter((x): x is string => !!x);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clipSlack(card.title, SLACK_LIMITS.header), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clipSlack(lines.join('\n\n') || escapeSlack(card.title), SLACK_LIMITS.section) } },
  ];
  if (card.coverImageUrl) blocks.push({ type: 'image', image_url: card.coverImageUrl, alt_text: clipSlack(card.title, 2000) });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clipSlack(escapeSlack(meta.join(' · ')), SLACK_LIMITS.text) }] });
  if (card.url) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Read the explainer' }, url: card.url, action_id: `open-${card.postId}` }] });
  return blocks;
}

/** The first reply in a card's thread: the tl;dr and the papers, so the discussion starts from them. */
export function threadReplyPayload(card: PostCard): { text: string; blocks: Record<string, unknown>[] } {
  const lines = [card.tldr ? `*tl;dr* ${escapeSlack(card.tldr)}` : `Discuss *${escapeSlack(card.title)}* here.`];
  if (card.papers.length > 0) lines.push(`Papers explained: ${card.papers.map((p) => link(p.url, p.label)).join(', ')}`);
  return {
    text: clipSlack(`Discussion: ${escapeSlack(card.title)}`, 3000),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clipSlack(lines.join('\n\n'), SLACK_LIMITS.section) } }],
  };
}

/** A delivery as chat.postMessage arguments (with the notification fallback text). */
export function deliveryPayload(message: OutgoingMessage): { text: string; blocks: Record<string, unknown>[] } {
  if (message.kind === 'post') {
    const mention = message.mentionId && /^S[A-Z0-9]{6,}$/.test(message.mentionId) ? `<!subteam^${message.mentionId}> ` : '';
    const blocks = cardBlocks(message.card);
    if (mention) blocks.unshift({ type: 'section', text: { type: 'mrkdwn', text: `${mention}new explainer` } });
    return { text: clipSlack(`New explainer: ${escapeSlack(message.card.title)}`, 3000), blocks };
  }
  const blocks: Record<string, unknown>[] = [{ type: 'header', text: { type: 'plain_text', text: clipSlack(message.title, SLACK_LIMITS.header) } }];
  for (const card of message.cards.slice(0, 15)) {
    // Never clip through a link's markup: the link is whole (or plain text when too long), only the tl;dr is cut.
    const titleLink = link(card.url, clipSlack(card.title, 150));
    const head = titleLink.length <= 450 ? titleLink : escapeSlack(clipSlack(card.title, 150));
    const tldr = card.tldr ? `\n${clipSlack(escapeSlack(card.tldr), Math.max(20, 600 - head.length - 1))}` : '';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${head}${tldr}` } });
  }
  if (message.cards.length > 15) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${message.cards.length - 15} more.` }] });
  return { text: clipSlack(escapeSlack(message.title), 3000), blocks };
}

function buttonsBlock(buttons: readonly ReplyButton[]) {
  return {
    type: 'actions',
    elements: buttons.slice(0, 5).map((b) => ({
      type: 'button',
      text: { type: 'plain_text', text: clipSlack(b.label, SLACK_LIMITS.button) },
      action_id: b.action.slice(0, 255),
      value: b.action.slice(0, 2000),
      ...(b.style === 'primary' ? { style: 'primary' } : b.style === 'danger' ? { style: 'danger' } : {}),
    })),
  };
}

/**
 * A card in three blocks, for replies with several: header, the section with the link as its button, context.
 * (The full card is six with its image, actions and divider: ten of those would pass Slack's 50.)
 */
function compactCardBlocks(card: PostCard, snippet?: readonly Span[]): Record<string, unknown>[] {
  const [header, section, ...rest] = cardBlocks(card, snippet);
  const context = rest.find((b) => b.type === 'context');
  const button = card.url ? { accessory: { type: 'button', text: { type: 'plain_text', text: 'Read' }, url: card.url, action_id: `open-${card.postId}` } } : {};
  const text = section!.text as { type: string; text: string };
  return [header!, { ...section!, text: { ...text, text: clipSlack(text.text, 700) }, ...button }, ...(context ? [context] : [])];
}

/**
 * A command reply for respond(): ephemeral unless public, within Slack's 50 blocks. Whole cards only:
 * a card that does not fit is left out (the reply says how many and what to type), never cut in half,
 * and the reply's buttons always stay.
 */
export function replyPayload(reply: Reply): { response_type: 'ephemeral' | 'in_channel'; text: string; blocks: Record<string, unknown>[] } {
  const cards = reply.blocks.filter((b) => b.kind === 'card').length;
  const compact = cards > 3;
  const reserved = (reply.buttons && reply.buttons.length > 0 ? 1 : 0) + 1; // the buttons, and a "more" note
  const blocks: Record<string, unknown>[] = [];
  const plain: string[] = [];
  let left = 0;
  let size = 2 + (reply.buttons ? JSON.stringify(buttonsBlock(reply.buttons)).length : 0) + 400; // the note, with room
  for (const block of reply.blocks) {
    if (block.kind === 'text') {
      const text = spansToMrkdwn(block.spans);
      plain.push(text);
      if (text.trim() && blocks.length + 1 <= SLACK_LIMITS.blocks - reserved) {
        const section = { type: 'section', text: { type: 'mrkdwn', text: clipSlack(text, SLACK_LIMITS.section) } };
        size += JSON.stringify(section).length;
        blocks.push(section);
      }
      continue;
    }
    const rendered = compact ? compactCardBlocks(block.card, block.snippet) : [...cardBlocks(block.card, block.snippet), { type: 'divider' }];
    const renderedSize = JSON.stringify(rendered).length;
    // Slack refuses a message whose blocks are too long in all (msg_blocks_too_long), as well as past 50.
    if (left > 0 || blocks.length + rendered.length > SLACK_LIMITS.blocks - reserved || size + renderedSize > SLACK_LIMITS.blocksJson) {
      left++;
      continue;
    }
    size += renderedSize;
    blocks.push(...rendered);
  }
  if (left > 0) {
    const hint = reply.moreHint ? ` — ${escapeSlack(reply.moreHint)}` : '';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clipSlack(`${left} more not shown here${hint}`, SLACK_LIMITS.text) }] });
  }
  if (reply.buttons && reply.buttons.length > 0) blocks.push(buttonsBlock(reply.buttons));
  const summary = reply.summary ? escapeSlack(reply.summary) : plain.join('\n').trim() || 'Inkwire';
  return {
    response_type: reply.visibility === 'private' ? 'ephemeral' : 'in_channel',
    text: clipSlack(summary, 3000),
    blocks,
  };
}

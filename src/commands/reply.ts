import type { PostCard } from '../cards/post-card.ts';

/** A run of text with at most a little meaning attached; adapters escape `text` and apply the marks. */
export interface Span {
  text: string;
  bold?: boolean;
  italic?: boolean;
  code?: boolean;
  /** An http(s) link target for this span. */
  url?: string;
  /** Render as a reference to this channel (Discord `<#id>`); `text` is the fallback. Never pings. */
  channelRef?: string;
  /** Render as a reference to this role / user group; adapters send it with mentions disabled. */
  roleRef?: string;
  /**
   * Inkwire's own words, written with `backticks` for commands and options and plain URLs: the runner turns
   * them into code and link spans (and names commands as this platform types them) before an adapter sees
   * them. Text from feeds and users is never marked own, so it stays escaped.
   */
  own?: boolean;
}

export type ReplyBlock =
  | { kind: 'text'; spans: readonly Span[] }
  | { kind: 'card'; card: PostCard; snippet?: readonly Span[] };

/** A button under a reply; `action` is a self-describing id the adapter routes back to a command. */
export interface ReplyButton {
  label: string;
  action: string;
  style?: 'primary' | 'secondary' | 'danger';
}

/** What a command returns: plain data that every adapter renders natively. */
export interface Reply {
  /** `private`: only the person who typed the command sees it (Discord ephemeral, Slack ephemeral). */
  visibility: 'private' | 'public';
  blocks: readonly ReplyBlock[];
  buttons?: readonly ReplyButton[];
  /** One line naming what this reply is, for notifications and previews ("3 latest explainers"). */
  summary?: string;
  /** What to type for the rest when a platform cannot show every card in one message ("add `page:2`"). */
  moreHint?: string;
}

export const text = (value: string, marks: Omit<Span, 'text'> = {}): Span => ({ text: value, ...marks });

/**
 * Inkwire's own sentence as spans: `code` between backticks (a command at its start named as this platform
 * types it), http(s) URLs as links, the rest plain text.
 */
export function ownSpans(sentence: string, commandLabel: (name: string) => string = (name) => `/${name}`): Span[] {
  const spans: Span[] = [];
  sentence.split(/(`[^`\n]+`)/).forEach((part, index) => {
    if (index % 2 === 1) {
      spans.push({ text: part.slice(1, -1).replace(/^\/([a-z][a-z-]*)/, (_all, name: string) => commandLabel(name)), code: true });
      return;
    }
    for (const [i, piece] of part.split(/(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)])/).entries()) {
      if (piece.length === 0) continue;
      spans.push(i % 2 === 1 ? { text: piece, url: piece } : { text: piece });
    }
  });
  return spans;
}

/** Every own span of a reply rewritten with `ownSpans`. */
export function localiseReply(reply: Reply, commandLabel?: (name: string) => string): Reply {
  if (!reply.blocks.some((b) => b.kind === 'text' && b.spans.some((s) => s.own))) return reply;
  return {
    ...reply,
    blocks: reply.blocks.map((block) =>
      block.kind === 'text' ? { ...block, spans: block.spans.flatMap((s) => (s.own ? ownSpans(s.text, commandLabel) : [s])) } : block,
    ),
  };
}

/** A reference to a channel by id (rendered as `<#id>` on Discord, `<#C…>` on Slack; never a ping). */
export function channelSpan(channel: { channelId: string; name: string | null }): Span {
  return text(`#${channel.name ?? channel.channelId}`, { channelRef: channel.channelId });
}

export function textReply(visibility: Reply['visibility'], ...lines: Array<string | readonly Span[]>): Reply {
  return {
    visibility,
    blocks: lines.map((line) => ({ kind: 'text', spans: typeof line === 'string' ? [{ text: line, own: true }] : line })),
  };
}

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

export function textReply(visibility: Reply['visibility'], ...lines: Array<string | readonly Span[]>): Reply {
  return {
    visibility,
    blocks: lines.map((line) => ({ kind: 'text', spans: typeof line === 'string' ? [{ text: line }] : line })),
  };
}

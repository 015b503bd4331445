import type { PostCard } from '../cards/post-card.ts';

/** Where a message goes: a channel (or DM) on one platform. */
export interface Destination {
  platform: 'console' | 'discord' | 'slack';
  workspaceId: string | null;
  channelId: string;
}

/** A message the core asks a platform to post. */
export type OutgoingMessage =
  | { kind: 'post'; card: PostCard; mentionId?: string | null }
  | { kind: 'digest'; title: string; cards: readonly PostCard[] };

export interface SendOptions {
  /** Stable per delivery: a platform that supports it makes a retried send a no-op. */
  idempotencyKey: string;
  signal?: AbortSignal;
}

/**
 * The port every chat adapter implements for outgoing posts. Adapters translate the neutral message
 * into their native shape and report what happened; they decide nothing about who gets what.
 */
export interface ChatPlatform {
  readonly name: Destination['platform'];
  send(destination: Destination, message: OutgoingMessage, options: SendOptions): Promise<{ messageId: string }>;
}

import type { PostCard } from '../cards/post-card.ts';

/** Where a message goes: a channel (or DM) on one platform. */
export interface Destination {
  platform: 'console' | 'discord' | 'slack';
  workspaceId: string | null;
  /** A channel id, or with `direct` a user id whose direct messages the adapter opens. */
  channelId: string;
  direct?: boolean;
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
  /**
   * Posts a message. Throws `DeliveryError` (permanent or transient) when it cannot; a platform with an
   * idempotency mechanism (Discord's nonce) makes a repeated key a no-op.
   */
  send(destination: Destination, message: OutgoingMessage, options: SendOptions): Promise<{ messageId: string }>;
  /** Present when the platform can edit a sent message (the capability the engine checks). */
  edit?(destination: Destination, messageId: string, message: OutgoingMessage): Promise<void>;
}

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
  | { kind: 'post'; card: PostCard; mentionId?: string | null; /** Open a discussion thread under it. */ thread?: boolean }
  | { kind: 'digest'; title: string; cards: readonly PostCard[] };

/** A request a send makes besides the message post itself, each of which takes a slot of the platform's budget. */
export type PlatformRequestKind = 'post' | 'thread' | 'dm-channel' | 'look-up' | 'reply' | 'channel-join';

export interface SendOptions {
  /** Stable per delivery: a platform that supports it makes a retried send a no-op. */
  idempotencyKey: string;
  /** Aborted when the attempt is abandoned (shutdown deadline, lost lease): the adapter cancels its request. */
  signal?: AbortSignal;
  /**
   * Set when an earlier attempt of this delivery may have posted (its outcome is unknown): a platform
   * without an idempotency key looks for the message sent since then before posting again.
   */
  uncertainSince?: Date | null;
  /** With `uncertainSince`: when the last request that may have posted began (the window's other end). */
  uncertainLastAt?: Date | null;
  /** The main message an earlier attempt posted and recorded: only its follow-up (thread reply) is left. */
  messageId?: string | null;
  /**
   * Called just before each request that may post (on a platform with `reportsSends`); `resolved` when the
   * earlier unknown outcome was looked for and settled. Rejects when it cannot be recorded: send nothing then.
   */
  sending?: (step: { resolved: boolean }) => Promise<void>;
  /** The main message is posted and its follow-ups are not: recorded before any follow-up starts. */
  posted?: (messageId: string) => Promise<void>;
  /**
   * Waits for one more slot of the platform's request budget (shared by every instance on one PostgreSQL
   * database: a platform's limit is per token, not per process). The engine reserved the slot of the send's
   * first request before calling `send`; the adapter calls this before each further request the send makes
   * (a thread started under the card, a DM channel opened, a channel or forum post looked up, a thread
   * reply), so every request counts, not only the first. Absent: the platform is not paced.
   */
  reserveRequest?: (kind: PlatformRequestKind) => Promise<void>;
}

/**
 * The port every chat adapter implements for outgoing posts. Adapters translate the neutral message
 * into their native shape and report what happened; they decide nothing about who gets what.
 */
export interface ChatPlatform {
  readonly name: Destination['platform'];
  /**
   * Posts a message once per idempotency key. Throws `DeliveryError` when it cannot: its `effect` says
   * whether the channel cannot receive (pause), this message was refused (reject) or to retry, and
   * `delivery/ambiguous` that the outcome is unknown. Discord makes a repeated key a no-op with its nonce;
   * Slack, which has none, finds an earlier copy by the key it carries in message metadata.
   */
  send(destination: Destination, message: OutgoingMessage, options: SendOptions): Promise<{ messageId: string }>;
  /**
   * False where the platform never tells Inkwire that a channel was deleted or the bot lost it (Discord over
   * HTTP interactions: no gateway events). There the first "unknown channel" or "missing access" answer to a
   * delivery is that news, and the channel's subscriptions are removed instead of paused. Absent means it does.
   */
  readonly announcesRemovals?: boolean;
  /**
   * The longest one send's request can stay on the wire, the client's own retries included: a request
   * abandoned (shutdown, lost lease) may still reach the platform this long after. The engine does not let
   * another attempt of that delivery start before it has passed (plus a margin). Absent: 30 s.
   */
  readonly requestTimeoutMs?: number;
  /**
   * True when the adapter calls `SendOptions.sending` just before each request that may post (after any
   * look-up or pacing); otherwise the engine records it just before calling `send`.
   */
  readonly reportsSends?: boolean;
  /** Whether the platform connection is up (for `/readyz`); absent means always. */
  isConnected?(): boolean;
  /** Present when the platform can edit a sent message (the capability the engine checks). */
  edit?(destination: Destination, messageId: string, message: OutgoingMessage): Promise<void>;
}

import type { Destination } from '../platform/chat-platform.ts';

export const DELIVERY_MODES = ['instant', 'daily', 'weekly'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/**
 * A channel's subscription to a feed, or (kind `alert`) one member's personal keyword alert, delivered
 * to their direct messages and covering every feed.
 */
export interface Subscription {
  id: number;
  kind: 'channel' | 'alert';
  platform: Destination['platform'];
  workspaceId: string | null;
  /** The channel, or for an alert the user to message. */
  channelId: string;
  /** Null for alerts (every feed). */
  feedId: number | null;
  feedUrl: string | null;
  feedTitle: string | null;
  /** Folded keywords; empty means every post. */
  keywords: string[];
  mode: DeliveryMode;
  /** A role (Discord) or user group (Slack) to notify with each post; never everyone/here. */
  mentionId: string | null;
  /** Start a discussion thread under each posted card (a forum channel always gets one post per card). */
  thread: boolean;
  createdBy: string;
  createdAt: Date;
  pausedAt: Date | null;
  pausedReason: string | null;
  lastDeliveryAt: Date | null;
}

export function destinationOf(subscription: Subscription): Destination {
  return {
    platform: subscription.platform,
    workspaceId: subscription.workspaceId,
    channelId: subscription.channelId,
    ...(subscription.kind === 'alert' ? { direct: true } : {}),
  };
}

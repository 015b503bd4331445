import type { DeliveryMode, Subscription } from '../delivery/subscription.ts';
import type { Destination } from '../platform/chat-platform.ts';

export interface NewSubscription {
  kind: Subscription['kind'];
  platform: Destination['platform'];
  workspaceId: string | null;
  channelId: string;
  feedId: number | null;
  keywords: readonly string[];
  mode: DeliveryMode;
  mentionId: string | null;
  thread?: boolean;
  createdBy: string;
  createdAt: Date;
}

/** The port for subscriptions and the notices the engine leaves for a server. */
export interface SubscriptionStore {
  /** Null when the channel already has this feed (or the user this alert). */
  create(input: NewSubscription): Promise<Subscription | null>;
  get(id: number): Promise<Subscription | null>;
  listForChannel(platform: Destination['platform'], channelId: string): Promise<Subscription[]>;
  listForWorkspace(platform: Destination['platform'], workspaceId: string): Promise<Subscription[]>;
  listAlerts(platform: Destination['platform'], userId: string): Promise<Subscription[]>;
  countForWorkspace(platform: Destination['platform'], workspaceId: string): Promise<number>;
  /** Deletes subscriptions with their outbox rows (nothing pending is sent); returns how many were removed. */
  delete(ids: readonly number[]): Promise<number>;
  deleteForChannel(platform: Destination['platform'], channelId: string): Promise<number>;
  deleteForWorkspace(platform: Destination['platform'], workspaceId: string): Promise<number>;
  resume(id: number): Promise<void>;
  update(id: number, changes: { keywords: readonly string[]; mode: DeliveryMode; mentionId: string | null; thread?: boolean }): Promise<void>;
  addNotice(platform: Destination['platform'], workspaceId: string, message: string, at: Date): Promise<void>;
  /** Unseen notices for a server or workspace, marked seen as they are returned. */
  takeNotices(platform: Destination['platform'], workspaceId: string, at: Date): Promise<string[]>;
}

import type { Post } from '../posts/post.ts';
import { createKeywordMatcher } from './keyword-filter.ts';
import type { Subscription } from './subscription.ts';

/** The fields of a subscription that decide whether and how it gets a post. */
export type PlannableSubscription = Pick<Subscription, 'id' | 'kind' | 'platform' | 'channelId' | 'feedId' | 'keywords' | 'mode'> & {
  /**
   * For an alert: whether its owner may see posts of this feed — an operator-configured feed, or one a
   * channel of the owner's own server or workspace subscribes to. A private feed added in server A never
   * reaches members of server B.
   */
  feedVisible?: boolean;
};

/** What one new post means for the outbox: sends now, or a place in a digest. */
export interface DeliveryPlan {
  /** One instant delivery per matching subscription (paused ones included: their rows wait, held). */
  deliveries: Array<{ subscriptionId: number; destinationKey: string; idempotencyKey: string }>;
  /** Digest subscriptions the post is queued for. */
  digests: number[];
}

export type DeliveryPlanner = (post: Pick<Post, 'id' | 'feedId' | 'title' | 'subtitle' | 'text'>, subscriptions: readonly PlannableSubscription[]) => DeliveryPlan;

/**
 * Where a subscription's messages go, as one string: posts to one destination are sent in order and
 * one at a time. An alert goes to its owner's direct messages, a different place from a channel id.
 */
export function destinationKeyOf(subscription: Pick<Subscription, 'kind' | 'platform' | 'channelId'>): string {
  return subscription.kind === 'alert'
    ? `${subscription.platform}:dm:${subscription.channelId}`
    : `${subscription.platform}:${subscription.channelId}`;
}

/**
 * The idempotency key of one post's delivery to one subscription. Stable across retries, restarts and
 * instances; the platform's de-duplication (Discord's nonce, Inkwire's Slack metadata) is keyed on it.
 */
export function postDeliveryKey(postId: number, subscriptionId: number): string {
  return `p${postId}-s${subscriptionId}`;
}

/** The key of a subscription's digest for one period (`2026-12-01`, `2026-W49`). */
export function digestDeliveryKey(subscriptionId: number, period: string): string {
  return `d${subscriptionId}-${period}`;
}

/** The key of the one message that summarises what was held while a subscription was paused. */
export function heldSummaryKey(subscriptionId: number, resumedAt: Date): string {
  return `h${subscriptionId}-${resumedAt.getTime()}`;
}

/**
 * Which subscriptions get a new post: channel subscriptions to the post's feed and personal alerts whose
 * owner may see the feed, whose keywords match (an empty list matches everything). Instant ones get a delivery; daily and weekly
 * ones a digest entry. Pure: the store writes the plan in the same transaction that stores the post.
 */
export const planDeliveries: DeliveryPlanner = (post, subscriptions) => {
  const plan: DeliveryPlan = { deliveries: [], digests: [] };
  if (subscriptions.length === 0) return plan;
  const matcher = createKeywordMatcher(post);
  for (const subscription of subscriptions) {
    if (subscription.kind === 'channel' && subscription.feedId !== post.feedId) continue;
    if (subscription.kind === 'alert' && subscription.feedVisible !== true) continue;
    if (!matcher.matches(subscription.keywords)) continue;
    if (subscription.mode === 'instant') {
      plan.deliveries.push({
        subscriptionId: subscription.id,
        destinationKey: destinationKeyOf(subscription),
        idempotencyKey: postDeliveryKey(post.id, subscription.id),
      });
    } else {
      plan.digests.push(subscription.id);
    }
  }
  return plan;
};

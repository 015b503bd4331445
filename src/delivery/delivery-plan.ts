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
  /** Paused (its deliveries wait, held): a person's active alert carries their direct message before a paused one. */
  paused?: boolean;
};

/** One send the plan asks for. */
export interface PlannedDelivery {
  subscriptionId: number;
  destinationKey: string;
  idempotencyKey: string;
  /** For a direct message: every keyword of the person's matching alerts that the post mentions, to name on it. */
  matched?: string[];
}

/** What one new post means for the outbox: sends now, or a place in a digest. */
export interface DeliveryPlan {
  /**
   * One instant delivery per matching channel subscription, and one per person whose alerts match (paused
   * ones included: their rows wait, held).
   */
  deliveries: PlannedDelivery[];
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

const MATCHED_LABEL = 'matched:';

/**
 * How a direct message's matched keywords are kept with its outbox row (the row's `label`, which a post
 * delivery does not otherwise use), so the message names them however late it is sent. Null when none.
 */
export function matchedLabel(matched: readonly string[] | undefined): string | null {
  return matched && matched.length > 0 ? `${MATCHED_LABEL}${JSON.stringify(matched)}` : null;
}

/** The keywords `matchedLabel` kept; empty for any other label (`held`, none, unreadable). */
export function matchedOfLabel(label: string | null | undefined): string[] {
  if (!label?.startsWith(MATCHED_LABEL)) return [];
  try {
    const value: unknown = JSON.parse(label.slice(MATCHED_LABEL.length));
    return Array.isArray(value) ? value.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/** Carries a person's direct message: an active alert before a paused one, then the lowest id. */
const carriesBefore = (a: PlannableSubscription, b: PlannableSubscription) =>
  (a.paused === true) !== (b.paused === true) ? b.paused === true : a.id < b.id;

/**
 * Which subscriptions get a new post: channel subscriptions to the post's feed and personal alerts whose
 * owner may see the feed, whose keywords match (an empty list matches everything). Instant ones get a
 * delivery; daily and weekly ones a digest entry. A person gets one direct message per post however many
 * of their alerts match: alerts are grouped by where their message goes (the platform's DM with the user,
 * whichever server each alert was added in), one of them carries it (an active one before a paused one,
 * then the lowest id), and it names every keyword that matched. Pure: the store writes the plan in the same
 * transaction that stores the post.
 */
export const planDeliveries: DeliveryPlanner = (post, subscriptions) => {
  const plan: DeliveryPlan = { deliveries: [], digests: [] };
  if (subscriptions.length === 0) return plan;
  const matcher = createKeywordMatcher(post);
  const people = new Map<string, { carrier: PlannableSubscription; alerts: Array<{ id: number; found: string[] }> }>();
  for (const subscription of subscriptions) {
    if (subscription.kind === 'channel' && subscription.feedId !== post.feedId) continue;
    if (subscription.kind === 'alert' && subscription.feedVisible !== true) continue;
    if (!matcher.matches(subscription.keywords)) continue;
    if (subscription.mode !== 'instant') {
      plan.digests.push(subscription.id);
    } else if (subscription.kind === 'alert') {
      const destinationKey = destinationKeyOf(subscription);
      const found = matcher.allMatches(subscription.keywords);
      const person = people.get(destinationKey);
      if (!person) {
        people.set(destinationKey, { carrier: subscription, alerts: [{ id: subscription.id, found }] });
      } else {
        person.alerts.push({ id: subscription.id, found });
        if (carriesBefore(subscription, person.carrier)) person.carrier = subscription;
      }
    } else {
      plan.deliveries.push({ subscriptionId: subscription.id, destinationKey: destinationKeyOf(subscription), idempotencyKey: postDeliveryKey(post.id, subscription.id) });
    }
  }
  for (const [destinationKey, { carrier, alerts }] of people) {
    // In the order the person added their alerts, each keyword once.
    const matched = [...new Set(alerts.sort((a, b) => a.id - b.id).flatMap((alert) => alert.found))];
    plan.deliveries.push({ subscriptionId: carrier.id, destinationKey, idempotencyKey: postDeliveryKey(post.id, carrier.id), matched });
  }
  return plan;
};

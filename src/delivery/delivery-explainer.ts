import { redactUrl } from '../feeds/url-secrets.ts';
import type { Post } from '../posts/post.ts';
import type { DeliveryStore } from '../storage/delivery-store.ts';
import type { PostStore } from '../storage/post-store.ts';
import type { SubscriptionStore } from '../storage/subscription-store.ts';
import { normaliseUrl } from '../posts/post-key.ts';
import { createKeywordMatcher } from './keyword-filter.ts';
import type { Subscription } from './subscription.ts';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/**
 * `inkwire why <post-url> <channel>`: for each subscription of that channel, why the post was or was
 * not delivered there — in words an operator can act on. Given a user id instead, the same for each of
 * that user's alerts (a person gets one direct message per post, carried by one of their matching alerts).
 */
export async function explainDelivery(
  stores: { posts: PostStore; subscriptions: SubscriptionStore; deliveries: DeliveryStore },
  postUrl: string,
  channelId: string,
): Promise<string[]> {
  const post = (await stores.posts.findByUrl(normaliseUrl(postUrl) ?? postUrl)) ?? (await stores.posts.findByUrl(postUrl));
  if (!post) return [`No stored post has the URL ${postUrl}. (\`inkwire posts\` lists them.)`];
  const channel = channelId.replace(/^#/, '');
  const subscriptions: Subscription[] = [];
  const alerts: Subscription[] = [];
  for (const platform of ['console', 'discord', 'slack'] as const) {
    subscriptions.push(...(await stores.subscriptions.listForChannel(platform, channel)));
    alerts.push(...(await stores.subscriptions.listAlerts(platform, channel)));
  }
  if (subscriptions.length + alerts.length === 0) return [`Channel ${channel} has no subscriptions, so nothing is delivered there.`];
  const records = await stores.deliveries.forPost(post.id);
  return [
    ...subscriptions.map((s) => `${s.platform}:${channel} ← ${s.feedTitle ?? redactUrl(s.feedUrl ?? '')}: ${reason(post, s, records)}`),
    ...alerts.map((a) => `${a.platform}:dm:${channel} ← alert (${a.keywords.join(', ')}): ${reason(post, a, records)}`),
  ];
}

type Records = Awaited<ReturnType<DeliveryStore['forPost']>>;

function reason(post: Post, s: Subscription, records: Records): string {
  if (s.kind === 'channel' && s.feedId !== post.feedId) return 'this subscription is to a different feed.';
  const record = records.find((r) => r.subscriptionId === s.id);
  if (record) return recordReason(s, record);
  // One direct message per person per post: another of their alerts may carry it.
  const carried = s.kind === 'alert'
    ? records.find((r) => r.kind === 'post' && r.subscriptionKind === 'alert' && r.platform === s.platform && r.channelId === s.channelId)
    : undefined;
  if (carried && s.createdAt.getTime() <= post.firstSeenAt.getTime() && createKeywordMatcher(post).matches(s.keywords)) {
    return `matched too; the person gets one direct message per post, carried by another of their alerts (#${carried.subscriptionId}), which is ${recordReason(null, carried)}`;
  }
  return unrecordedReason(post, s);
}

/** What a delivery row says; `s` is the subscription it belongs to, null when it is another alert's. */
function recordReason(s: Subscription | null, record: Records[number]): string {
  switch (record.status) {
    case 'sent':
      return `delivered at ${iso(record.sentAt!)} as message ${record.messageId}${record.kind === 'digest' ? ' (in a digest)' : ''}.`;
    case 'pending':
      if (s?.pausedAt) return `held while the subscription is paused (${s.pausedReason}); it is sent when someone runs /subscribe there again.`;
      return `waiting to be sent (attempt ${record.attempts + 1}, due ${iso(record.nextAttemptAt)})${record.lastError ? `; last error: ${record.lastError}` : ''}.`;
    case 'sending':
      return 'being sent right now.';
    case 'failed':
      return `failed: ${record.lastError ?? 'unknown error'}${s?.pausedAt ? `; the subscription is paused because ${s.pausedReason}` : ''}.`;
  }
}

function unrecordedReason(post: Post, s: Subscription): string {
  if (!post.announced) return `stored as already seen on ${iso(post.firstSeenAt)} (the feed's first poll or the archive backfill), so never announced.`;
  if (s.createdAt.getTime() > post.firstSeenAt.getTime()) {
    return `the post arrived (${iso(post.firstSeenAt)}) before the subscription existed (${iso(s.createdAt)}).`;
  }
  if (!createKeywordMatcher(post).matches(s.keywords)) return `filtered out: it mentions none of the keywords (${s.keywords.join(', ')}).`;
  if (s.mode !== 'instant') return `queued for the next ${s.mode} digest.`;
  if (s.pausedAt) return `the subscription was paused (${s.pausedReason}) when the post arrived, before paused subscriptions kept their posts.`;
  if (s.kind === 'alert') return 'no delivery was recorded (is the feed one this person\'s server can see?).';
  return 'no delivery was recorded.';
}

import type { Subscription } from '../src/delivery/subscription.ts';
import { describeSubscriptionFeed } from '../src/delivery/subscription-service.ts';
import { channelSpan, text, type Span } from '../src/commands/reply.ts';
import type { CommandTarget } from '../src/commands/command-spec.ts';

const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });

/** One line describing a subscription, shared by /subscribe, /subscriptions and /unsubscribe. */
export function subscriptionSpans(s: Subscription, options: { withChannel: boolean; withState: boolean }): Span[] {
  const spans: Span[] = [];
  if (options.withChannel) spans.push(text(`#${s.channelId}`, { channelRef: s.channelId }), text(' — '));
  spans.push(text(describeSubscriptionFeed(s), { bold: true }), text(` · ${s.mode}`));
  spans.push(text(s.keywords.length > 0 ? ` · keywords: ${s.keywords.join(', ')}` : ' · every post'));
  if (s.mentionId) spans.push(text(' · notifies '), text(`@${s.mentionId}`, { roleRef: s.mentionId }));
  if (options.withState) {
    spans.push(text(s.pausedAt ? ` · PAUSED: ${s.pausedReason ?? 'unknown reason'}` : ' · active'));
    spans.push(text(s.lastDeliveryAt ? ` · last delivery ${DAY.format(s.lastDeliveryAt)} UTC` : ' · nothing delivered yet'));
  }
  return spans;
}

/** `#forum-name (the forum this thread belongs to)`, or just `#name` when a `channel:` option named it. */
export function targetSpans(target: CommandTarget): Span[] {
  if (target.reason === 'named') return [channelSpan(target)];
  return [channelSpan(target), text(` (the ${target.kind === 'forum' ? 'forum' : 'channel'} this thread belongs to)`)];
}

import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply } from '../src/commands/reply.ts';
import { subscriptionSpans } from './subscription-text.ts';

/** `/subscriptions`: this server's (or workspace's) subscriptions with their state and last delivery. */
export const subscriptionsCommand: CommandSpec = {
  name: 'subscriptions',
  description: "This server's subscriptions and how they are doing",
  permission: 'everyone',
  options: [],
  async handle({ services, place }) {
    const list = await services.subscriptions.listForPlace(place);
    if (list.length === 0) return textReply('private', 'No channel here is subscribed yet. A channel manager can run /subscribe in a channel.');
    return {
      visibility: 'private',
      blocks: [
        { kind: 'text', spans: [text(`${list.length} subscription${list.length === 1 ? '' : 's'}:`, { bold: true })] },
        ...list.map((s) => ({ kind: 'text' as const, spans: subscriptionSpans(s, { withChannel: true, withState: true }) })),
      ],
    };
  },
};

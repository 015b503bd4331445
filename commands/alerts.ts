import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply } from '../src/commands/reply.ts';
import { MAX_KEYWORDS_TEXT } from '../src/delivery/keyword-filter.ts';

/** `/alerts add|remove|list [keywords]`: a personal alert, sent to your direct messages. */
export const alertsCommand: CommandSpec = {
  name: 'alerts',
  description: 'Get a direct message when a post matches your keywords',
  permission: 'everyone',
  options: [
    {
      name: 'action', description: 'add, remove or list', type: 'string', required: true, choices: ['add', 'remove', 'list'].map((a) => ({ name: a, value: a })),
      rest: true, thenRestTo: 'keywords',
    },
    { name: 'keywords', description: 'Words or "phrases", comma-separated; `all` to remove every alert', type: 'string', maxLength: MAX_KEYWORDS_TEXT, keepQuotes: true },
  ],
  async handle({ services, place, invoker }, args) {
    const keywords = typeof args.keywords === 'string' ? args.keywords : undefined;
    switch (args.action) {
      case 'add': {
        const result = await services.subscriptions.addAlert(place, invoker, keywords ?? '');
        if (!result.ok) return textReply('private', result.error.message);
        return textReply('private', [text('Alert added: you will get a direct message for posts mentioning '), text(result.value.keywords.join(', '), { bold: true }), text('.')]);
      }
      case 'remove': {
        const result = await services.subscriptions.removeAlerts(place, invoker, keywords);
        return textReply('private', result.ok ? `Removed ${result.value} alert${result.value === 1 ? '' : 's'}.` : result.error.message);
      }
      default: {
        const alerts = await services.subscriptions.listAlerts(place, invoker);
        if (alerts.length === 0) return textReply('private', 'You have no alerts. Add one with `/alerts add keywords:"diffusion, RLHF"`.');
        return textReply('private', `Your alerts:`, ...alerts.map((a) => `• ${a.keywords.join(', ')}${a.pausedAt ? ` (paused: ${a.pausedReason})` : ''}`));
      }
    }
  },
};

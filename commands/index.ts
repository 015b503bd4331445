import type { CommandSpec } from '../src/commands/command-spec.ts';
import { helpCommand } from './help.ts';
import { latestCommand } from './latest.ts';
import { searchCommand } from './search.ts';
import { subscribeCommand } from './subscribe.ts';
import { unsubscribeCommand } from './unsubscribe.ts';
import { subscriptionsCommand } from './subscriptions.ts';
import { alertsCommand } from './alerts.ts';

/** Every slash command, in the order help lists them. Adapters register exactly these. */
export const ALL_COMMANDS: readonly CommandSpec[] = [
  searchCommand,
  latestCommand,
  subscribeCommand,
  unsubscribeCommand,
  subscriptionsCommand,
  alertsCommand,
  helpCommand,
];

export function findCommand(name: string): CommandSpec | undefined {
  return ALL_COMMANDS.find((spec) => spec.name === name.toLowerCase());
}

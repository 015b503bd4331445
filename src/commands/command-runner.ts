import { UserError } from '../errors.ts';
import type { CommandContext, CommandSpec } from './command-spec.ts';
import { validateCommandArgs } from './command-options.ts';
import { textReply, type Reply } from './reply.ts';

export const GENERIC_FAILURE = 'Something went wrong on our side while running that command. It has been logged; please try again in a moment.';

/**
 * Runs a command the same way for every adapter: permission check (always at run time, whatever the
 * platform pre-filtered), option validation, the handler. Never throws: refusals and failures come
 * back as private replies.
 */
export async function runCommand(
  spec: CommandSpec,
  context: CommandContext,
  raw: Readonly<Record<string, string | number | boolean | undefined>>,
): Promise<Reply> {
  if (spec.permission === 'manage' && !context.invoker.canManage) {
    return textReply(
      'private',
      `Only people who can manage this channel can use \`/${spec.name}\`. Ask a server or workspace admin.`,
    );
  }
  const args = validateCommandArgs(spec, raw);
  if (!args.ok) return textReply('private', args.error.message);
  try {
    return await spec.handle(context, args.value);
  } catch (error) {
    if (error instanceof UserError) return textReply('private', error.message);
    context.services.logger.error(
      { err: error, command: spec.name, platform: context.place.platform },
      'command failed',
    );
    return textReply('private', GENERIC_FAILURE);
  }
}

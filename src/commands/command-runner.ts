import { UserError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import type { CommandContext, CommandSpec } from './command-spec.ts';
import { validateCommandArgs } from './command-options.ts';
import { channelSpan, localiseReply, text, textReply, type Reply } from './reply.ts';
import { slowDownMessage, type CommandCost } from './command-rate-limit.ts';

export const GENERIC_FAILURE = 'Something went wrong on our side while running that command. It has been logged; please try again in a moment.';

/**
 * Runs a command the same way for every adapter: the rate limits (first, so a flood costs nothing else),
 * permission check (always at run time, whatever the platform pre-filtered), option validation, the
 * handler. Never throws: refusals and failures come back as private replies.
 */
export async function runCommand(
  spec: CommandSpec,
  invokedContext: CommandContext,
  raw: Readonly<Record<string, string | number | boolean | undefined>>,
): Promise<Reply> {
  const tooFast = rateRefusal(invokedContext, spec.expensive ? 'expensive' : 'command');
  if (tooFast) return tooFast;
  let context = invokedContext;
  const targeted = await retarget(spec, context, raw);
  if (!targeted.ok) return localiseReply(textReply('private', targeted.error.message), context.commandLabel);
  context = targeted.value;
  if (spec.permission === 'manage' && !context.invoker.canManage) {
    const where = context.target?.reason === 'named' ? [text('Only people who can manage '), channelSpan(context.target), text(' can use that command there. Ask a server or workspace admin.')] : null;
    if (where) return localiseReply(textReply('private', where), context.commandLabel);
    return localiseReply(textReply('private', `Only people who can manage this channel can use \`/${spec.name}\`. Ask a server or workspace admin.`), context.commandLabel);
  }
  const args = validateCommandArgs(spec, raw);
  if (!args.ok) return localiseReply(textReply('private', args.error.message), context.commandLabel);
  return withNotices(context, () => spec.handle(context, args.value), spec.name);
}

/**
 * A `channel:` option moves the command to that channel: the platform resolves it, and the invoker's manage
 * permission becomes theirs in THAT channel (what the runner then checks).
 */
async function retarget(spec: CommandSpec, context: CommandContext, raw: Readonly<Record<string, string | number | boolean | undefined>>): Promise<Result<CommandContext, UserError>> {
  const option = spec.options.find((o) => o.type === 'channel');
  const value = option ? raw[option.name] : undefined;
  if (!option || value === undefined || String(value).trim() === '') return ok(context);
  if (!context.resolveChannel) {
    return err(new UserError('command/channel-option-unsupported', `Here \`${option.name}:\` cannot name another channel: type the command in that channel.`));
  }
  const resolved = await context.resolveChannel(String(value).trim(), option);
  if (!resolved.ok) return resolved;
  const { channelId, name, kind, canManage } = resolved.value;
  if (channelId === context.place.channelId && !context.target) return ok({ ...context, invoker: { ...context.invoker, canManage } });
  return ok({
    ...context,
    invoker: { ...context.invoker, canManage },
    place: { ...context.place, channelId, isDirect: false },
    target: { reason: 'named', channelId, name, kind },
  });
}

/** Runs a button press routed back to the command that made the button (rate-limited like it). Never throws. */
export async function runAction(commands: readonly CommandSpec[], context: CommandContext, action: string): Promise<Reply> {
  const tooFast = refusePressIfTooFast(commands, context, action);
  if (tooFast) return tooFast;
  const separator = action.indexOf(':');
  const prefix = separator === -1 ? action : action.slice(0, separator);
  const spec = commands.find((candidate) => candidate.actions?.prefix === prefix);
  if (!spec?.actions) return localiseReply(textReply('private', 'That button is not one Inkwire knows; nothing was changed.'), context.commandLabel);
  const handler = spec.actions;
  return withNotices(context, () => handler.handle(context, separator === -1 ? '' : action.slice(separator + 1)), `${spec.name}:action`);
}

/**
 * The rate check of a button press alone: a private refusal, or null to go on. `runAction` uses it; an adapter
 * that answers a press itself (Discord's "Share in channel" reposts what was shown) calls it first.
 */
export function refusePressIfTooFast(commands: readonly CommandSpec[], context: CommandContext, action: string): Reply | null {
  const prefix = action.split(':', 1)[0];
  const spec = commands.find((candidate) => candidate.actions?.prefix === prefix);
  return rateRefusal(context, spec?.expensive ? 'expensive' : 'command');
}

/** Autocomplete for one option; failures, and requests over the member's autocomplete rate, give no suggestions. */
export async function runAutocomplete(spec: CommandSpec, context: CommandContext, option: string, partial: string) {
  if (!spec.autocomplete) return [];
  if (context.services.rateLimiter?.take(context, 'autocomplete').allowed === false) return [];
  try {
    const choices = await spec.autocomplete(context, option, partial.slice(0, 200));
    return choices.slice(0, 25).map((c) => ({ label: c.label.slice(0, 100), value: c.value.slice(0, 100) }));
  } catch (error) {
    context.services.logger.warn({ err: error, command: spec.name, option }, 'autocomplete failed');
    return [];
  }
}

/** Counts this invocation against the member's and the server's rates: null when allowed, else the polite refusal. */
function rateRefusal(context: CommandContext, cost: CommandCost): Reply | null {
  const decision = context.services.rateLimiter?.take(context, cost);
  if (!decision || decision.allowed) return null;
  return textReply('private', slowDownMessage(decision));
}

async function withNotices(context: CommandContext, work: () => Promise<Reply>, name: string): Promise<Reply> {
  return localiseReply(await noticesAnd(context, work, name), context.commandLabel);
}

async function noticesAnd(context: CommandContext, work: () => Promise<Reply>, name: string): Promise<Reply> {
  let reply: Reply;
  try {
    reply = await work();
  } catch (error) {
    if (error instanceof UserError) return textReply('private', error.message);
    context.services.logger.error({ err: error, command: name, platform: context.place.platform }, 'command failed');
    return textReply('private', GENERIC_FAILURE);
  }
  // Problems the delivery engine found in this server are told on the next command typed here.
  const notices = await context.services.subscriptions.takeNotices(context.place).catch(() => []);
  if (notices.length === 0) return reply;
  return { ...reply, blocks: [...notices.map((n) => ({ kind: 'text' as const, spans: [{ text: `⚠ ${n}`, own: true }] })), ...reply.blocks] };
}

import type { CommandSpec } from '../src/commands/command-spec.ts';
import { usage } from '../src/commands/command-options.ts';
import { text, textReply, type Span } from '../src/commands/reply.ts';

/** `/help`: every command with its options, from the same specs the adapters register. */
export const helpCommand: CommandSpec = {
  name: 'help',
  description: 'What Inkwire can do',
  permission: 'everyone',
  options: [{ name: 'command', description: 'A command to explain in full, e.g. search', type: 'string', maxLength: 40, rest: true }],
  async handle({ services, invoker, commandLabel, platformCommands }, args) {
    const label = commandLabel ?? ((name: string) => `/${name}`);
    const wanted = typeof args.command === 'string' ? args.command.trim().replace(/^\//, '').toLowerCase() : '';
    if (wanted) {
      // `/help search`: one command, every option with what it takes.
      const spec = services.commands().find((c) => c.name === wanted || label(c.name) === `/${wanted}`);
      if (!spec) return textReply('private', `There is no command \`/${wanted}\`. \`/help\` lists them all.`);
      const lines: Span[][] = [[text(label(spec.name), { code: true }), text(` — ${spec.description}.`)], [text(usage(spec).replace(`/${spec.name}`, label(spec.name)), { italic: true })]];
      for (const option of spec.options) {
        const choices = option.choices ? ` (${option.choices.map((c) => c.value).join(', ')})` : '';
        lines.push([text(`• ${option.name}`, { code: true }), text(`${option.required ? ' (required)' : ''}${option.rest ? ' — or just type it after the command' : ''}: ${option.description}${choices}`)]);
      }
      if (spec.permission === 'manage') lines.push([text(invoker.canManage ? 'You may use it here.' : 'Only people who can manage this channel may use it.')]);
      return { visibility: 'private', blocks: lines.map((spans) => ({ kind: 'text', spans })) };
    }
    const lines: Span[][] = [[text('Inkwire', { bold: true }), text(' delivers research explainers to this channel. Commands:')]];
    for (const spec of services.commands()) {
      const note = spec.permission === 'manage' ? (invoker.canManage ? ' (managers)' : ' (managers only)') : '';
      lines.push([text(label(spec.name), { code: true }), text(` — ${spec.description}${note}. `), text(usage(spec).replace(`/${spec.name}`, label(spec.name)), { italic: true })]);
    }
    for (const extra of platformCommands ?? []) lines.push([text(extra.usage, { code: true }), text(` — ${extra.description}.`)]);
    lines.push([text(`${label('help')} <command>`, { code: true }), text(' explains one command in full.')]);
    return { visibility: 'private', blocks: lines.map((spans) => ({ kind: 'text', spans })) };
  },
};

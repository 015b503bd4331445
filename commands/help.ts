import type { CommandSpec } from '../src/commands/command-spec.ts';
import { usage } from '../src/commands/command-options.ts';
import { text, type Span } from '../src/commands/reply.ts';

/** `/help`: every command with its options, from the same specs the adapters register. */
export const helpCommand: CommandSpec = {
  name: 'help',
  description: 'What Inkwire can do',
  permission: 'everyone',
  options: [],
  async handle({ services, invoker, commandLabel }) {
    const label = commandLabel ?? ((name: string) => `/${name}`);
    const lines: Span[][] = [[text('Inkwire', { bold: true }), text(' delivers research explainers to this channel. Commands:')]];
    for (const spec of services.commands()) {
      const note = spec.permission === 'manage' ? (invoker.canManage ? ' (managers)' : ' (managers only)') : '';
      lines.push([text(label(spec.name), { code: true }), text(` — ${spec.description}${note}. `), text(usage(spec).replace(`/${spec.name}`, label(spec.name)), { italic: true })]);
    }
    return { visibility: 'private', blocks: lines.map((spans) => ({ kind: 'text', spans })) };
  },
};

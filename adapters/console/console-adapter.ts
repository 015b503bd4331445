import { createInterface, type Interface } from 'node:readline';
import type { CommandServices, CommandSpec, Invoker, Place } from '../../src/commands/command-spec.ts';
import { splitCommandText } from '../../src/commands/command-options.ts';
import { runAction, runCommand } from '../../src/commands/command-runner.ts';
import type { Logger } from '../../src/logger.ts';
import type { ChatPlatform, Destination } from '../../src/platform/chat-platform.ts';
import { ansiStyle, plainStyle, renderCard, renderReply, terminalSafe, type Style } from './console-text.ts';


/** What the console adds to the chat commands, for `/help`. */
const CONSOLE_COMMANDS = [
  { usage: '/as admin|member', description: 'type as a channel manager or as a member' },
  { usage: '/in #channel|dm', description: 'move to another channel, or to your direct messages' },
  { usage: '/press <button id>', description: 'press a button (its id is shown under each reply)' },
  { usage: '/quit', description: 'stop Inkwire' },
] as const;

export interface ConsoleAdapterOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean };
  commands: readonly CommandSpec[];
  services: CommandServices;
  logger: Logger;
  /** Called when the user types `/quit` (or Ctrl-D on a terminal). */
  onQuit: () => void;
  /** Lets a prompt-safe log stream redraw the prompt. */
  onPrompt?: (rl: Interface | null) => void;
}

export const CONSOLE_WORKSPACE = 'console';
export const CONSOLE_DEFAULT_CHANNEL = 'general';

/** Where posts are announced on the console. */
export const CONSOLE_DESTINATION: Destination = {
  platform: 'console',
  workspaceId: CONSOLE_WORKSPACE,
  channelId: CONSOLE_DEFAULT_CHANNEL,
};

export interface ConsoleAdapter extends ChatPlatform {
  stop(): Promise<void>;
}

/**
 * A chat platform in the terminal, like Hubot's shell adapter: new posts print as cards, and the user
 * types the same slash commands a Discord or Slack user would. `/as admin|member` and
 * `/in #channel|dm` switch who is typing and where. Works on a TTY and with piped stdin.
 */
export function startConsoleAdapter(options: ConsoleAdapterOptions): ConsoleAdapter {
  const isTTY = options.output.isTTY === true && (options.input as { isTTY?: boolean }).isTTY === true;
  const style: Style = isTTY ? ansiStyle : plainStyle;
  const log = options.logger;
  let invoker: Invoker = { userId: 'console-user', displayName: 'you', canManage: true };
  let place: Place = { platform: 'console', workspaceId: CONSOLE_WORKSPACE, channelId: CONSOLE_DEFAULT_CHANNEL, isDirect: false };
  let messageCount = 0;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const rl = createInterface({ input: options.input, output: options.output, terminal: isTTY, historySize: 500 });
  const promptText = () => `${place.isDirect ? 'dm' : `#${place.channelId}`} ${invoker.canManage ? '(admin)' : '(member)'}> `;
  rl.setPrompt(promptText());
  options.onPrompt?.(rl);

  const print = (text: string) => {
    if (isTTY) {
      options.output.write('\r\u001b[K');
      options.output.write(`${text}\n`);
      if (!closed) rl.prompt(true);
    } else {
      options.output.write(`${text}\n`);
    }
  };

  const handleLine = async (line: string) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    if (!trimmed.startsWith('/')) {
      print('Commands start with a slash. Type /help to see them.');
      return;
    }
    const match = /^\/(\S+)\s*([\s\S]*)$/.exec(trimmed);
    if (!match) {
      print('Type a command after the slash, e.g. /latest or /help.');
      return;
    }
    const name = match[1]!.toLowerCase();
    const rest = match[2] ?? '';
    switch (name) {
      case 'quit':
      case 'exit':
        options.onQuit();
        return;
      case 'as': {
        const who = rest.trim().toLowerCase();
        if (who !== 'admin' && who !== 'member') {
          print('Usage: /as admin|member — admins may change subscriptions, members may not.');
          return;
        }
        invoker = { ...invoker, canManage: who === 'admin' };
        print(`You are now typing as ${who === 'admin' ? 'an admin' : 'a member'}.`);
        rl.setPrompt(promptText());
        return;
      }
      case 'in': {
        const where = rest.trim().toLowerCase();
        if (where === 'dm') {
          place = { ...place, channelId: `dm-${invoker.userId}`, isDirect: true, workspaceId: null };
        } else if (/^#?[a-z0-9][a-z0-9_-]{0,79}$/.test(where)) {
          place = { ...place, channelId: where.replace(/^#/, ''), isDirect: false, workspaceId: CONSOLE_WORKSPACE };
        } else {
          print('Usage: /in #channel-name | dm');
          return;
        }
        print(`You are now in ${place.isDirect ? 'a direct message' : `#${place.channelId}`}.`);
        rl.setPrompt(promptText());
        return;
      }
    }
    if (name === 'press') {
      const action = rest.trim();
      if (!action) {
        print('Usage: /press <button id> — the id is shown after each button.');
        return;
      }
      print(renderReply(await runAction(options.commands, { invoker, place, services: options.services, platformCommands: CONSOLE_COMMANDS }, action), style));
      return;
    }
    const spec = options.commands.find((candidate) => candidate.name === name);
    if (!spec) {
      print(`Unknown command /${terminalSafe(name)}. Type /help to see the commands.`);
      return;
    }
    const split = splitCommandText(spec, rest);
    const reply = split.ok
      ? await runCommand(spec, { invoker, place, services: options.services, platformCommands: CONSOLE_COMMANDS }, split.value)
      : { visibility: 'private' as const, blocks: [{ kind: 'text' as const, spans: [{ text: split.error.message }] }] };
    print(renderReply(reply, style));
  };

  rl.on('line', (line) => {
    // One command at a time, in the order typed, even when piped input arrives all at once.
    queue = queue
      .then(() => handleLine(line))
      .catch((error: unknown) => log.error({ err: error }, 'console command failed'))
      .then(() => {
        if (isTTY && !closed) rl.prompt();
      });
  });
  rl.on('close', () => {
    closed = true;
    options.onPrompt?.(null);
    // On a terminal Ctrl-D means "quit"; for piped input, EOF only ends typing and the bot keeps running
    // (a service under systemd or Docker has no stdin at all).
    if (isTTY) void queue.then(() => options.onQuit());
  });
  if (isTTY) {
    print(style.dim('Inkwire console. Type /help for commands, /quit to stop.'));
    rl.prompt();
  }

  return {
    name: 'console',
    async send(destination, message) {
      messageCount++;
      const where = destination.direct
        ? ' (direct message to you: an alert matched)'
        : destination.channelId === CONSOLE_DEFAULT_CHANNEL
          ? ''
          : ` in #${destination.channelId}`;
      if (message.kind === 'post') {
        const mention = message.mentionId ? ` · @${message.mentionId}` : '';
        print(`${renderCard(message.card, style, `New post${where}${message.card.feedTitle ? ` · ${message.card.feedTitle}` : ''}${mention}`)}\n`);
      } else {
        print(
          [style.bold(terminalSafe(`${message.title}${where}`)), ...message.cards.map((card) => renderCard(card, style))].join('\n\n'),
        );
      }
      return { messageId: `console-${messageCount}` };
    },
    async stop() {
      await queue;
      closed = true;
      options.onPrompt?.(null);
      rl.close();
    },
  };
}

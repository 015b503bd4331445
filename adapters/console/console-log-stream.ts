import { Writable } from 'node:stream';
import { clearLine, cursorTo, type Interface } from 'node:readline';

/**
 * A log destination that keeps the interactive prompt intact: on a terminal it clears the prompt
 * line, writes the log line, and redraws the prompt with what the user had typed so far.
 */
export function createPromptSafeLogStream(target: NodeJS.WriteStream): Writable & { attach(rl: Interface | null): void } {
  let prompt: Interface | null = null;
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (prompt && target.isTTY) {
        clearLine(target, 0);
        cursorTo(target, 0);
        target.write(chunk);
        prompt.prompt(true);
      } else {
        target.write(chunk);
      }
      callback();
    },
  });
  return Object.assign(stream, {
    attach(rl: Interface | null) {
      prompt = rl;
    },
  });
}

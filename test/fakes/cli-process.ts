import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/inkwire.js', import.meta.url));

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout (or stderr) matches, or rejects after `timeoutMs` with what was printed. */
  waitFor(pattern: RegExp, options?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number }): Promise<void>;
  write(line: string): void;
  exit(): Promise<number | null>;
}

/** Runs the real `inkwire` executable with a controlled environment (no inherited tokens or .env). */
export function spawnInkwire(args: string[], env: Record<string, string>, cwd?: string): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    // HTTP_PORT off unless a test asks for it: parallel bots must not fight over 8080.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', HTTP_PORT: '0', ...env },
    stdio: 'pipe',
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 15_000);
      const read = () => (options.stream === 'stderr' ? err : out);
      while (!pattern.test(read())) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`timed out waiting for ${pattern}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    write: (line) => void child.stdin.write(`${line}\n`),
    exit: () => exited,
  };
}

/** Runs `inkwire` to completion. */
export async function runInkwire(args: string[], env: Record<string, string>, cwd?: string) {
  const proc = spawnInkwire(args, env, cwd);
  proc.child.stdin.end();
  const code = await proc.exit();
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/**
 * Waits until the bot on `port` reports `platform` (e.g. `discord`) connected on /readyz: a platform is
 * reached in the background after start, and its endpoints answer 503 until then. 30 s is a give-up time
 * for a loaded machine, not a speed bound.
 */
export async function untilPlatformConnected(port: number, platform: string, giveUpMs = 30_000): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.text()).catch((error: unknown) => String(error));
    if (last.split('\n').some((line) => line.startsWith(`ok   ${platform} connected`))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${platform} not connected on port ${port} after ${giveUpMs} ms; /readyz said:\n${last}`);
}

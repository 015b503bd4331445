import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** This checkout's executable, or another build's (`INKWIRE_BIN`, e.g. a copy with one file changed, for an A/B run). */
const BIN = process.env.INKWIRE_BIN || fileURLToPath(new URL('../bin/inkwire.js', import.meta.url));

/** One real `inkwire start` process, its log written to a file (a long run's log would not fit in memory). */
export interface InkwireProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once the bot logged "Inkwire started"; rejects if it exits first or `timeoutMs` passes. */
  started(timeoutMs?: number): Promise<void>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Whether it logged "Inkwire started" (an exit before that is a failed start, not a crash). */
  hasStarted(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** The exit code (null after a signal). */
  exit(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** The last lines it wrote (for an error message). */
  tail(): string;
}

/**
 * Starts `inkwire start` (bin/inkwire.js: the compiled dist/, or the TypeScript sources with
 * `INKWIRE_FROM_SOURCE=true`) with only the given environment, appending its output to `logFile`;
 * `INKWIRE_BOT_NODE_ARGS` adds Node options (a profiler).
 */
export function spawnInkwireProcess(options: { name: string; env: Record<string, string>; logFile: string }): InkwireProcess {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} ${options.name} starts ---\n`);
  // e.g. `INKWIRE_BOT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` to profile the bots.
  const nodeArgs = (process.env.INKWIRE_BOT_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', HTTP_PORT: '0',
      ...(process.env.INKWIRE_FROM_SOURCE ? { INKWIRE_FROM_SOURCE: process.env.INKWIRE_FROM_SOURCE } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let recent = '';
  let startedSeen = false;
  const listeners = new Set<() => void>();
  const take = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString('utf8')).slice(-16_384);
    if (!startedSeen && recent.includes('"Inkwire started"')) {
      startedSeen = true;
      for (const listener of listeners) listener();
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => {
    exitCode = code;
    log.end(`--- ${new Date().toISOString()} ${options.name} exited: ${code ?? signal} ---\n`);
    for (const listener of listeners) listener();
    resolve(code);
  }));
  return {
    name: options.name,
    pid: child.pid ?? -1,
    started(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (startedSeen) done(null);
          else if (exitCode !== undefined) done(new Error(`${options.name} exited (${exitCode}) before it started:\n${recent.slice(-3000)}`));
        };
        const timer = setTimeout(() => done(new Error(`${options.name} did not start within ${timeoutMs} ms:\n${recent.slice(-3000)}`)), timeoutMs);
        function done(error: Error | null) {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        }
        listeners.add(check);
        check();
      });
    },
    alive: () => exitCode === undefined,
    hasStarted: () => startedSeen,
    kill(signal) {
      if (exitCode === undefined) child.kill(signal);
    },
    exit: () => exited,
    async stop(graceMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    tail: () => recent.slice(-3000),
  };
}

/** A PostgreSQL URL that puts a process in one schema (node-postgres passes `options` to the server). */
export function urlWithSchema(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** Polls `condition` every `everyMs` until it holds (true) or `timeoutMs` passes (false). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}

#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (`npm run build`, which `npm install` runs through `prepare`).
// In a checkout without a build it falls back to the TypeScript sources through tsx (a dev dependency).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/main.js', import.meta.url);
let entry;
if (existsSync(compiled) && process.env.INKWIRE_FROM_SOURCE !== 'true') {
  entry = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import('../src/main.ts');
}
const { main, loadDotEnv } = entry;

try {
  loadDotEnv();
} catch (error) {
  process.stderr.write(`inkwire: cannot read .env: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
// The first SIGINT/SIGTERM asks for a clean stop (bounded by SHUTDOWN_TIMEOUT_SECONDS); a second exits at once.
let stopping = false;
const shutdownSignal = new Promise((resolve) => {
  const onSignal = (signal) => {
    if (stopping) {
      process.stderr.write(`inkwire: ${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    resolve(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
});
// Expected failures are answered inside main with one line; anything that still escapes gets one line too
// (the stack only with LOG_LEVEL=debug or trace), never Node's uncaught-exception dump.
const code = await main(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  fetch: globalThis.fetch,
  shutdownSignal,
}).catch((error) => {
  const verbose = /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '');
  const detail = verbose && error instanceof Error ? error.stack : error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`inkwire: ${detail}${verbose ? '' : ' (LOG_LEVEL=debug shows the stack)'}\n`);
  return 1;
});
process.exitCode = code;
// Let the event loop drain; stdin may still be referenced by readline.
process.stdin.unref?.();
if (code !== 0 || process.argv[2] === 'start' || process.argv[2] === undefined) {
  setTimeout(() => process.exit(code), 200).unref();
}

#!/usr/bin/env node
// The container's HEALTHCHECK: exit 0 when /healthz on HTTP_PORT answers 200 within 4 s, else 1.
// (node:20-slim has no curl; this needs nothing but Node.)
const port = Number(process.env.HTTP_PORT ?? '8080');
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('healthcheck: HTTP_PORT is off (0) or invalid; nothing to check\n');
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

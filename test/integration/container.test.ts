import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The image cannot be built here (no registry for base images): what it runs is tested instead.
const root = fileURLToPath(new URL('../../', import.meta.url));
const healthcheck = (port: string) =>
  new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [`${root}bin/healthcheck.js`], { env: { PATH: process.env.PATH ?? '', HTTP_PORT: port }, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });

describe('the container', () => {
  it('GIVEN the HEALTHCHECK command THEN exit 0 when /healthz answers 200, 1 when it does not or nothing listens', async () => {
    let status = 200;
    const server = createServer((req, res) => void res.writeHead(req.url === '/healthz' ? status : 404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect(await healthcheck(port)).toBe(0);
      status = 503;
      expect(await healthcheck(port)).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await healthcheck(port)).toBe(1); // nothing listening
    expect(await healthcheck('0')).toBe(1); // the port is off
  });

  it('GIVEN the Dockerfile THEN it runs as a non-root user, keeps the database on the /data volume, checks /healthz and starts the bot', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/DATABASE_URL=\/data\/inkwire\.db/);
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(dockerfile).toMatch(/chown node:node \/data/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "bin\/healthcheck\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/inkwire\.js", "start"\]$/m);
    expect(dockerfile).toMatch(/^FROM node:20-slim AS build$/m);
    const compose = readFileSync(`${root}compose.yaml`, 'utf8');
    expect(compose).toMatch(/inkwire-data:\/data/);
  });
});

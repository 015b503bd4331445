import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { loadConfig } from '../../src/config.ts';
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

  it('GIVEN the compiled code THEN every package it imports is a production dependency (the image prunes dev dependencies)', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> };
    const files = (readdirSync(`${root}dist`, { recursive: true }) as string[]).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(50);
    const missing = new Set<string>();
    for (const file of files) {
      const code = readFileSync(`${root}dist/${file}`, 'utf8');
      const specs = [...code.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm), ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g), ...code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
      for (const spec of specs) {
        if (spec.startsWith('node:') || spec.startsWith('.')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.add(`${name} (in dist/${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('GIVEN compose.yaml THEN the single instance uses the SQLite volume, and the scale profile runs PostgreSQL and three instances whose settings Inkwire accepts (distinct ids, shards 0-2 of 3)', () => {
    const compose = yaml.load(readFileSync(`${root}compose.yaml`, 'utf8')) as { services: Record<string, { environment?: Record<string, string>; profiles?: string[]; volumes?: string[]; depends_on?: unknown }> };
    expect(compose.services.inkwire!.environment).toMatchObject({ DATABASE_URL: '/data/inkwire.db' });
    expect(compose.services.inkwire!.volumes).toEqual(['inkwire-data:/data']);
    expect(compose.services.postgres!.profiles).toEqual(['scale']);
    const scaled = ['inkwire-1', 'inkwire-2', 'inkwire-3'].map((name) => compose.services[name]!);
    const configs = scaled.map((service) => {
      expect(service.profiles).toEqual(['scale']);
      expect(service.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
      return loadConfig({ ...service.environment, DISCORD_TOKEN: 'token', DISCORD_APP_ID: '123456789012345678' });
    });
    expect(configs.map((c) => c.database.kind)).toEqual(['postgres', 'postgres', 'postgres']);
    expect(new Set(configs.map((c) => c.instanceId)).size).toBe(3);
    expect(configs.map((c) => c.discord?.shards)).toEqual([0, 1, 2].map((id) => ({ ids: [id], count: 3 })));
  });
});

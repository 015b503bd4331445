import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startHttpServer, type ReadinessCheck } from '../../src/http/http-server.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/logger.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { spawnInkwire, type CliProcess } from '../fakes/cli-process.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const TOKEN = 'ops-token-0123456789abcdef';
/** A check whose name and detail must never reach someone without the token. */
const SECRET_CHECK: ReadinessCheck = async () => ({ name: 'database (PostgreSQL db.internal.example)', ok: false, detail: 'connect ECONNREFUSED 10.1.2.3:5432' });
const PASSING_CHECK: ReadinessCheck = async () => ({ name: 'feeds polled within 3 intervals', ok: true });

/** A logger whose JSON lines are kept, to check what the server says (and never says). */
function recordingLogger() {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(chunk.toString('utf8')), done()) });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), text: () => lines.join('') };
}

/**
 * The IPv4 addresses the kernel has a listening TCP socket on for `port` (Linux's /proc/net/tcp: the bind
 * itself, whatever the process logs); null where there is no /proc.
 */
function kernelListening(port: number): string[] | null {
  if (!existsSync('/proc/net/tcp')) return null;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A' && cols[1]?.endsWith(`:${hexPort}`))
    .map((cols) => cols[1]!.split(':')[0]!.match(/../g)!.reverse().map((byte) => parseInt(byte, 16)).join('.'));
}

/** Where a real `inkwire start` is bound: what its `http server listening` line says (JSON logs), checked against the kernel's sockets. */
async function boundAddress(bot: CliProcess): Promise<{ host: string; port: number }> {
  await bot.waitFor(/http server listening/, { stream: 'stderr' });
  const line = bot.stderr().split('\n').find((l) => l.includes('http server listening'))!;
  const { host, port } = JSON.parse(line) as { host: string; port: number };
  const kernel = kernelListening(port);
  if (kernel) expect(kernel, 'the socket the kernel has').toEqual([host]);
  return { host, port };
}

describe('the operations port: bind address and OPS_TOKEN', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  async function serve(options: { host?: string; opsToken?: string; checks?: readonly ReadinessCheck[] } = {}) {
    const log = recordingLogger();
    const metrics = createMetrics({ readOutbox: async () => ({ pending: 0, oldestPendingAt: null, pausedSubscriptions: 0 }), instance: 'test' });
    metrics.pollFinished({ id: 1, url: 'https://example.com/feed' }, 'ok', 0.1, 1);
    const server = await startHttpServer({ port: 0, metrics, logger: log.logger, checks: options.checks ?? [PASSING_CHECK], ...(options.host ? { host: options.host } : {}), ...(options.opsToken ? { opsToken: options.opsToken } : {}) });
    cleanups.push(() => server.stop());
    return { server, base: `http://127.0.0.1:${server.port}`, log };
  }

  it('GIVEN no host THEN the server binds loopback only and logs that address; an explicit host is bound as given', async () => {
    const { server, log } = await serve();
    expect(server.host).toBe('127.0.0.1');
    expect(kernelListening(server.port) ?? ['127.0.0.1']).toEqual(['127.0.0.1']);
    expect(log.text()).toMatch(/"host":"127\.0\.0\.1".*http server listening on 127\.0\.0\.1:\d+/);
    const everywhere = await serve({ host: '0.0.0.0' });
    expect(everywhere.server.host).toBe('0.0.0.0');
    expect(kernelListening(everywhere.server.port) ?? ['0.0.0.0']).toEqual(['0.0.0.0']);
  });

  it('GIVEN OPS_TOKEN THEN /metrics needs the bearer token (none or a wrong one: 401), the right one gets the metrics, /healthz stays open, and the token is never logged', async () => {
    const { base, log } = await serve({ opsToken: TOKEN });
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain('inkwire_');
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Basic ${TOKEN}`, TOKEN]) {
      const wrong = await fetch(`${base}/metrics`, { headers: { authorization } });
      expect(wrong.status, authorization).toBe(401);
      expect(await wrong.text()).not.toContain('inkwire_');
    }
    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('inkwire_polls_total');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(log.text()).toContain('OPS_TOKEN required');
    expect(log.text()).not.toContain(TOKEN);
  });

  it('GIVEN OPS_TOKEN THEN /readyz without it answers its status with one word and no check name or detail; with it the details; a wrong token is 401', async () => {
    const failing = await serve({ opsToken: TOKEN, checks: [PASSING_CHECK, SECRET_CHECK] });
    const bare = await fetch(`${failing.base}/readyz`);
    expect(bare.status).toBe(503);
    expect(await bare.text()).toBe('not ready\n');
    const detailed = await fetch(`${failing.base}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(detailed.status).toBe(503);
    expect(await detailed.text()).toBe('ok   feeds polled within 3 intervals\nFAIL database (PostgreSQL db.internal.example): connect ECONNREFUSED 10.1.2.3:5432\n');
    expect((await fetch(`${failing.base}/readyz`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);

    const passing = await serve({ opsToken: TOKEN });
    const ready = await fetch(`${passing.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
  });

  it('GIVEN no OPS_TOKEN THEN /metrics and /readyz answer as before (on the loopback bind)', async () => {
    const { server, base } = await serve({ checks: [PASSING_CHECK, SECRET_CHECK] });
    expect(server.host).toBe('127.0.0.1');
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/FAIL database \(PostgreSQL db\.internal\.example\)/);
  });

  it('GIVEN `inkwire start` in console mode THEN it binds 127.0.0.1; with HTTP_HOST it binds that; OPS_TOKEN reaches the server and is never logged', async () => {
    const feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    cleanups.push(() => feeds.close());

    const port = await freePort();
    const consoleBot = spawnInkwire(['start'], { FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('console.db'), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port), OPS_TOKEN: TOKEN });
    cleanups.push(() => void consoleBot.child.kill('SIGKILL'));
    expect(await boundAddress(consoleBot)).toEqual({ host: '127.0.0.1', port });
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).text()).toMatch(/^(not )?ready\n$/);
    consoleBot.child.kill('SIGTERM');
    expect(await consoleBot.exit()).toBe(0);
    expect(consoleBot.stderr()).not.toContain(TOKEN);
    expect(consoleBot.stderr()).not.toMatch(/OPS_TOKEN is not set/);

    const explicitPort = await freePort();
    const explicit = spawnInkwire(['start'], { FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('explicit.db'), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(explicitPort), HTTP_HOST: '0.0.0.0' });
    cleanups.push(() => void explicit.child.kill('SIGKILL'));
    expect(await boundAddress(explicit)).toEqual({ host: '0.0.0.0', port: explicitPort });
    // Reachable from elsewhere without a token: said so at start.
    expect(explicit.stderr()).toMatch(/OPS_TOKEN is not set/);
    explicit.child.kill('SIGTERM');
    expect(await explicit.exit()).toBe(0);
  });

  it('GIVEN Discord HTTP interactions (Discord posts to HTTP_PORT) THEN `inkwire start` binds every interface, unless HTTP_HOST says otherwise', async () => {
    const feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const appId = snowflake();
    const discord = await startFakeDiscord({ token: 'ops-port-token', appId, guilds: [] });
    cleanups.push(() => feeds.close(), () => discord.close());
    const { publicKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const env = (db: string, port: number) => ({
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file(db), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port),
      DISCORD_TOKEN: 'ops-port-token', DISCORD_APP_ID: appId, DISCORD_API_URL: discord.apiUrl, DISCORD_PUBLIC_KEY: hex,
    });

    const port = await freePort();
    const open = spawnInkwire(['start'], env('discord-http.db', port));
    cleanups.push(() => void open.child.kill('SIGKILL'));
    expect(await boundAddress(open)).toEqual({ host: '0.0.0.0', port });
    open.child.kill('SIGTERM');
    expect(await open.exit()).toBe(0);

    const pinnedPort = await freePort();
    const pinned = spawnInkwire(['start'], { ...env('discord-http-pinned.db', pinnedPort), HTTP_HOST: '127.0.0.1' });
    cleanups.push(() => void pinned.child.kill('SIGKILL'));
    expect(await boundAddress(pinned)).toEqual({ host: '127.0.0.1', port: pinnedPort });
    pinned.child.kill('SIGTERM');
    expect(await pinned.exit()).toBe(0);
  });
});

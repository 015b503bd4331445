import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import type { InkwireMetrics } from './metrics.ts';

/** One readiness check: a name and whether it passes (with why not). */
export type ReadinessCheck = () => Promise<{ name: string; ok: boolean; detail?: string }>;

/** A platform endpoint mounted on the same port (Slack's `/slack/…`, Discord's `/discord/interactions`). */
export interface HttpRoute {
  /** The path, or with a trailing slash every path under it. */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface HttpServer {
  readonly port: number;
  /** The address it listens on (`127.0.0.1`: this machine only; `0.0.0.0`: every interface). */
  readonly host: string;
  stop(): Promise<void>;
}

export interface HttpServerOptions {
  port: number;
  /** The address to listen on; 127.0.0.1 unless the caller says (main.ts passes HTTP_HOST, resolved by mode). */
  host?: string;
  /**
   * When set, `/metrics` and the details of `/readyz` need `Authorization: Bearer <opsToken>`: without it
   * `/metrics` is 401 and `/readyz` answers only its status with one word; a wrong token is 401 on both.
   */
  opsToken?: string;
  checks: readonly ReadinessCheck[];
  metrics: InkwireMetrics;
  logger: Logger;
  routes?: readonly HttpRoute[];
}

/** Whether the request carries the token: hashes compared in constant time (length and contents alike). */
function bearerMatches(req: IncomingMessage, token: string): 'none' | 'wrong' | 'ok' {
  const header = req.headers.authorization;
  if (header === undefined) return 'none';
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token)) ? 'ok' : 'wrong';
}

/**
 * The one port Inkwire listens on: `/healthz` (the process answers), `/readyz` (every check passes: 200,
 * else 503 with the failing ones), `/metrics` (Prometheus text), and the platforms' endpoints. Nothing else
 * is served; every other path is 404. With an `opsToken`, `/metrics` and `/readyz`'s details need it.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const routes = options.routes ?? [];
  const host = options.host ?? '127.0.0.1';
  const { opsToken } = options;
  const refuse = (res: ServerResponse) => void res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="inkwire operations"' }).end('unauthorized\n');
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = routes.find((r) => (r.path.endsWith('/') ? path.startsWith(r.path) : path === r.path));
      if (route) return route.handle(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      const access = opsToken === undefined ? 'ok' : bearerMatches(req, opsToken);
      if (path === '/readyz') {
        if (access === 'wrong') return refuse(res);
        const results = await Promise.all(options.checks.map((check) => check().catch((error: unknown) => ({ name: 'check', ok: false, detail: String(error) }))));
        const status = results.every((r) => r.ok) ? 200 : 503;
        // Without the token: a load balancer's answer (the status), never which check failed or why.
        if (access === 'none') return void res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ready\n' : 'not ready\n');
        const body = results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? `: ${r.detail}` : ''}`).join('\n');
        return void res.writeHead(status, { 'content-type': 'text/plain' }).end(`${body}\n`);
      }
      if (path === '/metrics') {
        if (access !== 'ok') return refuse(res);
        const text = await options.metrics.registry.metrics();
        return void res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text);
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    })().catch((error: unknown) => {
      options.logger.error({ err: error }, 'http request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  options.logger.info(
    {
      host: address.address,
      port: address.port,
      endpoints: ['/healthz', '/readyz', '/metrics', ...routes.map((r) => (r.path.endsWith('/') ? `${r.path}*` : r.path))],
      access: opsToken === undefined ? '/metrics and /readyz open (no OPS_TOKEN)' : 'OPS_TOKEN required for /metrics and /readyz details',
    },
    `http server listening on ${address.address}:${address.port}`,
  );
  return {
    port: address.port,
    host: address.address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

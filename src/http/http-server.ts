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
  stop(): Promise<void>;
}

/**
 * The one port Inkwire listens on: `/healthz` (the process answers), `/readyz` (every check passes: 200,
 * else 503 with the failing ones), `/metrics` (Prometheus text), and the platforms' endpoints. Nothing else
 * is served; every other path is 404.
 */
export async function startHttpServer(options: { port: number; host?: string; checks: readonly ReadinessCheck[]; metrics: InkwireMetrics; logger: Logger; routes?: readonly HttpRoute[] }): Promise<HttpServer> {
  const routes = options.routes ?? [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = routes.find((r) => (r.path.endsWith('/') ? path.startsWith(r.path) : path === r.path));
      if (route) return route.handle(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (path === '/readyz') {
        const results = await Promise.all(options.checks.map((check) => check().catch((error: unknown) => ({ name: 'check', ok: false, detail: String(error) }))));
        const failing = results.filter((r) => !r.ok);
        const body = results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? `: ${r.detail}` : ''}`).join('\n');
        return void res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(`${body}\n`);
      }
      if (path === '/metrics') {
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
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port, endpoints: ['/healthz', '/readyz', '/metrics', ...routes.map((r) => (r.path.endsWith('/') ? `${r.path}*` : r.path))] }, 'http server listening');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

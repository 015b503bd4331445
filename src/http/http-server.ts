import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import type { InkwireMetrics } from './metrics.ts';

/** One readiness check: a name and whether it passes (with why not). */
export type ReadinessCheck = () => Promise<{ name: string; ok: boolean; detail?: string }>;

export interface HttpServer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The operations port: `/healthz` (the process answers), `/readyz` (every check passes: 200, else 503 with
 * the failing ones), `/metrics` (Prometheus text). Nothing else is served; every other path is 404.
 */
export async function startHttpServer(options: { port: number; host?: string; checks: readonly ReadinessCheck[]; metrics: InkwireMetrics; logger: Logger }): Promise<HttpServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
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
  options.logger.info({ port }, 'http server listening (/healthz, /readyz, /metrics)');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

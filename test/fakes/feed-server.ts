import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** When it arrived (Date.now()). */
  at: number;
}

export interface FeedServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  url(path: string): string;
  route(path: string, handler: RouteHandler): void;
  /** Serves a fixed body with an ETag and Last-Modified, answering 304 to matching validators. */
  serveFeed(path: string, body: string | Buffer, options?: { contentType?: string; etag?: string; lastModified?: string }): void;
  requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  close(): Promise<void>;
}

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(FIXTURES + name);
}

/** A real HTTP server on 127.0.0.1 with scriptable routes, standing in for Substack and other feed hosts. */
export async function startFeedServer(): Promise<FeedServer> {
  const routes = new Map<string, RouteHandler>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, at: Date.now() });
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => origin + path,
    route: (path, handler) => void routes.set(path, handler),
    serveFeed(path, body, options = {}) {
      const etag = options.etag ?? `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
      const lastModified = options.lastModified ?? 'Wed, 08 Mar 2023 17:02:11 GMT';
      routes.set(path, (req, res) => {
        // As RFC 9110 says: If-None-Match, when present, decides; If-Modified-Since only without it.
        const inm = req.headers['if-none-match'];
        const unchanged = inm !== undefined ? inm === etag : req.headers['if-modified-since'] === lastModified;
        if (unchanged) {
          res.writeHead(304, { etag, 'last-modified': lastModified }).end();
          return;
        }
        res
          .writeHead(200, {
            'content-type': options.contentType ?? 'application/rss+xml; charset=utf-8',
            etag,
            'last-modified': lastModified,
          })
          .end(body);
      });
    },
    requests,
    requestsTo: (path) => requests.filter((r) => r.path.split('?')[0] === path),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (connection refused). */
export async function refusedUrl(path = '/feed'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

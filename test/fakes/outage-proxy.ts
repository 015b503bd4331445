import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of a platform fake that can play an outage: while `down`, every request gets the
 * given 5xx (as Discord's or Slack's edge would); once `up()`, requests pass through unchanged.
 */
export async function startOutageProxy(target: string, options: { down?: boolean; status?: number } = {}) {
  const origin = new URL(target).origin;
  let down = options.down ?? false;
  const status = options.status ?? 503;
  const counts = { refused: 0, forwarded: 0 };
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => void (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  };
  const server = createServer((req, res) => {
    if (!down) {
      counts.forwarded++;
      return forward(req, res);
    }
    counts.refused++;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'upstream unavailable', code: 0 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxyOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    /** `target` with the proxy's origin (same path). */
    url: target.replace(origin, proxyOrigin),
    counts,
    down: () => void (down = true),
    up: () => void (down = false),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A chat platform's message endpoint on 127.0.0.1, as far as delivery goes: `POST /channels/:id/messages`
 * with an idempotency key, which (like Discord's `nonce` + `enforce_nonce`) makes a repeated key return
 * the original message instead of posting again. It counts every request and every message per channel.
 */
export async function startPlatformServer(options: { delayMs?: number; onRequest?: (count: number) => void } = {}) {
  const messagesByChannel = new Map<string, string[]>();
  const byKey = new Map<string, string>();
  let requests = 0;
  let repeatedKeys = 0;
  const server = createServer((req, res) => {
    const match = /^\/channels\/([\w-]+)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests++;
      const { idempotencyKey } = JSON.parse(body) as { idempotencyKey: string };
      // The message is posted on arrival; the answer comes later. A client that dies in between has
      // posted without knowing it — the case an idempotency key exists for.
      let id = byKey.get(idempotencyKey);
      if (id) {
        repeatedKeys++;
      } else {
        id = `msg-${byKey.size + 1}`;
        byKey.set(idempotencyKey, id);
        const list = messagesByChannel.get(match[1]!) ?? [];
        list.push(id);
        messagesByChannel.set(match[1]!, list);
      }
      options.onRequest?.(requests);
      const answer = () => {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messagesByChannel,
    stats: () => ({ requests, repeatedKeys, messages: byKey.size }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test controls, put between the bot and a server (PostgreSQL) to play
 * the faults of a real network: every open connection cut at once, new connections refused for a while,
 * or held open without a byte passing (a hung server).
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's (e.g. a postgres:// URL). */
  url(url: string): string;
  /** Destroys every open connection, both sides, as a reset would. New ones are still accepted. */
  cut(): void;
  /** Refuses new connections (closed at once) until `restore()`; with `cut` too, the server looks down. */
  refuse(): void;
  /** Accepts new connections and passes nothing either way until `restore()`: a hung server. */
  stall(): void;
  /**
   * Arms a cut at a chosen moment: the first chunk from the server for which `when` holds is passed on, then
   * that connection is closed under the client and `then` runs (e.g. `refuse()` and `cut()`: a restart).
   */
  cutAfter(when: (fromServer: Buffer) => boolean, then?: () => void): void;
  /** Whether the armed `cutAfter` has fired. */
  readonly cutAfterFired: boolean;
  /** Back to passing traffic; stalled connections flow again. */
  restore(): void;
  /** Connections open now, and accepted in all. */
  readonly open: number;
  readonly accepted: number;
  close(): Promise<void>;
}

type Mode = 'pass' | 'refuse' | 'stall';

/**
 * PostgreSQL's ReadyForQuery inside a transaction block ('Z', length 5, status 'T') ending a server chunk:
 * the client has its answer and holds the connection, idle, in the middle of a transaction.
 */
export const readyInTransaction = (chunk: Buffer) => chunk.length >= 6 && chunk.subarray(-6).equals(Buffer.from([0x5a, 0, 0, 0, 5, 0x54]));

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: Mode = 'pass';
  let accepted = 0;
  let armed: { when: (chunk: Buffer) => boolean; then: (() => void) | undefined } | null = null;
  let fired = false;
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const stalled = new Set<Socket>();

  const server = createServer((client) => {
    accepted++;
    if (mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      stalled.delete(client);
      stalled.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Forwarded by hand (not pipe) so a chunk can be inspected before the connection is cut after it.
    const forward = (from: Socket, to: Socket, fromServer: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => stalled.has(from) || from.resume());
        }
        if (fromServer && armed?.when(chunk)) {
          const { then } = armed;
          armed = null;
          fired = true;
          // The answer arrives, then the server is gone (this pair is out of `pairs`, so `then` cannot reset it first).
          pairs.delete(pair);
          to.end(() => upstream.destroy());
          then?.();
        }
      });
    forward(client, upstream, false);
    forward(upstream, client, true);
    if (mode === 'stall') {
      client.pause();
      upstream.pause();
      stalled.add(client).add(upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    url(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut() {
      for (const { client, upstream } of [...pairs]) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    refuse() {
      mode = 'refuse';
    },
    stall() {
      mode = 'stall';
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
        stalled.add(client).add(upstream);
      }
    },
    cutAfter(when, then) {
      fired = false;
      armed = { when, then };
    },
    get cutAfterFired() {
      return fired;
    },
    restore() {
      mode = 'pass';
      for (const socket of stalled) socket.resume();
      stalled.clear();
    },
    get open() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    async close() {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

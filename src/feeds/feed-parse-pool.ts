import { Worker } from 'node:worker_threads';
import { InkwireError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import { decodeFeedBody } from './charset.ts';
import { newestItems } from './feed-items-cap.ts';
import { parseFeedXml, type ParsedFeed } from './feed-parser.ts';

/** Where a feed was parsed: in the calling thread, or in the parse worker. */
export type ParsePlace = 'inline' | 'worker';

/** A parsed feed cut to its newest items, how many it had, and where it was parsed. */
export interface CappedFeed {
  feed: ParsedFeed;
  totalItems: number;
  parsedIn: ParsePlace;
}

/**
 * A feed body as fetched: its bytes undecoded, and the Content-Type that may name their charset. The
 * fetcher's `fetched` outcome is one. The parser decodes it where it parses it.
 */
export interface FeedBody {
  raw: Uint8Array;
  contentType: string | null;
}

/**
 * Parses a feed and keeps the newest `maxItems` items. Takes the fetched bytes (decoded where they are
 * parsed) or, for callers that already hold text (the CLI, tests), a string.
 */
export type FeedParser = (input: FeedBody | string) => Promise<Result<CappedFeed, InkwireError>>;

/** Decodes and parses in the calling thread, and keeps the newest `maxItems` items. Shared with the worker. */
export async function parseCapped(input: FeedBody | string, maxItems: number): Promise<Result<Omit<CappedFeed, 'parsedIn'>, InkwireError>> {
  const text = typeof input === 'string' ? input : decodeFeedBody(input.raw, input.contentType);
  const parsed = await parseFeedXml(text);
  if (!parsed.ok) return parsed;
  return ok({ feed: { ...parsed.value, items: newestItems(parsed.value.items, maxItems) }, totalItems: parsed.value.items.length });
}

/** In the calling thread: for the CLI, tests and small feeds. */
export function createInlineFeedParser(maxItems: number): FeedParser {
  return async (input) => {
    const parsed = await parseCapped(input, maxItems);
    return parsed.ok ? ok({ ...parsed.value, parsedIn: 'inline' }) : parsed;
  };
}

/**
 * Feeds smaller than this (in bytes, or characters for text) are parsed in the calling thread; larger ones in
 * the worker. Chosen by measurement (`npm run bench:poll`, 2 vCPU, Node 20): rss-parser holds the thread
 * ~10–25 ms for 100 KB of item-dense XML and ~70–200 ms for 1 MB, against a 50 ms budget for any one stretch
 * of main-thread work. At 64 KB the worst inline stall stays a fraction of that budget even on a loaded
 * machine; a typical Substack feed (100–500 KB) goes to the worker, which costs ~15 MB only while it lives.
 */
export const INLINE_BELOW_BYTES = 64 * 1024;

interface Reply {
  id: number;
  ok: boolean;
  feed?: ParsedFeed;
  total?: number;
  code?: InkwireError['code'];
  message?: string;
}

/** What the worker receives: the body's bytes moved (not copied) into it, or text. */
export interface ParseJob {
  id: number;
  maxItems: number;
  raw?: Uint8Array;
  contentType?: string | null;
  text?: string;
}

const sizeOf = (input: FeedBody | string) => (typeof input === 'string' ? input.length : input.raw.byteLength);

/**
 * The bytes' own buffer, to transfer to the worker (the caller's view is emptied: the body is the worker's
 * now); a copy when the view is a window on a larger or shared buffer, whose other bytes are not ours to move.
 */
function transferable(raw: Uint8Array): Uint8Array {
  const whole = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer;
  return whole ? raw : raw.slice();
}

/**
 * Parses large feeds in a worker thread, so a 10 MB feed never stalls the event loop (and with it every Discord and
 * Slack interaction). The fetched bytes are transferred to the worker (an ArrayBuffer moves; nothing is
 * copied or decoded in the calling thread), and the worker decodes, parses and caps them; only the newest items
 * come back. Jobs queue; a parse that takes longer than `timeoutMs` terminates the worker (the next job starts
 * a fresh one) and fails that feed as malformed. A worker idle for `idleMs` ends (polls are minutes apart,
 * and an idle worker holds ~15 MB of memory); the next poll starts one. The worker never holds the process
 * open. `close()` ends it.
 */
export function createWorkerFeedParser(options: { maxItems: number; timeoutMs?: number; idleMs?: number; inlineBelowBytes?: number }): FeedParser & { close(): Promise<void>; readonly running: boolean } {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const inlineBelow = options.inlineBelowBytes ?? INLINE_BELOW_BYTES;
  const inline = createInlineFeedParser(options.maxItems);
  const idleMs = options.idleMs ?? 10_000;
  let idleTimer: NodeJS.Timeout | null = null;
  // From the TypeScript sources the worker needs the tsx loader, which a worker thread does not inherit.
  const url = new URL(import.meta.url.endsWith('.ts') ? './feed-parse-worker-from-source.mjs' : './feed-parse-worker.js', import.meta.url);
  let worker: Worker | null = null;
  let next = 0;
  const pending = new Map<number, { resolve: (reply: Reply) => void; timer: NodeJS.Timeout }>();

  const failAll = (message: string) => {
    for (const [id, job] of pending) {
      clearTimeout(job.timer);
      job.resolve({ id, ok: false, code: 'feed/malformed', message });
    }
    pending.clear();
  };
  const start = () => {
    const w = new Worker(url);
    w.unref();
    w.on('message', (reply: Reply) => {
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      clearTimeout(job.timer);
      job.resolve(reply);
    });
    w.on('error', (error) => failAll(`the feed parser failed: ${error.message}`));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll('the feed parser stopped');
    });
    return w;
  };

  const endWhenIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (pending.size > 0 || !worker) return;
    idleTimer = setTimeout(() => {
      idleTimer = null;
      const w = worker;
      if (!w || pending.size > 0) return;
      worker = null;
      void w.terminate();
    }, idleMs);
    idleTimer.unref();
  };

  const parse = async (input: FeedBody | string): Promise<Result<CappedFeed, InkwireError>> => {
    if (sizeOf(input) < inlineBelow) return inline(input);
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    worker ??= start();
    const w = worker;
    const id = ++next;
    const reply = await new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ id, ok: false, code: 'feed/malformed', message: `parsing took longer than ${Math.round(timeoutMs / 1000)} s` });
        if (worker === w) worker = null;
        void w.terminate();
      }, timeoutMs);
      timer.unref();
      pending.set(id, { resolve, timer });
      if (typeof input === 'string') {
        w.postMessage({ id, maxItems: options.maxItems, text: input } satisfies ParseJob);
      } else {
        const raw = transferable(input.raw);
        w.postMessage({ id, maxItems: options.maxItems, raw, contentType: input.contentType } satisfies ParseJob, [raw.buffer as ArrayBuffer]);
      }
    });
    endWhenIdle();
    if (!reply.ok) return err(new InkwireError(reply.code ?? 'feed/malformed', reply.message ?? 'the feed could not be parsed'));
    return ok({ feed: reply.feed!, totalItems: reply.total ?? reply.feed!.items.length, parsedIn: 'worker' });
  };
  // Whether a worker thread is alive now (a getter: Object.assign would copy its value once).
  Object.defineProperty(parse, 'running', { get: () => worker !== null });
  return Object.assign(parse as typeof parse & { readonly running: boolean }, {
    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  });
}

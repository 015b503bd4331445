import { Worker } from 'node:worker_threads';
import { InkwireError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import { newestItems } from './feed-items-cap.ts';
import { parseFeedXml, type ParsedFeed } from './feed-parser.ts';

/** A parsed feed cut to its newest items, and how many it had. */
export interface CappedFeed {
  feed: ParsedFeed;
  totalItems: number;
}

/** Parses feed text and keeps the newest `maxItems` items. */
export type FeedParser = (xml: string) => Promise<Result<CappedFeed, InkwireError>>;

/** In the calling thread: for the CLI, tests and small feeds. */
export function createInlineFeedParser(maxItems: number): FeedParser {
  return async (xml) => {
    const parsed = await parseFeedXml(xml);
    if (!parsed.ok) return parsed;
    return ok({ feed: { ...parsed.value, items: newestItems(parsed.value.items, maxItems) }, totalItems: parsed.value.items.length });
  };
}

/**
 * Feeds shorter than this are parsed in the calling thread: a Substack feed of 20 posts (~100-500 KB) parses
 * in a few milliseconds, and a worker thread costs ~15 MB while it lives. Longer ones go to the worker.
 */
export const INLINE_BELOW_CHARS = 1024 * 1024;

interface Reply {
  id: number;
  ok: boolean;
  feed?: ParsedFeed;
  total?: number;
  code?: InkwireError['code'];
  message?: string;
}

/**
 * Parses large feeds in a worker thread, so a 10 MB feed never stalls the event loop (and with it every Discord and
 * Slack interaction). Jobs queue; a parse that takes longer than `timeoutMs` terminates the worker (the
 * next job starts a fresh one) and fails that feed as malformed. A worker idle for `idleMs` ends (polls are
 * minutes apart, and an idle worker holds ~15 MB of memory); the next poll starts one. The worker never
 * holds the process open. `close()` ends it.
 */
export function createWorkerFeedParser(options: { maxItems: number; timeoutMs?: number; idleMs?: number; inlineBelowChars?: number }): FeedParser & { close(): Promise<void>; readonly running: boolean } {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const inlineBelow = options.inlineBelowChars ?? INLINE_BELOW_CHARS;
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

  const parse = async (xml: string): Promise<Result<CappedFeed, InkwireError>> => {
    if (xml.length < inlineBelow) return inline(xml);
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
      w.postMessage({ id, xml, maxItems: options.maxItems });
    });
    endWhenIdle();
    if (!reply.ok) return err(new InkwireError(reply.code ?? 'feed/malformed', reply.message ?? 'the feed could not be parsed'));
    return ok({ feed: reply.feed!, totalItems: reply.total ?? reply.feed!.items.length });
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

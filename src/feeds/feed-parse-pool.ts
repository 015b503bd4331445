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

interface Reply {
  id: number;
  ok: boolean;
  feed?: ParsedFeed;
  total?: number;
  code?: InkwireError['code'];
  message?: string;
}

/**
 * Parses in one long-lived worker thread, so a 10 MB feed never stalls the event loop (and with it every
 * Discord and Slack interaction). Jobs queue; a parse that takes longer than `timeoutMs` terminates the
 * worker (the next job starts a fresh one) and fails that feed as malformed. The worker never holds the
 * process open. `close()` ends it.
 */
export function createWorkerFeedParser(options: { maxItems: number; timeoutMs?: number }): FeedParser & { close(): Promise<void> } {
  const timeoutMs = options.timeoutMs ?? 30_000;
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

  const parse = async (xml: string): Promise<Result<CappedFeed, InkwireError>> => {
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
    if (!reply.ok) return err(new InkwireError(reply.code ?? 'feed/malformed', reply.message ?? 'the feed could not be parsed'));
    return ok({ feed: reply.feed!, totalItems: reply.total ?? reply.feed!.items.length });
  };
  return Object.assign(parse, {
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  });
}

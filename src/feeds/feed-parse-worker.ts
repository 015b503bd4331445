// The worker side of `createWorkerFeedParser`: decodes and parses a feed off the main thread (a 10 MB feed
// takes about a second of CPU in rss-parser/sax, and decoding it ~10 ms more) and sends back only the newest
// items, so chat stays responsive. The body's bytes arrive transferred, not copied.
import { parentPort } from 'node:worker_threads';
import { parseCapped, type ParseJob } from './feed-parse-pool.ts';

parentPort?.on('message', (job: ParseJob) => {
  const input = job.text ?? { raw: job.raw ?? new Uint8Array(0), contentType: job.contentType ?? null };
  void parseCapped(input, job.maxItems).then(
    (parsed) => {
      if (!parsed.ok) {
        parentPort?.postMessage({ id: job.id, ok: false, code: parsed.error.code, message: parsed.error.message });
        return;
      }
      parentPort?.postMessage({ id: job.id, ok: true, feed: parsed.value.feed, total: parsed.value.totalItems });
    },
    (error: unknown) => parentPort?.postMessage({ id: job.id, ok: false, code: 'feed/malformed', message: error instanceof Error ? error.message : String(error) }),
  );
});

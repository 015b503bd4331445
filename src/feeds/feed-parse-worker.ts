// The worker side of `createWorkerFeedParser`: parses feed XML off the main thread (a 10 MB feed takes
// about a second of CPU in rss-parser/sax) and keeps only the newest items, so chat stays responsive.
import { parentPort } from 'node:worker_threads';
import { newestItems } from './feed-items-cap.ts';
import { parseFeedXml } from './feed-parser.ts';

interface Job {
  id: number;
  xml: string;
  maxItems: number;
}

parentPort?.on('message', (job: Job) => {
  void parseFeedXml(job.xml).then(
    (parsed) => {
      if (!parsed.ok) {
        parentPort?.postMessage({ id: job.id, ok: false, code: parsed.error.code, message: parsed.error.message });
        return;
      }
      const total = parsed.value.items.length;
      parentPort?.postMessage({ id: job.id, ok: true, feed: { ...parsed.value, items: newestItems(parsed.value.items, job.maxItems) }, total });
    },
    (error: unknown) => parentPort?.postMessage({ id: job.id, ok: false, code: 'feed/malformed', message: error instanceof Error ? error.message : String(error) }),
  );
});

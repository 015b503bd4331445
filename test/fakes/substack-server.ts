import { fixture, type FeedServer } from './feed-server.ts';

export interface SubstackArchiveOptions {
  /** Delay before answering each `/api/v1/posts/<slug>` request. */
  postDelayMs?: number;
  /** Answer the first N archive requests with 429 and this Retry-After (seconds). */
  rateLimitFirst?: { count: number; retryAfterSeconds: number };
}

/**
 * Serves Substack's unofficial archive API from the fixtures: `/api/v1/archive?offset=N&limit=3`
 * (bare arrays, `body_html: null`) and `/api/v1/posts/<slug>` (top-level post objects). Tracks how many
 * requests are in flight at once, to check politeness.
 */
export function serveSubstackArchive(server: FeedServer, options: SubstackArchiveOptions = {}) {
  const stats = { inFlight: 0, maxInFlight: 0, postRequests: [] as string[], archiveRequests: [] as string[] };
  let limited = 0;
  const track = async (work: () => Promise<void>) => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      await work();
    } finally {
      stats.inFlight--;
    }
  };
  server.route('/api/v1/archive', (req, res) =>
    track(async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      stats.archiveRequests.push(url.search);
      if (options.rateLimitFirst && limited < options.rateLimitFirst.count) {
        limited++;
        res.writeHead(429, { 'retry-after': String(options.rateLimitFirst.retryAfterSeconds) }).end('Too many requests');
        return;
      }
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      if (limit !== 3 || url.searchParams.get('sort') !== 'new') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"msg":"fixture serves limit=3, sort=new"}]}');
        return;
      }
      let body = '[]';
      try {
        body = fixture(`archive-offset-${offset}-limit-3.json`);
      } catch {
        body = '[]';
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }),
  );
  for (const slug of [
    'attention-is-all-you-need',
    'chinchilla-compute-optimal',
    'flashattention-challenges-ml-researchers',
    'lora-low-rank-adaptation',
    'mixture-of-experts-explained',
    'rlhf-explained',
    'toolformer-teaches-language-models',
  ]) {
    server.route(`/api/v1/posts/${slug}`, (_req, res) =>
      track(async () => {
        stats.postRequests.push(slug);
        if (options.postDelayMs) await new Promise((resolve) => setTimeout(resolve, options.postDelayMs));
        res.writeHead(200, { 'content-type': 'application/json' }).end(fixture(`post-${slug}.json`));
      }),
    );
  }
  return stats;
}

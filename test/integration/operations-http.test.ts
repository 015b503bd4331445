import { createServer } from 'node:net';
// @ts-expect-error -- the package ships no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';


describe('the operations port: /healthz, /readyz, /metrics', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  it('GIVEN a running bot THEN /healthz answers, /metrics parses as Prometheus text, and /readyz goes 503 naming a feed not polled for 3 intervals', async () => {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    let polls = 0;
    feeds.route('/feed', (_req, res) => {
      polls++;
      if (polls === 1) return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(fixture('dailyink-feed-v1.xml'));
      res.writeHead(500).end(); // from now on failing: backoff, so not polled again for minutes
    });
    const port = await freePort();
    const bot = spawnInkwire(['start'], { FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('ops.db'), POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port) });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/http server listening/, { stream: 'stderr' });
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await bot.waitFor(/feed poll failed/, { stream: 'stderr' });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const families = parsePrometheusTextFormat(metrics) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> }>;
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family('inkwire_polls_total')?.metrics.map((m) => m.labels?.outcome).sort()).toEqual(['failed', 'ok']);
    expect(family('inkwire_posts_stored_total')?.metrics[0]?.value).toBe('6');
    for (const name of ['inkwire_outbox_pending', 'inkwire_outbox_oldest_pending_seconds', 'inkwire_subscriptions_paused', 'inkwire_feed_poll_seconds', 'inkwire_search_seconds', 'inkwire_deliveries_total', 'inkwire_nodejs_eventloop_lag_seconds', 'inkwire_process_resident_memory_bytes']) {
      expect(family(name), name).toBeDefined();
    }

    // POLL_CRON runs every second, and the failing feed now waits out its backoff: after 3 s it is stale.
    const deadline = Date.now() + 10_000;
    let ready = await fetch(`${base}/readyz`);
    while (ready.status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ready = await fetch(`${base}/readyz`);
    }
    expect(ready.status).toBe(503);
    const body = await ready.text();
    expect(body).toMatch(/FAIL feeds polled within 3 intervals: http:\/\/127\.0\.0\.1:\d+\/feed/);
    expect(body).toMatch(/ok {3}database/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });

  it('GIVEN HTTP_PORT already taken THEN the bot says so and runs without the operations port', async () => {
    const feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    cleanups.push(() => feeds.close(), () => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    const bot = spawnInkwire(['start'], { FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('busy-port.db'), POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port) });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/Inkwire started/, { stream: 'stderr' });
    await bot.waitFor(new RegExp(`cannot listen on HTTP_PORT ${port}`), { stream: 'stderr' });
    await bot.waitFor(/feed seen for the first time/, { stream: 'stderr' }); // still polling
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });
});

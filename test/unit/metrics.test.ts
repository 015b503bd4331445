import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.ts';

describe('/metrics', () => {
  it('GIVEN a scrape THEN the outbox is read once for its three gauges, and every series carries the instance', async () => {
    let reads = 0;
    const metrics = createMetrics({
      instance: 'bot-1',
      readOutbox: async () => {
        reads++;
        return { pending: 7, oldestPendingAt: new Date(Date.now() - 5000), pausedSubscriptions: 2 };
      },
    });
    const text = await metrics.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toMatch(/^inkwire_outbox_pending\{instance="bot-1"\} 7$/m);
    expect(text).toMatch(/^inkwire_subscriptions_paused\{instance="bot-1"\} 2$/m);
    expect(Number(/^inkwire_outbox_oldest_pending_seconds\{instance="bot-1"\} (\S+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(5);
  });

  it('GIVEN polls of a feed whose URL carries credentials THEN its series are labelled by feed id and host, and no part of the URL but the host is scraped', async () => {
    const metrics = createMetrics({ readOutbox: async () => ({ pending: 0, oldestPendingAt: null, pausedSubscriptions: 0 }) });
    const feed = { id: 3, url: 'https://reader:PASSWORD1@example.com:8443/private/0f9e8d7c-1234-4abc-9def-0123456789ab/capability-secret.rss?k=PRIVATEKEY123#FRAGMENT1' };
    metrics.pollFinished(feed, 'ok', 0.2, 2);
    metrics.pollFinished(feed, 'failed', 0.1, 0);
    metrics.itemsNotStored(feed, 4);
    metrics.pollFinished({ id: 7, url: 'not a url' }, 'not-modified', 0.1, 0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^inkwire_polls_total\{feed_id="3",feed_host="example\.com:8443",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^inkwire_polls_total\{feed_id="3",feed_host="example\.com:8443",outcome="failed"\} 1$/m);
    expect(text).toMatch(/^inkwire_feed_items_not_stored_total\{feed_id="3",feed_host="example\.com:8443"\} 4$/m);
    expect(text).toMatch(/^inkwire_polls_total\{feed_id="7",feed_host="unknown",outcome="not-modified"\} 1$/m);
    expect(text).toMatch(/^inkwire_posts_stored_total 2$/m);
    for (const secret of ['reader', 'PASSWORD1', 'private', '0f9e8d7c', 'capability', 'PRIVATEKEY123', 'FRAGMENT1', '***']) expect(text).not.toContain(secret);
  });

  it('GIVEN the store failing THEN the gauges read NaN and the scrape still answers', async () => {
    const metrics = createMetrics({ readOutbox: async () => Promise.reject(new Error('database gone')) });
    // prom-client writes NaN as "Nan"; Prometheus parses either.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^inkwire_outbox_pending NaN$/im);
    expect(text).toMatch(/^inkwire_outbox_oldest_pending_seconds NaN$/im);
  });
});

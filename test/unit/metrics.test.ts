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

  it('GIVEN the store failing THEN the gauges read NaN and the scrape still answers', async () => {
    const metrics = createMetrics({ readOutbox: async () => Promise.reject(new Error('database gone')) });
    // prom-client writes NaN as "Nan"; Prometheus parses either.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^inkwire_outbox_pending NaN$/im);
    expect(text).toMatch(/^inkwire_outbox_oldest_pending_seconds NaN$/im);
  });
});

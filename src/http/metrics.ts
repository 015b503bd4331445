import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A feed as `/metrics` names it: by its stable id and its host (`feed_id="3",feed_host="example.com"`), never by
 * its URL, which may carry credentials (an unauthenticated scrape must not read a private feed's token).
 */
export interface MetricsFeed {
  id: number;
  url: string;
}

/** What Inkwire counts for `/metrics` (Prometheus text), in one registry per process. */
export interface InkwireMetrics {
  readonly registry: Registry;
  pollFinished(feed: MetricsFeed, outcome: 'ok' | 'not-modified' | 'failed', seconds: number, created: number): void;
  /** Items of a feed the store could not keep (each skipped alone; the rest of the poll was stored). */
  itemsNotStored(feed: MetricsFeed, count: number): void;
  deliveryFinished(platform: string, outcome: 'sent' | 'retry' | 'failed' | 'held' | 'released'): void;
  searchFinished(seconds: number): void;
}

export interface OutboxReading {
  pending: number;
  oldestPendingAt: Date | null;
  pausedSubscriptions: number;
}

/**
 * The registry with process metrics (CPU, memory, event-loop lag) and Inkwire's own; the outbox and
 * subscription gauges are read from the store when scraped.
 */
export function createMetrics(options: { readOutbox: () => Promise<OutboxReading>; instance?: string }): InkwireMetrics {
  const registry = new Registry();
  // Every figure carries the instance: several processes share one database and one dashboard.
  if (options.instance) registry.setDefaultLabels({ instance: options.instance });
  collectDefaultMetrics({ register: registry, prefix: 'inkwire_' });
  const polls = new Counter({ name: 'inkwire_polls_total', help: 'Feed polls by feed and outcome', labelNames: ['feed_id', 'feed_host', 'outcome'], registers: [registry] });
  const pollSeconds = new Histogram({
    name: 'inkwire_feed_poll_seconds', help: 'Feed poll duration (fetch, parse, store)', labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20], registers: [registry],
  });
  const notStored = new Counter({ name: 'inkwire_feed_items_not_stored_total', help: 'Feed items the store refused and skipped, by feed', labelNames: ['feed_id', 'feed_host'], registers: [registry] });
  const posts = new Counter({ name: 'inkwire_posts_stored_total', help: 'Posts stored for the first time', registers: [registry] });
  const deliveries = new Counter({ name: 'inkwire_deliveries_total', help: 'Delivery attempts by platform and outcome', labelNames: ['platform', 'outcome'], registers: [registry] });
  const searchSeconds = new Histogram({ name: 'inkwire_search_seconds', help: '/search latency', buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry] });
  // One scrape reads the outbox once for its three gauges (they collect together, within milliseconds).
  let reading: { at: number; value: Promise<OutboxReading> } | null = null;
  const read = () => {
    if (!reading || Date.now() - reading.at > 1000) {
      reading = { at: Date.now(), value: options.readOutbox().catch((): OutboxReading => ({ pending: Number.NaN, oldestPendingAt: null, pausedSubscriptions: Number.NaN })) };
    }
    return reading.value;
  };
  new Gauge({
    name: 'inkwire_outbox_pending', help: 'Deliveries waiting to be sent', registers: [registry],
    async collect() {
      this.set((await read()).pending);
    },
  });
  new Gauge({
    name: 'inkwire_outbox_oldest_pending_seconds', help: 'Age of the oldest pending delivery', registers: [registry],
    async collect() {
      const { oldestPendingAt, pending } = await read();
      // Unknown (the store did not answer) is NaN, not 0: "nothing waiting" would be a lie on a dashboard.
      this.set(Number.isNaN(pending) ? Number.NaN : oldestPendingAt ? Math.max(0, (Date.now() - oldestPendingAt.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'inkwire_subscriptions_paused', help: 'Subscriptions paused because their channel cannot receive', registers: [registry],
    async collect() {
      this.set((await read()).pausedSubscriptions);
    },
  });
  return {
    registry,
    pollFinished(feed, outcome, seconds, created) {
      polls.inc({ ...feedLabels(feed), outcome });
      pollSeconds.observe({ outcome }, seconds);
      if (created > 0) posts.inc(created);
    },
    itemsNotStored(feed, count) {
      if (count > 0) notStored.inc(feedLabels(feed), count);
    },
    deliveryFinished(platform, outcome) {
      deliveries.inc({ platform, outcome });
    },
    searchFinished(seconds) {
      searchSeconds.observe(seconds);
    },
  };
}

/** The labels of one feed: its id and host (the host only: no user info, path or query). */
function feedLabels(feed: MetricsFeed): { feed_id: string; feed_host: string } {
  let host: string;
  try {
    host = new URL(feed.url).host;
  } catch {
    host = 'unknown';
  }
  return { feed_id: String(feed.id), feed_host: host };
}

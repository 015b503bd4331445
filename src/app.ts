import type { Clock } from './clock.ts';
import type { CommandServices, CommandSpec } from './commands/command-spec.ts';
import type { Config } from './config.ts';
import { createCommandRateLimiter } from './commands/command-rate-limit.ts';
import { createArchiveBackfill } from './backfill/archive-backfill.ts';
import { createDeliveryEngine, type DeliveryEngineOptions } from './delivery/delivery-engine.ts';
import { createPublicAddressGuard } from './feeds/feed-url-guard.ts';
import { createSubscriptionService, type FeedProbe } from './delivery/subscription-service.ts';
import { UserError } from './errors.ts';
import { createFeedFetcher } from './feeds/feed-fetcher.ts';
import { createFeedPoller } from './feeds/feed-poller.ts';
import { createWorkerFeedParser } from './feeds/feed-parse-pool.ts';
import type { Logger } from './logger.ts';
import type { ChatPlatform } from './platform/chat-platform.ts';
import { err, ok } from './result.ts';
import { createSearchService } from './search/search-service.ts';
import type { Store } from './storage/store.ts';

const BACKOFF_BASE_MS = 5 * 60 * 1000;

/**
 * The platform-free core, wired from a config and its edges (store, fetch, clock). `src/main.ts`, the
 * composition root, builds one and adds the chat adapter and the schedules.
 */
/** The feed fetcher as configured: timeouts, caps, redirects, and the guard for user-added feeds. */
export function createConfiguredFetcher(config: Config, fetch: typeof globalThis.fetch) {
  // User-added feeds may only reach public addresses, checked before each hop and pinned at connect time.
  const guard = config.allowPrivateFeeds ? null : createPublicAddressGuard();
  return createFeedFetcher({
    fetch,
    userAgent: config.userAgent,
    timeoutMs: config.feedTimeoutMs,
    maxBytes: config.feedMaxBytes,
    maxRedirects: config.feedMaxRedirects,
    ...(guard ? { guardUrl: guard.checkUrl, untrustedDispatcher: guard.dispatcher } : {}),
  });
}

export function buildCore(deps: {
  config: Config;
  store: Store;
  fetch: typeof globalThis.fetch;
  clock: Clock;
  logger: Logger;
  commands: readonly CommandSpec[];
  /** Told each /search duration (the bot's metrics). */
  onSearched?: (seconds: number) => void;
}) {
  const { config, store, clock, logger } = deps;
  const fetchFeed = createConfiguredFetcher(config, deps.fetch);
  // A large feed is parsed in a worker thread: a 10 MB feed must not stall chat interactions.
  const parseFeed = createWorkerFeedParser({ maxItems: config.feedMaxItems });
  const pollFeed = createFeedPoller({
    parseFeed,
    maxItems: config.feedMaxItems,
    store,
    fetchFeed,
    clock,
    logger: logger.child({ component: 'feed-poller' }),
    backoffBaseMs: BACKOFF_BASE_MS,
    backoffMaxMs: config.feedMaxBackoffMs,
  });
  const backfillOptions = {
    store,
    fetch: fetchFeed,
    clock,
    logger: logger.child({ component: 'backfill' }),
    pageSize: config.backfillPageSize,
    pagePauseMs: config.backfillPauseMs,
  };
  const search = createSearchService({ index: store.search, logger: logger.child({ component: 'search' }), ...(deps.onSearched ? { onSearched: deps.onSearched } : {}) });
  const probeFeed: FeedProbe = async (url) => {
    const fetched = await fetchFeed({ url, untrusted: true });
    if (fetched.kind === 'failed') return err(new UserError('subscribe/feed-unreachable', `That feed could not be fetched: ${fetched.error.message}.`));
    if (fetched.kind === 'not-modified') return ok({ title: null });
    const parsed = await parseFeed(fetched); // the bytes, decoded and parsed in the worker: a huge feed must not stall chat
    if (!parsed.ok) return err(new UserError('subscribe/not-a-feed', `That URL is not a usable feed: ${parsed.error.message}.`));
    return ok({ title: parsed.value.feed.title });
  };
  const wakeHooks: Array<() => void> = [];
  const subscriptions = createSubscriptionService({
    subscriptions: store.subscriptions,
    feeds: store.feeds,
    posts: store.posts,
    deliveries: store.deliveries,
    clock,
    limits: config.limits,
    configuredFeeds: config.feedUrls,
    allowAnyFeed: config.allowAnyFeed,
    probeFeed,
    heldSummaryAfterMs: config.delivery.heldSummaryAfterMs,
    onQueued: () => wakeHooks.forEach((wake) => wake()),
  });
  const commandServices: CommandServices = {
    posts: store.posts,
    feeds: store.feeds,
    search,
    subscriptions,
    clock,
    logger: logger.child({ component: 'commands' }),
    feedUrls: config.feedUrls,
    commands: () => deps.commands,
    // One limiter for every platform this process serves: the runner checks it before anything else.
    rateLimiter: createCommandRateLimiter({ rates: config.commandRates, clock }),
  };
  return {
    fetchFeed,
    pollFeed,
    /** Ends the parser's worker thread (it never holds the process open; this is for a tidy stop). */
    closeParser: () => parseFeed.close(),
    backfillOptions,
    backfill: createArchiveBackfill(backfillOptions),
    search,
    subscriptions,
    commandServices,
    /** One delivery engine per connected platform. */
    deliveryEngine(platform: ChatPlatform, overrides: Partial<Pick<DeliveryEngineOptions, 'ratePerSecond' | 'onOutcome' | 'owner'>> = {}) {
      const engine = createDeliveryEngine({
        platform,
        deliveries: store.deliveries,
        clock,
        logger: logger.child({ component: 'delivery', platform: platform.name }),
        concurrency: config.delivery.concurrency,
        leaseMs: config.delivery.leaseMs,
        maxAttempts: config.delivery.maxAttempts,
        retryBaseMs: config.delivery.retryBaseMs,
        retryMaxMs: 60 * 60 * 1000,
        onChannelGone: async (destination) => void (await store.subscriptions.deleteForChannel(platform.name, destination.channelId)),
        // Several instances on one database share one rate (a platform's limit is per token).
        ...(store.sendBudget ? { sendBudget: store.sendBudget } : {}),
        // Rows another instance plans do not wake this engine: on PostgreSQL it looks every second (an idle
        // look reads only the heads index), so instances share a fan-out instead of one sending it all.
        ...(store.kind === 'postgres' ? { idleMs: 1000 } : {}),
        ...overrides,
      });
      wakeHooks.push(() => engine.wake());
      return engine;
    },
  };
}

export type Core = ReturnType<typeof buildCore>;

import { existsSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { ALL_COMMANDS } from '../commands/index.ts';
import { createPromptSafeLogStream } from '../adapters/console/console-log-stream.ts';
import { CONSOLE_DEFAULT_CHANNEL, CONSOLE_WORKSPACE, startConsoleAdapter } from '../adapters/console/console-adapter.ts';
import { buildCore, createConfiguredFetcher, type Core } from './app.ts';
// discord.js and bolt are loaded only when a command needs them: a CLI call should not pay for them.
const loadDiscord = () => import('../adapters/discord/discord-adapter.ts');
const loadDiscordCommands = () => import('../adapters/discord/discord-commands.ts');
const loadSlack = () => import('../adapters/slack/slack-adapter.ts');
const loadDiscordHttp = () => import('../adapters/discord/discord-http-adapter.ts');
import type { ChatPlatform } from './platform/chat-platform.ts';
import { connectPlatform, describeError, PlatformAuthError, type PlatformConnection } from './platform/platform-connection.ts';
import type { DeliveryEngine } from './delivery/delivery-engine.ts';
import { startDigestScheduler } from './delivery/digest-scheduler.ts';
import { parseCliArgs, USAGE, type CliArgs } from './cli/cli-args.ts';
import { feedToJson, formatFeeds, formatPollOutcome, formatPostLine, postToJson } from './cli/cli-output.ts';
import { systemClock, type Clock } from './clock.ts';
import { loadConfig, type Config } from './config.ts';
import { InkwireError } from './errors.ts';
import { redactUrl, redactUrlsIn } from './feeds/url-secrets.ts';
import type { createFeedFetcher } from './feeds/feed-fetcher.ts';
import { parseFeedXml } from './feeds/feed-parser.ts';
import type { PollOutcome } from './feeds/feed-poller.ts';
import { startPollScheduler } from './feeds/poll-scheduler.ts';
import { pollableFeedStore } from './feeds/feeds-to-poll.ts';
import { startHttpServer, type HttpRoute } from './http/http-server.ts';
import { createMetrics, type InkwireMetrics } from './http/metrics.ts';
import { createArchiveBackfill } from './backfill/archive-backfill.ts';
import { createProgressBar } from './cli/progress-bar.ts';
import { formatSearchResults, searchResultsToJson } from './cli/search-output.ts';
import { deliveryToJson, formatDeliveryLine } from './cli/cli-output.ts';
import { explainDelivery } from './delivery/delivery-explainer.ts';
import { createLogger, type Logger } from './logger.ts';
import { cronIntervalMs, nodeCronScheduler, type CronScheduler } from './scheduling/cron-scheduler.ts';
import { openSqliteStore } from './storage/sqlite/sqlite-store.ts';
import type { Store } from './storage/store.ts';

/** Everything from outside the process; `bin/inkwire.js` passes the real ones, tests pass their own. */
export interface MainIo {
  env: Readonly<Record<string, string | undefined>>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  fetch: typeof globalThis.fetch;
  clock?: Clock;
  cron?: CronScheduler;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  shutdownSignal: Promise<string>;
}

function abortOn(signal: Promise<string>): AbortSignal {
  const controller = new AbortController();
  void signal.then(() => controller.abort());
  return controller.signal;
}

/** Loads `.env` from the working directory (real environment variables win). */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** The composition root: parses the command line, reads config, wires the core and runs a subcommand. */
export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  // Errors quote settings and causes (a config value, a database URL, a platform endpoint): never a secret in one.
  const errOut = (line: string) => io.stderr.write(`${redactUrlsIn(line)}\n`);
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    errOut(`inkwire: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help') {
    out(USAGE);
    return 0;
  }
  if (args.command === 'migrate-data') {
    try {
      const { copySqliteToPostgres } = await import('./storage/migrate-data.ts');
      const report = await copySqliteToPostgres(args.from!, args.to!, { onTable: (table, rows) => out(`  ${table}: ${rows} row(s)`) });
      out(`Copied ${report.rows} row(s) in ${report.tables} table(s) from ${args.from} to PostgreSQL; every table's row count and ids match.`);
      return 0;
    } catch (error) {
      errOut(`inkwire: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  let config: Config;
  try {
    config = loadConfig(args.db ? { ...io.env, DATABASE_URL: args.db } : io.env);
  } catch (error) {
    errOut(`inkwire: ${error instanceof Error ? error.message : String(error)}\nSee .env.example for every setting and its default.`);
    return 1;
  }

  const stderrIsTty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  const consoleMode = args.command === 'start';
  const logStream =
    consoleMode && stderrIsTty ? createPromptSafeLogStream(io.stderr as NodeJS.WriteStream) : undefined;
  const logger = createLogger({
    level: config.logLevel,
    pretty: config.logFormat === 'pretty' || (config.logFormat === 'auto' && stderrIsTty),
    destination: logStream ?? io.stderr,
  });
  const clock = io.clock ?? systemClock;
  // Settings that work but are probably not what was meant; `doctor` lists them in its report instead.
  if (args.command !== 'doctor') for (const warning of config.warnings) logger.child({ component: 'config' }).warn({ code: 'config/warning' }, warning);

  let store: Store;
  try {
    store = await openStore(config, logger, clock);
  } catch (error) {
    // Expected (a bad path, a locked or foreign file): one line that names it, never a stack trace.
    const message = error instanceof InkwireError ? error.message : `cannot open the database: ${error instanceof Error ? error.message : String(error)}`;
    if (!(error instanceof InkwireError)) logger.error({ err: error }, 'cannot open the database');
    if (args.command === 'doctor') return runDoctorWithoutStore(config, io.fetch, message, out);
    errOut(`inkwire: ${message}\n  fix: ${databaseFix(config)}`);
    return 1;
  }

  // Metrics belong to the running bot; CLI commands do without.
  const metrics = args.command === 'start' ? createMetrics({ readOutbox: () => store.deliveries.stats(), instance: config.instanceId }) : null;
  const core = buildCore({ config, store, fetch: io.fetch, clock, logger, commands: ALL_COMMANDS, ...(metrics ? { onSearched: metrics.searchFinished } : {}) });
  const { fetchFeed, pollFeed, backfillOptions } = core;

  try {
    switch (args.command) {
      case 'poll': {
        const urls = args.feeds.length > 0 ? args.feeds : config.feedUrls;
        const outcomes: PollOutcome[] = [];
        for (const url of urls) {
          outcomes.push(await pollFeed(url, { announceExisting: args.announceExisting }));
        }
        for (const outcome of outcomes) {
          out(formatPollOutcome(outcome));
          if (outcome.status === 'ok') for (const post of outcome.announced) out(`  new: ${post.title} — ${post.url}`);
        }
        return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
      }
      case 'feeds': {
        for (const url of config.feedUrls) await store.feeds.ensure(url, clock.now());
        const feeds = await store.feeds.list();
        out(args.json ? JSON.stringify(feeds.map(feedToJson), null, 2) : formatFeeds(feeds));
        return 0;
      }
      case 'posts': {
        const posts = await store.posts.latest({ limit: args.limit });
        if (args.json) out(JSON.stringify(posts.map(postToJson), null, 2));
        else out(posts.length === 0 ? 'No posts stored yet. Run `inkwire poll --once`.' : posts.map(formatPostLine).join('\n'));
        return 0;
      }
      case 'search': {
        const result = await core.search.search(args.query, { limit: args.limit, offset: args.offset });
        if (!result.ok) {
          errOut(`inkwire: ${result.error.message}`);
          return 1;
        }
        out(args.json ? JSON.stringify(searchResultsToJson(result.value), null, 2) : formatSearchResults(result.value));
        return 0;
      }
      case 'backfill': {
        const urls = args.feeds.length > 0 ? args.feeds : config.feedUrls;
        let failed = false;
        for (const url of urls) {
          // A URL only servers added with credentials is theirs (ADR 005): backfill that server's row, never a
          // new shared copy of it (which every server would see).
          const owned = (await store.feeds.list()).filter((f) => f.url === url && f.ownerKey !== '');
          const ownerKey = owned.length > 0 && !(await store.feeds.get(url)) ? owned[0]!.ownerKey : '';
          let feed = ownerKey === '' ? await store.feeds.ensure(url, clock.now()) : owned[0]!;
          if (!feed.bootstrapped) {
            // Learn whether it is a Substack feed; a first poll announces nothing. A feed that cannot be
            // read is a failure to report, not "not Substack".
            const first = await pollFeed(url, { ownerKey });
            if (first.status === 'failed') {
              errOut(`inkwire: ${redactUrl(url)}: cannot read the feed, so cannot tell whether it is a Substack publication: [${first.error.code}] ${first.error.message}`);
              failed = true;
              continue;
            }
            feed = (await store.feeds.get(url, ownerKey))!;
          }
          if (!feed.isSubstack) {
            out(`${redactUrl(url)}: not a Substack publication; its feed is all there is to store.`);
            continue;
          }
          const bar = (io.stderr as NodeJS.WriteStream).isTTY ? createProgressBar(io.stderr as NodeJS.WriteStream) : null;
          const report = await createArchiveBackfill({
            ...backfillOptions,
            onProgress: (p) => (bar ? bar.update(p) : logger.child({ component: 'backfill' }).info({ feedUrl: url, ...p }, 'backfill progress')),
          })(url, { signal: abortOn(io.shutdownSignal), ownerKey });
          bar?.done();
          out(redactUrlsIn(`${redactUrl(url)}: ${report.listed} listed, ${report.stored} fetched, ${report.skipped} already stored${report.failed ? `, ${report.failed} failed` : ''} — ${report.completed ? 'complete' : `stopped: ${report.error}`}`));
          if (!report.completed) failed = true;
        }
        return failed ? 1 : 0;
      }
      case 'reindex': {
        const stats = await store.search.reindex();
        out(`Rebuilt the search indexes over ${stats.posts} post(s) in ${(stats.ms / 1000).toFixed(1)} s.`);
        return 0;
      }
      case 'deliveries': {
        const records = await store.deliveries.list({ limit: args.limit, ...(args.status ? { status: args.status } : {}) });
        if (args.json) out(JSON.stringify(records.map(deliveryToJson), null, 2));
        else out(records.length === 0 ? 'No deliveries.' : records.map(formatDeliveryLine).join('\n'));
        return 0;
      }
      case 'why': {
        for (const line of await explainDelivery(store, args.positional[0]!, args.positional[1]!)) out(redactUrlsIn(line));
        return 0;
      }
      case 'register-commands': {
        if (!config.discord) {
          errOut('inkwire: set DISCORD_TOKEN and DISCORD_APP_ID to register commands with Discord.');
          return 1;
        }
        const guildId = args.guild ?? config.discord.guildId;
        const { registerCommandsOverRest } = await loadDiscordCommands();
        let count: number;
        try {
          count = await registerCommandsOverRest({ ...config.discord, guildId, specs: ALL_COMMANDS });
        } catch (error) {
          // One line, never a stack: a refused token, or Discord unreachable (retry later; nothing was changed).
          const { isTokenRejected } = await import('../adapters/discord/discord-token.ts');
          logger.debug({ err: error }, 'registering commands failed');
          errOut(isTokenRejected(error)
            ? 'inkwire: Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again from the Developer Portal (Bot → Reset Token)'
            : `inkwire: cannot register commands with Discord at ${config.discord.apiUrl}: ${describeError(error)}`);
          return 1;
        }
        out(`Registered ${count} commands ${guildId ? `in server ${guildId}` : 'globally (they can take up to an hour to appear)'}.`);
        return 0;
      }
      case 'doctor':
        return await runDoctor(config, store, fetchFeed, out);
      case 'migrate':
        // Opening the store applied every migration (under an advisory lock on PostgreSQL).
        out(`The ${store.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} database is at the newest schema; ${await store.posts.count()} post(s) stored.`);
        return 0;
      case 'start':
        return await runStart({ config, io, store, logger, clock, core, logStream, metrics: metrics! });
    }
  } finally {
    await core.closeParser();
    await store.close();
  }
}

async function openStore(config: Config, logger: Logger, clock: Clock): Promise<Store> {
  if (config.database.kind === 'postgres') {
    const { openPostgresStore } = await import('./storage/postgres/pg-store.ts');
    const store = await openPostgresStore(config.database.url, { clock, statementTimeoutMs: config.databaseStatementTimeoutMs });
    logger.child({ component: 'store' }).debug({ database: redactUrl(config.database.url) }, 'PostgreSQL database open');
    return store;
  }
  const store = openSqliteStore(config.database.path, { clock });
  logger.child({ component: 'store' }).debug({ path: config.database.path }, 'SQLite database open');
  return store;
}

async function runDoctor(
  config: Config,
  store: Store,
  fetchFeed: ReturnType<typeof createFeedFetcher>,
  out: (line: string) => void,
): Promise<number> {
  let problems = 0;
  // Findings quote URLs and their errors: redacted (the Discord invite below is printed whole, it is public).
  const good = (line: string) => out(`✓ ${redactUrlsIn(line)}`);
  const bad = (line: string, fix: string) => {
    problems++;
    out(`✗ ${redactUrlsIn(line)}\n    fix: ${fix}`);
  };
  good(`configuration is valid (${config.feedUrls.length} feed(s), poll "${config.pollCron}")`);
  for (const warning of config.warnings) out(`! ${redactUrlsIn(warning)}`);
  good(`database ${config.database.kind === 'sqlite' ? config.database.path : `PostgreSQL ${redactUrl(config.database.url)}`} opens; ${await store.posts.count()} post(s) stored`);
  for (const url of config.feedUrls) {
    const fetched = await fetchFeed({ url });
    if (fetched.kind === 'failed') {
      bad(`feed ${redactUrl(url)}: [${fetched.error.code}] ${fetched.error.message}`, fixFor(fetched.error.code));
      continue;
    }
    if (fetched.kind === 'not-modified') {
      good(`feed ${redactUrl(url)} is reachable (304)`);
      continue;
    }
    const parsed = await parseFeedXml(fetched.body);
    if (parsed.ok) good(`feed ${redactUrl(url)} is reachable: ${parsed.value.items.length} item(s), "${parsed.value.title ?? 'untitled'}"`);
    else bad(`feed ${redactUrl(url)}: [${parsed.error.code}] ${parsed.error.message}`, fixFor(parsed.error.code));
  }
  // Each configured platform is reported; with none, the console runs.
  if (config.discord) {
    out(`• chat platform: Discord (application ${config.discord.appId}, ${config.discord.publicKey ? `HTTP interactions at /discord/interactions on port ${config.httpPort}: set it as the Interactions Endpoint URL, behind HTTPS` : 'gateway'})`);
    out(`  invite: ${(await loadDiscordCommands()).inviteUrl(config.discord.appId, { roleMentions: true })}`);
    out('  (permissions: View Channel, Send Messages, Embed Links, Create Public Threads for thread:true, and Mention Everyone only so subscriptions can ping their role)');
  }
  if (config.slack) {
    out(`• chat platform: Slack (${config.slack.oauth ? 'OAuth install at /slack/install' : 'one workspace'}, ${config.slack.appToken ? 'Socket Mode' : `HTTP on port ${config.slack.port ?? config.httpPort}, /slack/events`})`);
    out('  create the app from slack-app-manifest.yml');
  }
  if (!config.discord && !config.slack) {
    out('• chat platform: console (set DISCORD_TOKEN and DISCORD_APP_ID, or the SLACK_ settings, to connect a chat platform)');
  }
  out(problems === 0 ? 'All checks passed.' : `${problems} problem(s) found.`);
  return problems === 0 ? 0 : 1;
}

const DATABASE_FIX = 'set DATABASE_URL (or --db) to a file path in a writable folder, e.g. ./data/inkwire.db';
const POSTGRES_FIX = 'check DATABASE_URL: the PostgreSQL server must be reachable from here, and its user allowed to create tables in the database (or schema)';
const databaseFix = (config: Config) => (config.database.kind === 'postgres' ? POSTGRES_FIX : DATABASE_FIX);

/** `inkwire doctor` when the database cannot be opened: that is its first ✗, the feeds are still checked. */
async function runDoctorWithoutStore(config: Config, fetch: typeof globalThis.fetch, reason: string, out: (line: string) => void): Promise<number> {
  out(`✗ database: ${redactUrlsIn(reason)}\n    fix: ${databaseFix(config)}`);
  const fetchFeed = createConfiguredFetcher(config, fetch);
  let problems = 1;
  for (const url of config.feedUrls) {
    const fetched = await fetchFeed({ url });
    if (fetched.kind === 'failed') {
      problems++;
      out(`✗ feed ${redactUrl(url)}: [${fetched.error.code}] ${redactUrlsIn(fetched.error.message)}\n    fix: ${fixFor(fetched.error.code)}`);
    } else {
      out(`✓ feed ${redactUrl(url)} is reachable`);
    }
  }
  out(`${problems} problem(s) found.`);
  return 1;
}

function fixFor(code: string): string {
  switch (code) {
    case 'feed/fetch-failed':
    case 'feed/timeout':
      return 'check the URL and that this machine can reach it (DNS, proxy, firewall); Inkwire keeps retrying with backoff';
    case 'feed/not-a-feed':
      return 'open the URL in a browser: it must be the RSS/Atom address (for Substack: https://NAME.substack.com/feed)';
    case 'feed/rate-limited':
      return 'the site is throttling this machine; Inkwire waits as long as Retry-After asks';
    case 'feed/too-large':
      return 'raise FEED_MAX_BYTES if this feed is really that large';
    default:
      return 'check FEED_URLS; `inkwire feeds` shows the error history';
  }
}

async function runStart(ctx: {
  config: Config;
  io: MainIo;
  store: Store;
  logger: Logger;
  clock: Clock;
  core: Core;
  logStream: ReturnType<typeof createPromptSafeLogStream> | undefined;
  metrics: InkwireMetrics;
}): Promise<number> {
  const { config, io, store, logger, clock, core, metrics } = ctx;
  const log = logger.child({ component: 'main' });
  try {
    store.lockWriter(clock.now());
  } catch (error) {
    if (!(error instanceof InkwireError) || error.code !== 'store/locked') throw error;
    log.fatal({ code: error.code }, 'the database is in use by another inkwire process');
    io.stderr.write(`inkwire: ${error.message}\n`);
    return 1;
  }
  for (const url of config.feedUrls) await store.feeds.ensure(url, clock.now());

  let quit: (reason: string) => void = () => {};
  const quitRequested = new Promise<string>((resolve) => {
    quit = resolve;
  });
  // Discord and Slack may run together (one store, one poller, one outbox, one engine each); the console
  // runs when neither is configured. A platform is not awaited here: one that is down at start (an outage,
  // a DNS blip) is retried in the background while the HTTP port, polling and storing run, so a restart
  // during an outage is not a crash loop. Its engine starts once it is connected (no attempts spent).
  const connections: Array<PlatformConnection<StartedPlatform>> = [];
  const routes: HttpRoute[] = [];
  const connect = (label: string, component: string, start: () => Promise<StartedPlatform>) => {
    const connection = connectPlatform({ label, connect: start, logger: logger.child({ component }), retry: config.platformRetry });
    connections.push(connection);
    return connection;
  };
  if (config.slack) {
    const slack = config.slack;
    const { startSlackAdapter } = await loadSlack();
    const connection = connect('Slack', 'slack', () => startSlackAdapter({
      signingSecret: slack.signingSecret,
      ...(slack.botToken ? { botToken: slack.botToken } : {}),
      ...(slack.appToken ? { appToken: slack.appToken } : {}),
      ...(slack.oauth ? { oauth: { ...slack.oauth, installations: store.installations, now: () => clock.now() } } : {}),
      ...(slack.port !== null ? { port: slack.port } : {}),
      host: '0.0.0.0',
      apiUrl: slack.apiUrl,
      commandPrefix: slack.commandPrefix,
      managePolicy: slack.managePolicy,
      ...(slack.historyTier ? { historyTier: slack.historyTier } : {}),
      timeScale: slack.timeScale,
      // Several instances on one database share each workspace's history tier (one bucket per workspace).
      ...(store.sendBudget ? { reserveShared: (bucket: string, rate: number) => store.sendBudget!.reserve(bucket, rate) } : {}),
      // A retried event or a replayed command runs once, across every instance on the database.
      receipts: store.interactionReceipts,
      commands: ALL_COMMANDS,
      services: core.commandServices,
      logger: logger.child({ component: 'slack' }),
      onWorkspaceRemoved: async (teamId) => void (await store.subscriptions.deleteForWorkspace('slack', teamId)),
    }));
    // HTTP mode on the shared port: mounted now, answering 503 until Slack is connected.
    if (!slack.appToken && slack.port === null) routes.push(routeOnceConnected('/slack/', connection, (adapter) => (adapter as { handle?: RequestListener | null }).handle ?? null));
  }
  if (config.discord?.publicKey) {
    const discordConfig = config.discord;
    const publicKey = config.discord.publicKey;
    const { startDiscordHttpAdapter, DISCORD_INTERACTIONS_PATH } = await loadDiscordHttp();
    const connection = connect('Discord', 'discord', () => startDiscordHttpAdapter({
      token: discordConfig.token,
      appId: discordConfig.appId,
      publicKey,
      apiUrl: discordConfig.apiUrl,
      commands: ALL_COMMANDS,
      services: core.commandServices,
      logger: logger.child({ component: 'discord' }),
      now: () => clock.now().getTime(),
      // A replayed interaction runs once, across every instance on the database.
      receipts: store.interactionReceipts,
    }));
    routes.push(routeOnceConnected(DISCORD_INTERACTIONS_PATH, connection, (adapter) => (adapter as { handle?: RequestListener }).handle ?? null));
  } else if (config.discord) {
    const discordConfig = config.discord;
    const { startDiscordAdapter } = await loadDiscord();
    connect('Discord', 'discord', () => startDiscordAdapter({
      token: discordConfig.token,
      appId: discordConfig.appId,
      apiUrl: discordConfig.apiUrl,
      shards: discordConfig.shards,
      commands: ALL_COMMANDS,
      services: core.commandServices,
      logger: logger.child({ component: 'discord' }),
      onWorkspaceRemoved: async (guildId) => void (await store.subscriptions.deleteForWorkspace('discord', guildId)),
      onChannelRemoved: async (channelId) => void (await store.subscriptions.deleteForChannel('discord', channelId)),
    }));
  }
  // Platforms that are up (the console at once; Discord and Slack once connected).
  const platforms: StartedPlatform[] = [];
  if (connections.length === 0) {
    const consolePlatform = startConsoleAdapter({
      input: io.stdin,
      output: io.stdout,
      commands: ALL_COMMANDS,
      services: core.commandServices,
      logger: logger.child({ component: 'console' }),
      onQuit: () => quit('quit'),
      onPrompt: (rl) => ctx.logStream?.attach(rl),
    });
    platforms.push(consolePlatform);
    // The console's #general follows FEED_URLS: subscribed to every configured feed (so new posts show up at
    // once), and no longer to a feed taken out of it (only the subscriptions Inkwire made itself).
    const general = await store.subscriptions.listForChannel('console', CONSOLE_DEFAULT_CHANNEL);
    const stale = general.filter((s) => s.createdBy === 'inkwire' && s.feedUrl !== null && !config.feedUrls.includes(s.feedUrl));
    if (stale.length > 0) await store.subscriptions.delete(stale.map((s) => s.id));
    for (const url of config.feedUrls) {
      const feed = await store.feeds.ensure(url, clock.now());
      if (general.some((s) => s.feedId === feed.id)) continue;
      await store.subscriptions.create({
        kind: 'channel',
        platform: 'console',
        workspaceId: CONSOLE_WORKSPACE,
        channelId: CONSOLE_DEFAULT_CHANNEL,
        feedId: feed.id,
        keywords: [],
        mode: 'instant',
        mentionId: null,
        createdBy: 'inkwire',
        createdAt: new Date(0),
      });
    }
  }
  // The operations port: alive, ready (database, platforms, fresh polls), and metrics.
  const pollIntervalMs = cronIntervalMs(config.pollCron);
  const http = config.httpPort === null ? null : await startHttpServer({
    port: config.httpPort,
    host: config.httpHost,
    ...(config.opsToken ? { opsToken: config.opsToken } : {}),
    metrics,
    routes,
    logger: logger.child({ component: 'http' }),
    checks: [
      // The database answers a query (on PostgreSQL: the pool can reach the server and the schema is there).
      async () => {
        const name = `database (${store.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'})`;
        try {
          await store.posts.count();
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
        }
      },
      // A platform still connecting (or whose gateway dropped) is named, with the last reason.
      ...connections.map((connection) => async () => {
        const ok = connection.isConnected();
        return { name: `${connection.label.toLowerCase()} connected`, ok, ...(ok ? {} : { detail: `${connection.label} ${connection.describe()}` }) };
      }),
      async () => {
        const limit = clock.now().getTime() - 3 * pollIntervalMs;
        const stale = (await store.feeds.list()).filter((f) => config.feedUrls.includes(f.url) && (f.lastPolledAt?.getTime() ?? 0) < limit);
        return { name: 'feeds polled within 3 intervals', ok: stale.length === 0, ...(stale.length > 0 ? { detail: stale.map((f) => redactUrl(f.url)).join(', ') } : {}) };
      },
      // A feed whose items cannot all be stored loses posts silently otherwise (one refused item, or the whole ingest).
      async () => {
        const feeds = (await store.feeds.list()).filter((f) => config.feedUrls.includes(f.url));
        const losing = feeds.filter((f) => f.ingestSkipped > 0 || (f.consecutiveFailures > 0 && f.lastErrorCode === 'feed/ingest-failed'));
        return { name: 'feeds store every item', ok: losing.length === 0, ...(losing.length > 0 ? { detail: losing.map((f) => `${redactUrl(f.url)} (${f.ingestSkipped > 0 ? `${f.ingestSkipped} item(s) not stored` : 'ingest failing'})`).join(', ') } : {}) };
      },
    ],
  }).catch((error: unknown) => {
    log.error({ err: error, port: config.httpPort }, `cannot listen on HTTP_PORT ${config.httpPort}; /healthz, /readyz and /metrics are off`);
    return null;
  });
  if (!http && config.httpPort !== null && routes.length > 0) {
    // Slack or Discord would post to a port nobody listens on: no point running half a bot.
    io.stderr.write(`inkwire: cannot listen on HTTP_PORT ${config.httpPort}, where ${routes.map((r) => r.path).join(' and ')} must be served; is another process using it?\n`);
    await Promise.all([...connections.map((connection) => connection.stop()), ...platforms.map((platform) => platform.stop())]);
    return 1;
  }

  // One engine per platform, each with its own pacing: a Slack 429 storm never slows Discord. On Discord the
  // engine paces sends just under the 50/s global limit: zero 429s (see bench:discord).
  const engines: DeliveryEngine[] = [];
  let stopping = false;
  const startEngine = (platform: StartedPlatform) => {
    const engine = core.deliveryEngine(platform, {
      ...(platform.name === 'discord' ? { ratePerSecond: 49 } : {}),
      ...(platform.name === 'slack' && config.slack?.sendsPerSecond ? { ratePerSecond: config.slack.sendsPerSecond } : {}),
      owner: `${config.instanceId}:${platform.name}`,
      onOutcome: (outcome) => metrics.deliveryFinished(platform.name, outcome),
    });
    engines.push(engine);
    engine.start();
  };
  for (const platform of platforms) startEngine(platform);
  // A refused token ends the start (exit 1): a misconfiguration, which retrying would only hide.
  let misconfigured: (error: PlatformAuthError) => void = () => {};
  const misconfiguration = new Promise<PlatformAuthError>((resolve) => (misconfigured = resolve));
  for (const connection of connections) {
    connection.ready.then(
      (adapter) => {
        if (stopping) return;
        platforms.push(adapter);
        startEngine(adapter);
      },
      (error: unknown) => {
        if (error instanceof PlatformAuthError) misconfigured(error);
      },
    );
  }
  const wakeAll = () => engines.forEach((engine) => engine.wake());
  const digests = startDigestScheduler({
    cron: io.cron ?? nodeCronScheduler,
    deliveries: store.deliveries,
    clock,
    logger: logger.child({ component: 'digests' }),
    timeZone: config.digestTimeZone,
    onBundled: wakeAll,
  });

  // The first time a Substack feed is seen, fetch its whole archive in the background (announcing nothing).
  const backfillController = new AbortController();
  const backfills = new Map<string, Promise<unknown>>();
  // A feed is its URL and its owner (ADR 005): one server's credentialed copy is backfilled into its own row.
  const maybeBackfill = async (url: string, ownerKey: string) => {
    if (backfills.has(`${ownerKey} ${url}`)) return;
    const feed = await store.feeds.get(url, ownerKey);
    if (!feed?.isSubstack || feed.backfillCompletedAt) return;
    backfills.set(
      `${ownerKey} ${url}`,
      core.backfill(url, { signal: backfillController.signal, ownerKey }).catch((error: unknown) => log.error({ err: error, feedUrl: url }, 'backfill crashed')),
    );
  };

  const scheduler = startPollScheduler({
    cron: io.cron ?? nodeCronScheduler,
    expression: config.pollCron,
    feeds: pollableFeedStore(store.feeds, config.feedUrls),
    clock,
    logger: logger.child({ component: 'poll-scheduler' }),
    poll: async (url, signal, ownerKey) => {
      const started = performance.now();
      const outcome = await core.pollFeed(url, { signal, ownerKey });
      const feed = { id: outcome.feedId, url };
      metrics.pollFinished(feed, outcome.status, (performance.now() - started) / 1000, outcome.status === 'ok' ? outcome.created.length : 0);
      if (outcome.status === 'ok') metrics.itemsNotStored(feed, outcome.failedItems.length);
      return outcome;
    },
    onOutcome: async (outcome, ownerKey) => {
      if (outcome.status !== 'ok') return;
      // New posts already have their outbox rows (written with the posts); tell the engine to look.
      if (outcome.announced.length > 0) wakeAll();
      if (outcome.updated.length > 0) for (const engine of engines) await engine.postsUpdated(outcome.updated);
      await maybeBackfill(outcome.feedUrl, ownerKey);
    },
    jitterMs: config.pollJitterMs,
    concurrency: config.pollConcurrency,
    owner: config.instanceId,
    // A poll takes at most the fetch timeout plus parsing and storing; a dead instance's lease ends soon after.
    pollLeaseMs: 2 * config.feedTimeoutMs + 10_000,
    // Instances sharing a database do not fetch what another just fetched (one starting up, or ticking a
    // little after another); a lone SQLite bot polls at once when it starts.
    minPollGapMs: store.kind === 'postgres' ? cronIntervalMs(config.pollCron) / 2 : 0,
  });
  log.info({ feeds: config.feedUrls, cron: config.pollCron, platforms: connections.length > 0 ? connections.map((c) => c.label.toLowerCase()) : platforms.map((p) => p.name) }, 'Inkwire started');
  void scheduler.runDue();

  const reason = await Promise.race([io.shutdownSignal, quitRequested, misconfiguration]);
  stopping = true;
  if (reason instanceof PlatformAuthError) {
    log.debug({ err: reason }, 'platform refused the credentials');
    io.stderr.write(`inkwire: ${reason.message}\n`);
  } else {
    log.info({ reason }, 'shutting down');
  }
  backfillController.abort();
  await scheduler.stop();
  await digests.stop();
  await Promise.allSettled([...backfills.values()]);
  await Promise.all(engines.map((engine) => engine.stop({ timeoutMs: config.shutdownTimeoutMs })));
  await Promise.all([...connections.map((connection) => connection.stop()), ...platforms.filter((p) => p.name === 'console').map((platform) => platform.stop())]);
  await http?.stop();
  if (reason instanceof PlatformAuthError) return 1;
  log.info('stopped cleanly');
  return 0;
}

type StartedPlatform = ChatPlatform & { stop(): Promise<void> };

/** A platform's HTTP endpoint, mounted before the platform is up: 503 until connected, then its handler. */
function routeOnceConnected(path: string, connection: PlatformConnection<StartedPlatform>, handlerOf: (adapter: StartedPlatform) => RequestListener | null): HttpRoute {
  let handler: RequestListener | null = null;
  connection.ready.then((adapter) => void (handler = handlerOf(adapter)), () => {});
  return {
    path,
    handle: (req, res) => {
      if (handler) return void handler(req, res);
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`${connection.label} is not connected yet\n`);
    },
  };
}

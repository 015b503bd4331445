import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { validate as isValidCron } from 'node-cron';
import { InkwireError } from './errors.ts';
import { parseRate, type CommandRates, type Rate } from './commands/command-rate-limit.ts';

/** Defaults, in one place: the schema, `.env.example` and README all follow this table. */
export const CONFIG_DEFAULTS = {
  FEED_URLS: 'https://dailyink.substack.com/feed',
  POLL_CRON: '*/15 * * * *',
  POLL_JITTER_SECONDS: '20',
  POLL_CONCURRENCY: '4',
  DATABASE_URL: './data/inkwire.db',
  DATABASE_STATEMENT_TIMEOUT_MS: '30000',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'auto',
  FEED_TIMEOUT_MS: '20000',
  FEED_MAX_BYTES: '10485760',
  FEED_MAX_REDIRECTS: '5',
  FEED_MAX_ITEMS: '200',
  FEED_MAX_BACKOFF_SECONDS: '21600',
  FEED_USER_AGENT: 'Inkwire/0.1 (RSS-to-chat bot for research newsletters)',
  BACKFILL_PAGE_SIZE: '12',
  BACKFILL_PAUSE_MS: '1000',
  ALLOW_ANY_FEED: 'false',
  ALLOW_PRIVATE_FEEDS: 'false',
  MAX_SUBSCRIPTIONS_PER_CHANNEL: '10',
  MAX_SUBSCRIPTIONS_PER_SERVER: '100',
  MAX_ALERTS_PER_USER: '5',
  MAX_FEEDS_PER_SERVER: '10',
  COMMAND_RATE_MEMBER: '20/10s',
  COMMAND_RATE_SEARCH: '5/10s',
  COMMAND_RATE_SERVER: '60/10s',
  COMMAND_RATE_AUTOCOMPLETE: '50/10s',
  DELIVERY_CONCURRENCY: '8',
  DELIVERY_LEASE_SECONDS: '60',
  DELIVERY_MAX_ATTEMPTS: '12',
  DELIVERY_RETRY_BASE_SECONDS: '5',
  DELIVERY_HELD_SUMMARY_HOURS: '24',
  DIGEST_TZ: 'UTC',
  SHUTDOWN_TIMEOUT_SECONDS: '10',
  HTTP_PORT: '8080',
  HTTP_HOST: '',
  OPS_TOKEN: '',
  INSTANCE_ID: '',
  DISCORD_TOKEN: '',
  DISCORD_APP_ID: '',
  DISCORD_GUILD_ID: '',
  DISCORD_API_URL: 'https://discord.com/api',
  DISCORD_PUBLIC_KEY: '',
  DISCORD_SHARD_IDS: '',
  DISCORD_SHARD_COUNT: '',
  PLATFORM_RETRY_BASE_MS: '1000',
  PLATFORM_RETRY_MAX_SECONDS: '60',
  SLACK_BOT_TOKEN: '',
  SLACK_SIGNING_SECRET: '',
  SLACK_APP_TOKEN: '',
  SLACK_CLIENT_ID: '',
  SLACK_CLIENT_SECRET: '',
  SLACK_STATE_SECRET: '',
  SLACK_PORT: '',
  SLACK_API_URL: 'https://slack.com/api/',
  SLACK_COMMAND_PREFIX: '',
  SLACK_MANAGE_POLICY: 'admins-and-creator',
  SLACK_SENDS_PER_SECOND: '',
  SLACK_HISTORY_TIER: '',
  SLACK_TIME_SCALE: '1',
} as const satisfies Record<string, string>;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One setting's check: its value, or why it is wrong (a sentence that follows the setting's name). */
type Rule<T> = (raw: string) => { ok: true; value: T } | { ok: false; message: string };
const valid = <T>(value: T) => ({ ok: true as const, value });
const invalid = (message: string) => ({ ok: false as const, message });
type RuleValue<R> = R extends Rule<infer T> ? T : never;

const intInRange = (min: number, max: number): Rule<number> => (raw) => {
  const value = raw.trim();
  if (!/^\d+$/.test(value)) return invalid(`must be a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min) return invalid(`must be at least ${min}`);
  if (n > max) return invalid(`must be at most ${max}`);
  return valid(n);
};
const text: Rule<string> = (raw) => valid(raw.trim());
const matching = (pattern: RegExp, message: string): Rule<string> => (raw) => (pattern.test(raw.trim()) ? valid(raw.trim()) : invalid(message));
const passing = (check: (value: string) => boolean, message: string): Rule<string> => (raw) => (check(raw.trim()) ? valid(raw.trim()) : invalid(message));
const oneOf = <T extends string>(values: readonly T[], message: string): Rule<T> => (raw) =>
  (values as readonly string[]).includes(raw.trim()) ? valid(raw.trim() as T) : invalid(message);
const flag = (raw: string) => oneOf(['true', 'false'], 'must be true or false')(raw);
const bool: Rule<boolean> = (raw) => {
  const parsed = flag(raw);
  return parsed.ok ? valid(parsed.value === 'true') : parsed;
};
/** Empty (unset), or what `rule` accepts. */
const emptyOr = <T>(rule: Rule<T>): Rule<T | ''> => (raw) => (raw.trim() === '' ? valid('' as const) : rule(raw));
/** Empty, `auto`, or what `rule` accepts. */
const emptyAutoOr = <T>(rule: Rule<T>): Rule<T | '' | 'auto'> => (raw) => (raw.trim() === 'auto' ? valid('auto' as const) : emptyOr(rule)(raw));
const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};
/** `5/10s`, `30/1m`, `100/1h`, or `off`. */
const rate: Rule<Rate | null> = (raw) => {
  const parsed = parseRate(raw);
  return parsed.ok ? valid(parsed.value) : invalid(parsed.error);
};
const snowflake = (what: string) => matching(/^\d{17,20}$/, `must be ${what} (a 17-20 digit snowflake)`);

/** Every setting's rule (empty values were replaced by their defaults before these run). */
const RULES = {
  FEED_URLS: ((raw) => {
    const urls = raw.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
    if (urls.length === 0) return invalid('list at least one feed URL');
    if (!urls.every(isHttpUrl)) return invalid('each feed URL must be an absolute http:// or https:// URL');
    return valid(urls);
  }) as Rule<string[]>,
  POLL_CRON: passing((value) => isValidCron(value), 'is not a valid cron expression (e.g. "*/15 * * * *")'),
  POLL_JITTER_SECONDS: intInRange(0, 3600),
  POLL_CONCURRENCY: intInRange(1, 64),
  DATABASE_URL: passing((value) => value.length > 0, 'must be a file path for SQLite or a postgres:// URL'),
  DATABASE_STATEMENT_TIMEOUT_MS: intInRange(0, 600_000),
  LOG_LEVEL: oneOf(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`),
  LOG_FORMAT: oneOf(['auto', 'pretty', 'json'] as const, 'must be auto, pretty or json'),
  FEED_TIMEOUT_MS: intInRange(1000, 300_000),
  FEED_MAX_BYTES: intInRange(1024, 100 * 1024 * 1024),
  FEED_MAX_REDIRECTS: intInRange(0, 10),
  FEED_MAX_ITEMS: intInRange(1, 10_000),
  FEED_MAX_BACKOFF_SECONDS: intInRange(60, 7 * 24 * 3600),
  FEED_USER_AGENT: ((raw) => {
    const value = raw.trim();
    if (value.length === 0) return invalid('must not be empty');
    return value.length > 200 ? invalid('must be at most 200 characters') : valid(value);
  }) as Rule<string>,
  BACKFILL_PAGE_SIZE: intInRange(1, 50),
  BACKFILL_PAUSE_MS: intInRange(0, 60_000),
  ALLOW_ANY_FEED: bool,
  ALLOW_PRIVATE_FEEDS: bool,
  MAX_SUBSCRIPTIONS_PER_CHANNEL: intInRange(1, 100),
  MAX_SUBSCRIPTIONS_PER_SERVER: intInRange(1, 10_000),
  MAX_ALERTS_PER_USER: intInRange(0, 50),
  MAX_FEEDS_PER_SERVER: intInRange(0, 1000),
  COMMAND_RATE_MEMBER: rate,
  COMMAND_RATE_SEARCH: rate,
  COMMAND_RATE_SERVER: rate,
  COMMAND_RATE_AUTOCOMPLETE: rate,
  DELIVERY_CONCURRENCY: intInRange(1, 256),
  // Renewed while a send is in flight, so it only matters after a crash: then the retry must come inside
  // Discord's nonce de-duplication window ("a few minutes"), hence at most 2 minutes.
  DELIVERY_LEASE_SECONDS: intInRange(1, 120),
  DELIVERY_MAX_ATTEMPTS: intInRange(1, 100),
  DELIVERY_RETRY_BASE_SECONDS: intInRange(1, 3600),
  DELIVERY_HELD_SUMMARY_HOURS: intInRange(0, 24 * 365),
  DIGEST_TZ: passing(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
  SHUTDOWN_TIMEOUT_SECONDS: intInRange(1, 300),
  HTTP_PORT: intInRange(0, 65535),
  HTTP_HOST: emptyOr(passing((value) => isIP(value) !== 0, 'must be an IP address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one interface\'s address; empty = chosen by mode')),
  OPS_TOKEN: emptyOr(matching(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 printable characters without spaces (e.g. the output of `openssl rand -hex 32`)')),
  INSTANCE_ID: matching(/^[A-Za-z0-9._:-]{0,64}$/, 'may hold only letters, digits and . _ : - (at most 64)'),
  DISCORD_TOKEN: text,
  DISCORD_APP_ID: emptyOr(snowflake('the application id')),
  DISCORD_GUILD_ID: emptyOr(snowflake('a server id')),
  DISCORD_API_URL: passing(isHttpUrl, 'must be a URL such as https://discord.com/api'),
  DISCORD_PUBLIC_KEY: emptyOr(matching(/^[0-9a-fA-F]{64}$/, 'must be the application\'s Public Key from the Developer Portal (64 hex characters)')),
  DISCORD_SHARD_IDS: emptyAutoOr(matching(/^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/, 'must be auto, or shard ids such as 0,1,2 or 0-3')),
  DISCORD_SHARD_COUNT: emptyAutoOr(intInRange(1, 65535)),
  PLATFORM_RETRY_BASE_MS: intInRange(10, 60_000),
  PLATFORM_RETRY_MAX_SECONDS: intInRange(1, 3600),
  SLACK_BOT_TOKEN: emptyOr(matching(/^xoxb-/, 'must be a bot token (xoxb-…)')),
  SLACK_SIGNING_SECRET: text,
  SLACK_APP_TOKEN: emptyOr(matching(/^xapp-/, 'must be an app-level token (xapp-…)')),
  SLACK_CLIENT_ID: text,
  SLACK_CLIENT_SECRET: text,
  SLACK_STATE_SECRET: text,
  SLACK_PORT: emptyOr(intInRange(0, 65535)),
  SLACK_API_URL: passing(isHttpUrl, 'must be a URL such as https://slack.com/api/'),
  SLACK_COMMAND_PREFIX: matching(/^[a-z0-9_-]{0,20}$/, 'may hold only a-z, 0-9, - and _ (at most 20)'),
  SLACK_MANAGE_POLICY: oneOf(['admins-and-creator', 'admins', 'everyone'] as const, 'must be admins-and-creator, admins or everyone'),
  SLACK_SENDS_PER_SECOND: emptyOr(intInRange(1, 10_000)),
  SLACK_HISTORY_TIER: emptyOr(oneOf(['limited', 'tier3'] as const, 'must be limited or tier3 (empty: limited for an OAuth install, tier3 for one workspace)')),
  SLACK_TIME_SCALE: passing((v) => /^(0?\.\d+|1(\.0*)?)$/.test(v) && Number(v) > 0, 'must be a number above 0 and at most 1 (tests only; 1 in production)'),
} satisfies Record<ConfigKey, Rule<unknown>>;

type Parsed = { [K in keyof typeof RULES]: RuleValue<(typeof RULES)[K]> };

/** Rules that relate settings to each other; each problem names the setting to change. */
function crossChecks(v: Parsed): Array<{ key: ConfigKey; message: string }> {
  const issues: Array<{ key: ConfigKey; message: string }> = [];
  const add = (key: ConfigKey, message: string) => void issues.push({ key, message });
  if (v.DISCORD_TOKEN && !v.DISCORD_APP_ID) add('DISCORD_APP_ID', 'is required when DISCORD_TOKEN is set');
  const shardIds = v.DISCORD_SHARD_IDS && v.DISCORD_SHARD_IDS !== 'auto' ? shardList(v.DISCORD_SHARD_IDS) : null;
  if (shardIds && typeof v.DISCORD_SHARD_COUNT !== 'number') add('DISCORD_SHARD_COUNT', 'must be the total number of shards when DISCORD_SHARD_IDS lists some');
  if (shardIds && typeof v.DISCORD_SHARD_COUNT === 'number' && shardIds.some((id) => id >= (v.DISCORD_SHARD_COUNT as number))) {
    add('DISCORD_SHARD_IDS', `every shard id must be below DISCORD_SHARD_COUNT (${v.DISCORD_SHARD_COUNT})`);
  }
  if (v.DISCORD_PUBLIC_KEY && (v.DISCORD_SHARD_IDS || v.DISCORD_SHARD_COUNT)) add('DISCORD_SHARD_IDS', 'does not apply with DISCORD_PUBLIC_KEY (HTTP interactions use no gateway, so no shards)');
  if (v.DISCORD_PUBLIC_KEY && !v.DISCORD_TOKEN) add('DISCORD_TOKEN', 'is required with DISCORD_PUBLIC_KEY (deliveries are sent over REST with the bot token)');
  if (v.DISCORD_PUBLIC_KEY && v.HTTP_PORT === 0) add('HTTP_PORT', 'must not be 0 with DISCORD_PUBLIC_KEY: Discord posts interactions to /discord/interactions on it');
  const oauth = v.SLACK_CLIENT_ID || v.SLACK_CLIENT_SECRET || v.SLACK_STATE_SECRET;
  if ((v.SLACK_BOT_TOKEN || oauth) && !v.SLACK_SIGNING_SECRET) add('SLACK_SIGNING_SECRET', 'is required for Slack');
  if ((v.SLACK_BOT_TOKEN || oauth) && !v.SLACK_APP_TOKEN && v.SLACK_PORT === '' && v.HTTP_PORT === 0) {
    add('HTTP_PORT', 'must not be 0 for Slack over HTTP (it serves /slack/events); set SLACK_APP_TOKEN for Socket Mode, or SLACK_PORT for a port of its own');
  }
  if (oauth && !(v.SLACK_CLIENT_ID && v.SLACK_CLIENT_SECRET && v.SLACK_STATE_SECRET)) {
    add('SLACK_CLIENT_ID', 'OAuth needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET together');
  }
  return issues;
}

/** Whether a platform posts to HTTP_PORT (so it must be reachable from outside): Discord HTTP interactions, Slack over HTTP without a port of its own. */
function platformRoutesOnHttpPort(v: Parsed): boolean {
  const discordHttp = Boolean(v.DISCORD_TOKEN && v.DISCORD_PUBLIC_KEY);
  const slackHttp = Boolean((v.SLACK_BOT_TOKEN || v.SLACK_CLIENT_ID) && !v.SLACK_APP_TOKEN && v.SLACK_PORT === '');
  return discordHttp || slackHttp;
}

const isLoopback = (host: string) => /^127\./.test(host) || host === '::1';

/** `0,2,5-7` → [0, 2, 5, 6, 7]. */
function shardList(value: string): number[] {
  const ids = new Set<number>();
  for (const part of value.split(',')) {
    const [from, to = from] = part.split('-').map(Number) as [number, number?];
    for (let id = from; id <= (to ?? from) && ids.size <= 65535; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** The validated, frozen configuration. Only `src/main.ts` builds one, from the environment. */
export interface Config {
  readonly feedUrls: readonly string[];
  readonly pollCron: string;
  readonly pollJitterMs: number;
  readonly pollConcurrency: number;
  readonly database: DatabaseTarget;
  /**
   * PostgreSQL: the longest one statement may run before the server cancels it; the client gives up on an
   * answer 5 s later (a hung server, a silent network). 0 = no limit. Migrations are exempt.
   */
  readonly databaseStatementTimeoutMs: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFormat: 'auto' | 'pretty' | 'json';
  readonly feedTimeoutMs: number;
  readonly feedMaxBytes: number;
  readonly feedMaxRedirects: number;
  /** Items read per poll (the newest); the rest are skipped and logged. */
  readonly feedMaxItems: number;
  readonly feedMaxBackoffMs: number;
  readonly userAgent: string;
  readonly backfillPageSize: number;
  readonly backfillPauseMs: number;
  readonly allowAnyFeed: boolean;
  /** User-added feeds may reach private networks (a lab's intranet); off by default. */
  readonly allowPrivateFeeds: boolean;
  readonly limits: { readonly perChannel: number; readonly perWorkspace: number; readonly alertsPerUser: number; /** Feeds added from chat one server may follow; 0: adding from chat is off. */ readonly feedsPerWorkspace: number };
  /** How often one member, and one server, may run commands (per process; the console is exempt); null = off. */
  readonly commandRates: CommandRates;
  readonly delivery: {
    readonly concurrency: number;
    readonly leaseMs: number;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    /** Posts held longer than this while a subscription was paused arrive as one summary on resume. */
    readonly heldSummaryAfterMs: number;
  };
  readonly digestTimeZone: string;
  /** How long SIGTERM waits for sends in flight before handing them back as possibly sent. */
  readonly shutdownTimeoutMs: number;
  /** Names this process in claims, poll leases and every metric: `INSTANCE_ID`, else host and pid. */
  readonly instanceId: string;
  /** The one HTTP port (/healthz, /readyz, /metrics, /slack/…, /discord/interactions); null when HTTP_PORT=0. */
  readonly httpPort: number | null;
  /**
   * The address HTTP_PORT listens on: HTTP_HOST when set; else every interface (0.0.0.0) when a platform
   * posts to it (Discord HTTP interactions, Slack over HTTP on HTTP_PORT), this machine only (127.0.0.1)
   * when nothing on it must be reachable from elsewhere (console, Discord gateway, Slack Socket Mode or SLACK_PORT).
   */
  readonly httpHost: string;
  /** When set, /metrics and /readyz's details need `Authorization: Bearer <it>`; never logged. */
  readonly opsToken: string | null;
  /** Between attempts to reach a platform that is down at start: `baseMs` doubling up to `maxMs`, with jitter. */
  readonly platformRetry: { readonly baseMs: number; readonly maxMs: number };
  /** Settings that work but are probably not what was meant (logged at start, shown by `inkwire doctor`). */
  readonly warnings: readonly string[];
  /**
   * Present when DISCORD_TOKEN is set: the bot connects to Discord instead of running the console. With a
   * `publicKey` it takes interactions over HTTP (REST only, no gateway); without, it opens the gateway.
   */
  readonly discord: {
    readonly token: string;
    readonly appId: string;
    readonly guildId: string | null;
    readonly apiUrl: string;
    readonly publicKey: string | null;
    /** The gateway shards this process runs: all of them (null), Discord's recommendation (auto), or these of `count`. */
    readonly shards: null | 'auto' | { readonly ids: readonly number[]; readonly count: number };
  } | null;
  /** Present when a Slack bot token or OAuth settings are given. */
  readonly slack: {
    readonly botToken: string | null;
    readonly signingSecret: string;
    readonly appToken: string | null;
    readonly oauth: { readonly clientId: string; readonly clientSecret: string; readonly stateSecret: string } | null;
    /** HTTP mode's own port; null: served on HTTP_PORT with everything else. */
    readonly port: number | null;
    readonly apiUrl: string;
    readonly commandPrefix: string;
    readonly managePolicy: 'admins-and-creator' | 'admins' | 'everyone';
    /** Messages per second across every instance (shared through PostgreSQL's send budget); null = no pacing. */
    readonly sendsPerSecond: number | null;
    /** The rate tier of conversations.history/replies; null: by install type (OAuth limited, one workspace tier3). */
    readonly historyTier: 'limited' | 'tier3' | null;
    /** Tests only: Slack's time runs this much shorter (the fake Slack on the same scale). 1 in production. */
    readonly timeScale: number;
  } | null;
}

function databaseTarget(value: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  return { kind: 'sqlite', path: value.replace(/^sqlite:(\/\/)?/i, '') };
}

/**
 * Validates an environment (plain key/value strings) and returns a frozen config.
 * Empty values count as unset. Every bad value is reported in one `config/invalid` error.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(CONFIG_DEFAULTS) as ConfigKey[]) {
    const value = env[key];
    raw[key] = value === undefined || value.trim() === '' ? CONFIG_DEFAULTS[key] : value;
  }
  const issues: Array<{ key: ConfigKey; message: string }> = [];
  const parsed: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of Object.keys(RULES) as ConfigKey[]) {
    const result = (RULES[key] as Rule<unknown>)(raw[key]!);
    if (result.ok) parsed[key] = result.value;
    else issues.push({ key, message: result.message });
  }
  if (issues.length === 0) issues.push(...crossChecks(parsed as Parsed));
  if (issues.length > 0) {
    const problems = issues.map(({ key, message }) => {
      // Never echo a secret back, even a malformed one.
      const shown = /TOKEN|SECRET/.test(key) ? '"[redacted]"' : JSON.stringify((raw[key] ?? '').slice(0, 80));
      return `  - ${key}=${shown}: ${message}`;
    });
    throw new InkwireError('config/invalid', `Invalid configuration:\n${problems.join('\n')}`);
  }
  const v = parsed as Parsed;
  const warnings: string[] = [];
  const httpHost = v.HTTP_HOST || (platformRoutesOnHttpPort(v) ? '0.0.0.0' : '127.0.0.1');
  if (v.HTTP_PORT !== 0 && !v.OPS_TOKEN && !isLoopback(httpHost)) {
    warnings.push(`HTTP_PORT ${v.HTTP_PORT} listens on ${httpHost}, reachable from other hosts, and OPS_TOKEN is not set: /metrics and the details of /readyz are open to anyone who reaches it; set OPS_TOKEN`);
  }
  // discord.js strips a leading "Bot "/"Bearer " on the gateway, but REST (HTTP interactions,
  // register-commands) would send "Bot Bot …" and get 401: the token is used without it, and said so.
  const tokenPrefix = /^(bot|bearer)\s+/i.exec(v.DISCORD_TOKEN);
  if (tokenPrefix) {
    v.DISCORD_TOKEN = v.DISCORD_TOKEN.slice(tokenPrefix[0].length);
    warnings.push(`DISCORD_TOKEN starts with "${tokenPrefix[1]} ": set the bare token from the Developer Portal; Inkwire adds the "Bot " prefix itself (the prefix is ignored)`);
  }
  return Object.freeze({
    feedUrls: Object.freeze([...new Set(v.FEED_URLS)]),
    pollCron: v.POLL_CRON,
    pollJitterMs: v.POLL_JITTER_SECONDS * 1000,
    pollConcurrency: v.POLL_CONCURRENCY,
    database: Object.freeze(databaseTarget(v.DATABASE_URL)),
    databaseStatementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    feedTimeoutMs: v.FEED_TIMEOUT_MS,
    feedMaxBytes: v.FEED_MAX_BYTES,
    feedMaxRedirects: v.FEED_MAX_REDIRECTS,
    feedMaxItems: v.FEED_MAX_ITEMS,
    feedMaxBackoffMs: v.FEED_MAX_BACKOFF_SECONDS * 1000,
    userAgent: v.FEED_USER_AGENT,
    backfillPageSize: v.BACKFILL_PAGE_SIZE,
    backfillPauseMs: v.BACKFILL_PAUSE_MS,
    allowAnyFeed: v.ALLOW_ANY_FEED,
    allowPrivateFeeds: v.ALLOW_PRIVATE_FEEDS,
    limits: Object.freeze({
      perChannel: v.MAX_SUBSCRIPTIONS_PER_CHANNEL,
      perWorkspace: v.MAX_SUBSCRIPTIONS_PER_SERVER,
      alertsPerUser: v.MAX_ALERTS_PER_USER,
      feedsPerWorkspace: v.MAX_FEEDS_PER_SERVER,
    }),
    commandRates: Object.freeze({
      member: v.COMMAND_RATE_MEMBER,
      search: v.COMMAND_RATE_SEARCH,
      server: v.COMMAND_RATE_SERVER,
      autocomplete: v.COMMAND_RATE_AUTOCOMPLETE,
    }),
    delivery: Object.freeze({
      concurrency: v.DELIVERY_CONCURRENCY,
      leaseMs: v.DELIVERY_LEASE_SECONDS * 1000,
      maxAttempts: v.DELIVERY_MAX_ATTEMPTS,
      retryBaseMs: v.DELIVERY_RETRY_BASE_SECONDS * 1000,
      heldSummaryAfterMs: v.DELIVERY_HELD_SUMMARY_HOURS * 3600 * 1000,
    }),
    digestTimeZone: v.DIGEST_TZ,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    httpPort: v.HTTP_PORT === 0 ? null : v.HTTP_PORT,
    httpHost,
    opsToken: v.OPS_TOKEN || null,
    platformRetry: Object.freeze({ baseMs: v.PLATFORM_RETRY_BASE_MS, maxMs: Math.max(v.PLATFORM_RETRY_BASE_MS, v.PLATFORM_RETRY_MAX_SECONDS * 1000) }),
    warnings: Object.freeze(warnings),
    instanceId: v.INSTANCE_ID || `${hostname()}-${process.pid}`,
    discord: v.DISCORD_TOKEN
      ? Object.freeze({ token: v.DISCORD_TOKEN, appId: v.DISCORD_APP_ID, guildId: v.DISCORD_GUILD_ID || null, apiUrl: v.DISCORD_API_URL, publicKey: v.DISCORD_PUBLIC_KEY.toLowerCase() || null,
          shards: v.DISCORD_SHARD_IDS === 'auto' || v.DISCORD_SHARD_COUNT === 'auto'
            ? 'auto'
            : v.DISCORD_SHARD_IDS
              ? Object.freeze({ ids: Object.freeze(shardList(v.DISCORD_SHARD_IDS)), count: v.DISCORD_SHARD_COUNT as number })
              : typeof v.DISCORD_SHARD_COUNT === 'number' ? Object.freeze({ ids: Object.freeze(Array.from({ length: v.DISCORD_SHARD_COUNT }, (_, i) => i)), count: v.DISCORD_SHARD_COUNT }) : null })
      : null,
    slack:
      v.SLACK_BOT_TOKEN || v.SLACK_CLIENT_ID
        ? Object.freeze({
            botToken: v.SLACK_BOT_TOKEN || null,
            signingSecret: v.SLACK_SIGNING_SECRET,
            appToken: v.SLACK_APP_TOKEN || null,
            oauth: v.SLACK_CLIENT_ID ? Object.freeze({ clientId: v.SLACK_CLIENT_ID, clientSecret: v.SLACK_CLIENT_SECRET, stateSecret: v.SLACK_STATE_SECRET }) : null,
            port: v.SLACK_PORT === '' ? null : v.SLACK_PORT,
            apiUrl: v.SLACK_API_URL,
            commandPrefix: v.SLACK_COMMAND_PREFIX,
            managePolicy: v.SLACK_MANAGE_POLICY,
            sendsPerSecond: v.SLACK_SENDS_PER_SECOND === '' ? null : v.SLACK_SENDS_PER_SECOND,
            historyTier: v.SLACK_HISTORY_TIER === '' ? null : v.SLACK_HISTORY_TIER,
            timeScale: Number(v.SLACK_TIME_SCALE),
          })
        : null,
  });
}

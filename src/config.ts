import { hostname } from 'node:os';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { InkwireError } from './errors.ts';

/** Defaults, in one place: the schema, `.env.example` and README all follow this table. */
export const CONFIG_DEFAULTS = {
  FEED_URLS: 'https://dailyink.substack.com/feed',
  POLL_CRON: '*/15 * * * *',
  POLL_JITTER_SECONDS: '20',
  POLL_CONCURRENCY: '4',
  DATABASE_URL: './data/inkwire.db',
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
  DELIVERY_CONCURRENCY: '8',
  DELIVERY_LEASE_SECONDS: '60',
  DELIVERY_MAX_ATTEMPTS: '12',
  DELIVERY_RETRY_BASE_SECONDS: '5',
  DELIVERY_HELD_SUMMARY_HOURS: '24',
  DIGEST_TZ: 'UTC',
  SHUTDOWN_TIMEOUT_SECONDS: '10',
  HTTP_PORT: '8080',
  INSTANCE_ID: '',
  DISCORD_TOKEN: '',
  DISCORD_APP_ID: '',
  DISCORD_GUILD_ID: '',
  DISCORD_API_URL: 'https://discord.com/api',
  DISCORD_PUBLIC_KEY: '',
  DISCORD_SHARD_IDS: '',
  DISCORD_SHARD_COUNT: '',
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
} as const satisfies Record<string, string>;

export type ConfigKey = keyof typeof CONFIG_DEFAULTS;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intInRange = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const feedUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'each feed URL must be an absolute http:// or https:// URL');

const schema = z.object({
  FEED_URLS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(feedUrl).min(1, 'list at least one feed URL')),
  POLL_CRON: z
    .string()
    .trim()
    .refine((value) => isValidCron(value), 'is not a valid cron expression (e.g. "*/15 * * * *")'),
  POLL_JITTER_SECONDS: intInRange(0, 3600),
  POLL_CONCURRENCY: intInRange(1, 64),
  DATABASE_URL: z
    .string()
    .trim()
    .min(1, 'must be a file path for SQLite or a postgres:// URL'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json'], { error: 'must be auto, pretty or json' }),
  FEED_TIMEOUT_MS: intInRange(1000, 300_000),
  FEED_MAX_BYTES: intInRange(1024, 100 * 1024 * 1024),
  FEED_MAX_REDIRECTS: intInRange(0, 10),
  FEED_MAX_ITEMS: intInRange(1, 10_000),
  FEED_MAX_BACKOFF_SECONDS: intInRange(60, 7 * 24 * 3600),
  FEED_USER_AGENT: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  BACKFILL_PAGE_SIZE: intInRange(1, 50),
  BACKFILL_PAUSE_MS: intInRange(0, 60_000),
  ALLOW_ANY_FEED: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true'),
  ALLOW_PRIVATE_FEEDS: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true'),
  MAX_SUBSCRIPTIONS_PER_CHANNEL: intInRange(1, 100),
  MAX_SUBSCRIPTIONS_PER_SERVER: intInRange(1, 10_000),
  MAX_ALERTS_PER_USER: intInRange(0, 50),
  DELIVERY_CONCURRENCY: intInRange(1, 256),
  // Renewed while a send is in flight, so it only matters after a crash: then the retry must come inside
  // Discord's nonce de-duplication window ("a few minutes"), hence at most 2 minutes.
  DELIVERY_LEASE_SECONDS: intInRange(1, 120),
  DELIVERY_MAX_ATTEMPTS: intInRange(1, 100),
  DELIVERY_RETRY_BASE_SECONDS: intInRange(1, 3600),
  DELIVERY_HELD_SUMMARY_HOURS: intInRange(0, 24 * 365),
  DIGEST_TZ: z.string().trim().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
  SHUTDOWN_TIMEOUT_SECONDS: intInRange(1, 300),
  HTTP_PORT: intInRange(0, 65535),
  INSTANCE_ID: z.string().trim().regex(/^[A-Za-z0-9._:-]{0,64}$/, 'may hold only letters, digits and . _ : - (at most 64)'),
  DISCORD_TOKEN: z.string().trim(),
  DISCORD_APP_ID: z.union([z.literal(''), z.string().trim().regex(/^\d{17,20}$/, 'must be the application id (a 17-20 digit snowflake)')]),
  DISCORD_GUILD_ID: z.union([z.literal(''), z.string().trim().regex(/^\d{17,20}$/, 'must be a server id (a 17-20 digit snowflake)')]),
  DISCORD_API_URL: z.string().trim().url('must be a URL such as https://discord.com/api'),
  DISCORD_PUBLIC_KEY: z.union([z.literal(''), z.string().trim().regex(/^[0-9a-fA-F]{64}$/, 'must be the application\'s Public Key from the Developer Portal (64 hex characters)')]),
  DISCORD_SHARD_IDS: z.union([z.literal(''), z.literal('auto'), z.string().trim().regex(/^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/, 'must be auto, or shard ids such as 0,1,2 or 0-3')]),
  DISCORD_SHARD_COUNT: z.union([z.literal(''), z.literal('auto'), intInRange(1, 65535)]),
  SLACK_BOT_TOKEN: z.union([z.literal(''), z.string().trim().regex(/^xoxb-/, 'must be a bot token (xoxb-…)')]),
  SLACK_SIGNING_SECRET: z.string().trim(),
  SLACK_APP_TOKEN: z.union([z.literal(''), z.string().trim().regex(/^xapp-/, 'must be an app-level token (xapp-…)')]),
  SLACK_CLIENT_ID: z.string().trim(),
  SLACK_CLIENT_SECRET: z.string().trim(),
  SLACK_STATE_SECRET: z.string().trim(),
  SLACK_PORT: z.union([z.literal(''), intInRange(0, 65535)]),
  SLACK_API_URL: z.string().trim().url('must be a URL such as https://slack.com/api/'),
  SLACK_COMMAND_PREFIX: z.string().trim().regex(/^[a-z0-9_-]{0,20}$/, 'may hold only a-z, 0-9, - and _ (at most 20)'),
  SLACK_MANAGE_POLICY: z.enum(['admins-and-creator', 'admins', 'everyone'], { error: 'must be admins-and-creator, admins or everyone' }),
}).superRefine((v, ctx) => {
  if (v.DISCORD_TOKEN && !v.DISCORD_APP_ID) ctx.addIssue({ code: 'custom', path: ['DISCORD_APP_ID'], message: 'is required when DISCORD_TOKEN is set' });
  const shardIds = v.DISCORD_SHARD_IDS && v.DISCORD_SHARD_IDS !== 'auto' ? shardList(v.DISCORD_SHARD_IDS) : null;
  if (shardIds && typeof v.DISCORD_SHARD_COUNT !== 'number') ctx.addIssue({ code: 'custom', path: ['DISCORD_SHARD_COUNT'], message: 'must be the total number of shards when DISCORD_SHARD_IDS lists some' });
  if (shardIds && typeof v.DISCORD_SHARD_COUNT === 'number' && shardIds.some((id) => id >= (v.DISCORD_SHARD_COUNT as number))) {
    ctx.addIssue({ code: 'custom', path: ['DISCORD_SHARD_IDS'], message: `every shard id must be below DISCORD_SHARD_COUNT (${v.DISCORD_SHARD_COUNT})` });
  }
  if (v.DISCORD_PUBLIC_KEY && (v.DISCORD_SHARD_IDS || v.DISCORD_SHARD_COUNT)) ctx.addIssue({ code: 'custom', path: ['DISCORD_SHARD_IDS'], message: 'does not apply with DISCORD_PUBLIC_KEY (HTTP interactions use no gateway, so no shards)' });
  if (v.DISCORD_PUBLIC_KEY && !v.DISCORD_TOKEN) ctx.addIssue({ code: 'custom', path: ['DISCORD_TOKEN'], message: 'is required with DISCORD_PUBLIC_KEY (deliveries are sent over REST with the bot token)' });
  if (v.DISCORD_PUBLIC_KEY && v.HTTP_PORT === 0) ctx.addIssue({ code: 'custom', path: ['HTTP_PORT'], message: 'must not be 0 with DISCORD_PUBLIC_KEY: Discord posts interactions to /discord/interactions on it' });
  const oauth = v.SLACK_CLIENT_ID || v.SLACK_CLIENT_SECRET || v.SLACK_STATE_SECRET;
  if ((v.SLACK_BOT_TOKEN || oauth) && !v.SLACK_SIGNING_SECRET) ctx.addIssue({ code: 'custom', path: ['SLACK_SIGNING_SECRET'], message: 'is required for Slack' });
  if ((v.SLACK_BOT_TOKEN || oauth) && !v.SLACK_APP_TOKEN && v.SLACK_PORT === '' && v.HTTP_PORT === 0) {
    ctx.addIssue({ code: 'custom', path: ['HTTP_PORT'], message: 'must not be 0 for Slack over HTTP (it serves /slack/events); set SLACK_APP_TOKEN for Socket Mode, or SLACK_PORT for a port of its own' });
  }
  if (oauth && !(v.SLACK_CLIENT_ID && v.SLACK_CLIENT_SECRET && v.SLACK_STATE_SECRET)) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_CLIENT_ID'], message: 'OAuth needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET together' });
  }
});

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
  readonly limits: { readonly perChannel: number; readonly perWorkspace: number; readonly alertsPerUser: number };
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
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '?');
      // Never echo a secret back, even a malformed one.
      const shown = /TOKEN|SECRET/.test(key) ? '"[redacted]"' : JSON.stringify((raw[key] ?? '').slice(0, 80));
      return `  - ${key}=${shown}: ${issue.message}`;
    });
    throw new InkwireError('config/invalid', `Invalid configuration:\n${problems.join('\n')}`);
  }
  const v = parsed.data;
  return Object.freeze({
    feedUrls: Object.freeze([...new Set(v.FEED_URLS)]),
    pollCron: v.POLL_CRON,
    pollJitterMs: v.POLL_JITTER_SECONDS * 1000,
    pollConcurrency: v.POLL_CONCURRENCY,
    database: Object.freeze(databaseTarget(v.DATABASE_URL)),
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
          })
        : null,
  });
}

import { parseArgs } from 'node:util';
import { InkwireError } from '../errors.ts';

export const SUBCOMMANDS = ['start', 'poll', 'feeds', 'posts', 'search', 'backfill', 'reindex', 'deliveries', 'why', 'register-commands', 'doctor', 'migrate', 'migrate-data', 'help'] as const;
export const DELIVERY_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export interface CliArgs {
  command: Subcommand;
  db: string | undefined;
  once: boolean;
  feeds: string[];
  announceExisting: boolean;
  limit: number;
  offset: number;
  json: boolean;
  /** The search text (`inkwire search "<query>"`). */
  query: string;
  /** `inkwire deliveries --status`. */
  status: (typeof DELIVERY_STATUSES)[number] | undefined;
  /** `inkwire why <post-url> <channel>`. */
  positional: string[];
  /** `inkwire register-commands --guild`. */
  guild: string | undefined;
  /** `inkwire migrate-data --from FILE --to postgres://…`. */
  from: string | undefined;
  to: string | undefined;
}

function guildId(value: string | undefined): string | undefined {
  if (value !== undefined && !/^\d{17,20}$/.test(value)) throw new InkwireError('cli/usage', '--guild needs a server id (17-20 digits)');
  return value;
}

export const USAGE = `Usage: inkwire <command> [options]

Commands:
  start                     Run the bot (default). With no platform tokens: the console adapter.
  poll --once [--feed URL]  Fetch every feed (or one) once, store posts, print a summary.
       [--announce-existing]  Also announce the items of a feed seen for the first time.
  feeds [--json]            Each feed's health: last success, last error, failures, next poll.
  posts [--limit N] [--json]  Stored posts, newest first (default 20, at most 1000).
  search "<query>" [--limit N] [--offset N] [--json]
                            Search every stored post (same query language as /search).
  backfill [--feed URL]     Fetch a Substack publication's whole archive (resumable; announces nothing).
  reindex                   Rebuild the search indexes from the stored posts.
  deliveries [--status pending|sending|sent|failed] [--limit N] [--json]
                            The delivery outbox, newest first.
  why <post-url> <channel>  Why a post was or was not delivered to a channel.
  register-commands [--guild ID]
                            Register the slash commands with Discord (one server with --guild, else global).
  doctor                    Check configuration, database and feed reachability; say what to fix.
  migrate                   Apply the database migrations now (every start also does; safe to run twice).
  migrate-data --from FILE --to postgres://…
                            Copy a SQLite deployment (posts, subscriptions, deliveries, everything) into an
                            empty PostgreSQL database, then check that every row arrived.
  help                      This text.

Options for every command:
  --db PATH                 SQLite file (or postgres:// URL) instead of DATABASE_URL.
  -h, --help                This text.

Configuration comes from the environment and a .env file; see .env.example.`;

const OPTIONS = {
  db: { type: 'string' },
  once: { type: 'boolean', default: false },
  feed: { type: 'string', multiple: true },
  'announce-existing': { type: 'boolean', default: false },
  limit: { type: 'string' },
  offset: { type: 'string' },
  status: { type: 'string' },
  guild: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const ALLOWED: Record<Subcommand, ReadonlyArray<keyof typeof OPTIONS>> = {
  start: ['db', 'help'],
  poll: ['db', 'once', 'feed', 'announce-existing', 'help'],
  feeds: ['db', 'json', 'help'],
  posts: ['db', 'limit', 'json', 'help'],
  search: ['db', 'limit', 'offset', 'json', 'help'],
  backfill: ['db', 'feed', 'help'],
  reindex: ['db', 'help'],
  deliveries: ['db', 'status', 'limit', 'json', 'help'],
  why: ['db', 'help'],
  'register-commands': ['db', 'guild', 'help'],
  doctor: ['db', 'help'],
  migrate: ['db', 'help'],
  'migrate-data': ['from', 'to', 'help'],
  help: ['help'],
};

/** Parses argv (without `node` and the script). Bad input throws `cli/usage`, which exits with code 2. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new InkwireError('cli/usage', error instanceof Error ? error.message : String(error));
  }
  const [first, ...extra] = parsed.positionals;
  const name = first ?? 'start';
  if (!(SUBCOMMANDS as readonly string[]).includes(name)) {
    throw new InkwireError('cli/usage', `unknown command "${name}"`);
  }
  const command = parsed.values.help ? 'help' : (name as Subcommand);
  let query = '';
  if (name === 'search') {
    query = extra.join(' ');
    if (query.trim() === '' && command === 'search') throw new InkwireError('cli/usage', 'search needs a query, e.g. inkwire search "flash attention"');
  } else if (name === 'why') {
    if (extra.length !== 2 && command === 'why') throw new InkwireError('cli/usage', 'why needs a post URL and a channel id, e.g. inkwire why https://…/p/slug general');
  } else if (extra.length > 0) {
    throw new InkwireError('cli/usage', `unexpected argument "${extra[0]}"`);
  }
  if (command === 'migrate-data' && (!parsed.values.from || !parsed.values.to || !/^postgres(ql)?:\/\//i.test(parsed.values.to))) {
    throw new InkwireError('cli/usage', 'migrate-data needs --from ./data/inkwire.db --to postgres://user@host/db');
  }
  const status = parsed.values.status;
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
    throw new InkwireError('cli/usage', `--status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  }
  for (const [key, value] of Object.entries(parsed.values)) {
    const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
    if (given && !ALLOWED[name as Subcommand].includes(key as keyof typeof OPTIONS)) {
      throw new InkwireError('cli/usage', `"--${key}" does not apply to "${name}"`);
    }
  }
  const maxLimit = name === 'search' ? 25 : 1000;
  const limit = wholeNumber('--limit', parsed.values.limit, 1, maxLimit) ?? (name === 'search' ? 10 : 20);
  const offset = wholeNumber('--offset', parsed.values.offset, 0, 1000) ?? 0;
  const feeds = parsed.values.feed ?? [];
  for (const feed of feeds) {
    try {
      const url = new URL(feed);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new InkwireError('cli/usage', `--feed needs an http(s) URL, got "${feed}"`);
    }
  }
  return {
    command,
    db: parsed.values.db,
    once: parsed.values.once,
    feeds,
    announceExisting: parsed.values['announce-existing'],
    limit,
    offset,
    json: parsed.values.json,
    query,
    status: status as CliArgs['status'],
    positional: name === 'why' ? extra : [],
    guild: guildId(parsed.values.guild),
    from: parsed.values.from,
    to: parsed.values.to,
  };
}

function wholeNumber(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InkwireError('cli/usage', `${flag} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { build as buildPretty } from 'pino-pretty';
import { redactUrl, redactUrlsIn } from './feeds/url-secrets.ts';

export type { Logger } from 'pino';

/**
 * Paths whose values are never written to a log line, wherever a token might travel:
 * config objects, HTTP headers, platform client options.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'config.discord.token',
  'config.slack.botToken',
  'config.slack.signingSecret',
  'config.slack.appToken',
  'config.slack.oauth.clientSecret',
  'config.slack.oauth.stateSecret',
  'config.database.url',
  'config.opsToken',
  'opsToken',
  '*.opsToken',
  'botToken',
  '*.botToken',
  'signingSecret',
  '*.signingSecret',
  'appToken',
  '*.appToken',
  'clientSecret',
  '*.clientSecret',
  'stateSecret',
  '*.stateSecret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'req.headers.authorization',
  'req.headers.cookie',
] as const;

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Human-readable, coloured output (for a terminal); JSON lines otherwise. */
  pretty: boolean;
  /** Where lines go. Defaults to stderr so stdout stays clean for command output (`--json`). */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/** Builds the one root logger; components take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const stream: DestinationStream = options.pretty
    ? buildPretty({
        destination: destination as NodeJS.WritableStream,
        colorize: true,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname',
        sync: true,
        singleLine: true,
      })
    : (destination as DestinationStream);
  return pino(
    {
      level: options.level,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      // Feed, database and platform URLs may carry credentials (`https://user:pw@…`, `?k=…`, a token in the
      // path): URL fields and errors are redacted field by field, messages as they are logged, and every
      // finished line once more (a URL in any other field, a binding, a nested object).
      serializers: URL_SERIALIZERS,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactUrlsIn(arg) : arg)) as Parameters<typeof method>);
        },
      },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    redactingStream(stream),
  );
}

/** A destination that writes each finished log line with every URL in it redacted. */
export function redactingStream(stream: DestinationStream): DestinationStream & { flush?: (cb?: (err?: Error) => void) => void } {
  const target = stream as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void };
  return {
    write: (line: string) => target.write(redactUrlsIn(line)),
    ...(typeof target.flush === 'function' ? { flush: (cb?: (err?: Error) => void) => target.flush!(cb) } : {}),
  };
}

const redactValue = (value: unknown): unknown =>
  typeof value === 'string' ? redactUrl(value) : Array.isArray(value) ? value.map(redactValue) : value;

/** An error as pino writes it (type, message, stack, own fields), with every URL in its texts redacted. */
const redactError = (error: unknown): unknown => {
  const serialised = pino.stdSerializers.err(error as Error) as unknown;
  if (!serialised || typeof serialised !== 'object') return serialised;
  return Object.fromEntries(Object.entries(serialised).map(([key, value]) => [key, typeof value === 'string' ? redactUrlsIn(value) : value]));
};

/** Log fields that hold URLs, serialised with their secrets redacted; errors with URLs in their texts redacted. */
const URL_SERIALIZERS = {
  feedUrl: redactValue, url: redactValue, feeds: redactValue, finalUrl: redactValue, location: redactValue,
  database: redactValue, databaseUrl: redactValue, apiUrl: redactValue, webhookUrl: redactValue, endpoint: redactValue,
  err: redactError,
};

/** A logger that drops everything, for tests that do not inspect logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

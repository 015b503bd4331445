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
      // Feed URLs may carry credentials (`https://user:pw@…`, `?token=…`): every logged URL is redacted.
      serializers: URL_SERIALIZERS,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactUrlsIn(arg) : arg)) as Parameters<typeof method>);
        },
      },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

const redactValue = (value: unknown): unknown =>
  typeof value === 'string' ? redactUrl(value) : Array.isArray(value) ? value.map(redactValue) : value;

/** Log fields that hold URLs, serialised with their secrets redacted. */
const URL_SERIALIZERS = { feedUrl: redactValue, url: redactValue, feeds: redactValue, finalUrl: redactValue, location: redactValue };

/** A logger that drops everything, for tests that do not inspect logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Errors with stable string codes. `InkwireError` is for operators (logs, CLI exit reasons);
 * `UserError` is the only error whose message is ever shown in a chat reply.
 */
export type ErrorCode =
  | 'config/invalid'
  | 'feed/fetch-failed'
  | 'feed/http-status'
  | 'feed/rate-limited'
  | 'feed/timeout'
  | 'feed/too-large'
  | 'feed/too-many-redirects'
  | 'feed/not-a-feed'
  | 'feed/malformed'
  | 'feed/blocked-address'
  | 'feed/ingest-failed'
  | 'feed/unknown'
  | 'store/not-empty'
  | 'store/copy-mismatch'
  | 'store/locked'
  | 'store/unopenable'
  | 'cli/usage';

export class InkwireError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return `InkwireError[${this.code}]`;
  }
}

/** A refusal or problem that is safe and useful to show to the person who typed a command. */
export class UserError extends Error {
  /** A stable identifier, e.g. `search/query-too-long`, for tests and logs. */
  readonly identifier: string;

  constructor(identifier: string, message: string) {
    super(message);
    this.identifier = identifier;
  }

  override get name(): string {
    return `UserError[${this.identifier}]`;
  }
}

/** Why a send failed, as the engine needs to know it: stop (permanent) or try again (transient). */
export type DeliveryErrorCode =
  | 'delivery/channel-gone'
  | 'delivery/missing-access'
  | 'delivery/missing-permission'
  | 'delivery/bot-removed'
  | 'delivery/invalid-payload'
  | 'delivery/auth-failed'
  | 'delivery/rate-limited'
  | 'delivery/unavailable'
  | 'delivery/network'
  | 'delivery/ambiguous';

/** What a failure means for the subscription: the channel cannot receive (pause), this one message was refused (reject), or try again. */
export type DeliveryErrorEffect = 'pause' | 'reject' | 'retry';

/** Only errors that mean "this channel cannot receive anything" pause a subscription. */
const PAUSES = new Set<DeliveryErrorCode>([
  'delivery/channel-gone',
  'delivery/missing-access',
  'delivery/missing-permission',
  'delivery/bot-removed',
  'delivery/auth-failed',
]);

/** Thrown by platform adapters; `reason` is a sentence a server admin can act on. */
export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;
  readonly reason: string;
  readonly retryAfterMs: number | null;

  constructor(code: DeliveryErrorCode, reason: string, options: { retryAfterMs?: number | null; cause?: unknown } = {}) {
    super(reason, { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** Pause the subscription, fail just this delivery, or retry it. */
  get effect(): DeliveryErrorEffect {
    if (PAUSES.has(this.code)) return 'pause';
    return this.code === 'delivery/invalid-payload' ? 'reject' : 'retry';
  }

  /**
   * The request may have reached the platform and posted (a timeout or a connection lost after the body
   * was written): the retry must not post blindly where the platform has no idempotency key.
   */
  get uncertain(): boolean {
    return this.code === 'delivery/ambiguous';
  }

  override get name(): string {
    return `DeliveryError[${this.code}]`;
  }
}

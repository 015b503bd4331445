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
  | 'delivery/network';

const PERMANENT = new Set<DeliveryErrorCode>([
  'delivery/channel-gone',
  'delivery/missing-access',
  'delivery/missing-permission',
  'delivery/bot-removed',
  'delivery/invalid-payload',
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

  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }

  override get name(): string {
    return `DeliveryError[${this.code}]`;
  }
}

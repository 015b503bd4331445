import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { mayHavePosted, networkCauseCode } from '../../src/delivery/network-outcome.ts';

/** The `error` string of a Slack Web API failure, if the error is one. */
export function slackErrorCode(error: unknown): string | null {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : null;
}

/**
 * Translates Slack's answer into the delivery engine's terms. A request that failed after it may have
 * been written (a timeout, a connection lost mid-answer) is `delivery/ambiguous` — Slack may have posted
 * it — unless `uncertainOnLoss` is false (a read, which posts nothing).
 */
export function toDeliveryError(error: unknown, options: { uncertainOnLoss?: boolean } = {}): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const code = (error as { code?: string } | null)?.code;
  if (code === 'slack_webapi_request_error') {
    const original = (error as { original?: { name?: string; message?: string } }).original;
    const what = original?.name === 'TimeoutError' ? 'Slack did not answer in time' : `the connection to Slack failed (${networkCauseCode(error) ?? original?.message ?? 'unknown'})`;
    if (!mayHavePosted(error) || options.uncertainOnLoss === false) return new DeliveryError('delivery/network', what, { cause: error });
    return new DeliveryError('delivery/ambiguous', `${what}; the message may have been posted`, { cause: error });
  }
  if (code === 'slack_webapi_rate_limited_error') {
    const retryAfter = (error as { retryAfter?: number }).retryAfter ?? 1;
    return new DeliveryError('delivery/rate-limited', 'rate limited by Slack', { retryAfterMs: retryAfter * 1000, cause: error });
  }
  switch (slackErrorCode(error)) {
    case 'channel_not_found':
      return new DeliveryError('delivery/channel-gone', 'the channel no longer exists (or Inkwire cannot see it)', { cause: error });
    case 'is_archived':
      return new DeliveryError('delivery/channel-gone', 'the channel is archived', { cause: error });
    case 'not_in_channel':
      return new DeliveryError('delivery/missing-access', 'Inkwire is not in this private channel; invite it with /invite @Inkwire', { cause: error });
    case 'account_inactive':
    case 'invalid_auth':
    case 'token_revoked':
      return new DeliveryError('delivery/auth-failed', 'Inkwire was removed from this workspace (its token no longer works)', { cause: error });
    case 'invalid_blocks':
    case 'msg_too_long':
    case 'no_text':
      return new DeliveryError('delivery/invalid-payload', `Slack rejected the message (${slackErrorCode(error)})`, { cause: error });
    case 'ratelimited':
      return new DeliveryError('delivery/rate-limited', 'rate limited by Slack', { retryAfterMs: 1000, cause: error });
  }
  const status = (error as { statusCode?: number } | null)?.statusCode;
  if (status && status >= 500) return new DeliveryError('delivery/unavailable', `Slack answered HTTP ${status}`, { cause: error });
  return new DeliveryError('delivery/network', error instanceof Error ? error.message : String(error), { cause: error });
}

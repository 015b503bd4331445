import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import { mayHavePosted } from '../../src/delivery/network-outcome.ts';

/** Translates what Discord answered into the delivery engine's terms: stop (permanent) or retry (transient). */
export function toDeliveryError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof DiscordAPIError) {
    switch (error.code) {
      case 10003:
        return new DeliveryError('delivery/channel-gone', 'the channel no longer exists', { cause: error });
      case 50001:
        return new DeliveryError('delivery/missing-access', 'Inkwire cannot see that channel (Missing Access)', { cause: error });
      case 50013:
        return new DeliveryError('delivery/missing-permission', 'Inkwire lacks the Send Messages or Embed Links permission there', { cause: error });
      case 50007:
        return new DeliveryError('delivery/channel-gone', 'that member does not accept direct messages from Inkwire', { cause: error });
      case 50035:
        // A body Discord refuses says nothing about the channel: this message fails, the subscription goes on.
        return new DeliveryError('delivery/invalid-payload', `Discord rejected the message: ${error.message}`, { cause: error });
    }
    if (error.status === 401) return new DeliveryError('delivery/auth-failed', 'the bot token was rejected', { cause: error });
    if (error.status === 403) return new DeliveryError('delivery/missing-permission', `Discord refused: ${error.message}`, { cause: error });
    if (error.status === 404) return new DeliveryError('delivery/channel-gone', `Discord answered not found: ${error.message}`, { cause: error });
    return new DeliveryError('delivery/unavailable', `Discord error ${error.status} [${error.code}]`, { cause: error });
  }
  if (error instanceof RateLimitError) {
    return new DeliveryError('delivery/rate-limited', 'rate limited by Discord', { retryAfterMs: error.retryAfter, cause: error });
  }
  if (error instanceof HTTPError) return new DeliveryError('delivery/unavailable', `Discord answered HTTP ${error.status}`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  // No answer after discord.js's own retries: the message may have been posted. The retry carries the
  // same nonce, which Discord de-duplicates within its window.
  if (mayHavePosted(error)) return new DeliveryError('delivery/ambiguous', `no answer from Discord (${message}); the message may have been posted`, { cause: error });
  return new DeliveryError('delivery/network', message, { cause: error });
}

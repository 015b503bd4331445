import { DeliveryError } from '../src/delivery/delivery-error.ts';
import type { ChatPlatform } from '../src/platform/chat-platform.ts';

/**
 * A platform at a fixed rate: R tokens per second, a burst of R/10, `latencyMs` per send; over the limit it
 * answers "rate limited" (a 429). Duplicates are counted by idempotency key. One object may serve several
 * engines (instances): its limit and its counts are then global, as a platform's are per bot token.
 */
export function createRateLimitedPlatform(rate: number, latencyMs: number) {
  const capacity = Math.max(1, Math.floor(rate / 10));
  let tokens = capacity;
  let last = performance.now();
  const keys = new Set<string>();
  const stats = { accepted: 0, duplicates: 0, rateLimited: 0 };
  const platform: ChatPlatform = {
    name: 'console',
    async send(_destination, _message, { idempotencyKey }) {
      await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const now = performance.now();
      tokens = Math.min(capacity, tokens + ((now - last) / 1000) * rate);
      last = now;
      if (tokens < 1) {
        stats.rateLimited++;
        throw new DeliveryError('delivery/rate-limited', 'rate limited', { retryAfterMs: Math.ceil(((1 - tokens) / rate) * 1000) });
      }
      tokens -= 1;
      if (keys.has(idempotencyKey)) stats.duplicates++;
      keys.add(idempotencyKey);
      stats.accepted++;
      return { messageId: `m${stats.accepted}` };
    },
  };
  return { platform, stats, unique: () => keys.size };
}


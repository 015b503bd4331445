import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';

/** A ChatPlatform that posts to `startPlatformServer` over real HTTP, passing the idempotency key along. */
export function createHttpPlatform(baseUrl: string): ChatPlatform {
  return {
    name: 'console',
    async send(destination, message, options) {
      let response: Response;
      try {
        response = await fetch(`${baseUrl}/channels/${encodeURIComponent(destination.channelId)}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ idempotencyKey: options.idempotencyKey, title: message.kind === 'post' ? message.card.title : message.title }),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        throw new DeliveryError('delivery/network', 'the platform could not be reached', { cause: error });
      }
      if (!response.ok) throw new DeliveryError('delivery/unavailable', `HTTP ${response.status}`);
      return { messageId: ((await response.json()) as { id: string }).id };
    },
  };
}

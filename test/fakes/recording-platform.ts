import { DeliveryError } from '../../src/delivery/delivery-error.ts';
import type { ChatPlatform, Destination, OutgoingMessage, SendOptions } from '../../src/platform/chat-platform.ts';

export interface RecordedSend {
  destination: Destination;
  message: OutgoingMessage;
  idempotencyKey: string;
  messageId: string;
}

/**
 * A hand-written chat platform that records every send and can be told to fail for a channel:
 * permanently (like a deleted channel), or transiently a number of times (like a 503).
 */
export function createRecordingPlatform(name: Destination['platform'] = 'console') {
  const sends: RecordedSend[] = [];
  const edits: Array<{ destination: Destination; messageId: string; message: OutgoingMessage }> = [];
  const permanent = new Map<string, DeliveryError>();
  const transient = new Map<string, number>();
  const delays = new Map<string, number>();
  const hung = new Map<string, Promise<void>>();
  const attempts: Array<{ channelId: string; key: string; uncertainSince: Date | null; at: number }> = [];
  let counter = 0;
  const platform: ChatPlatform & { edit: NonNullable<ChatPlatform['edit']> } = {
    name,
    async send(destination: Destination, message: OutgoingMessage, options: SendOptions) {
      attempts.push({ channelId: destination.channelId, key: options.idempotencyKey, uncertainSince: options.uncertainSince ?? null, at: Date.now() });
      const hold = hung.get(destination.channelId);
      if (hold) await hold;
      const delay = delays.get(destination.channelId);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      const failure = permanent.get(destination.channelId);
      if (failure) throw failure;
      const left = transient.get(destination.channelId) ?? 0;
      if (left > 0) {
        transient.set(destination.channelId, left - 1);
        throw new DeliveryError('delivery/unavailable', 'the platform answered 503');
      }
      const messageId = `m${++counter}`;
      sends.push({ destination, message, idempotencyKey: options.idempotencyKey, messageId });
      return { messageId };
    },
    async edit(destination, messageId, message) {
      edits.push({ destination, messageId, message });
    },
  };
  return {
    platform,
    sends,
    edits,
    /** Every call of send, in order, whatever its outcome. */
    attempts,
    failPermanently(channelId: string, error = new DeliveryError('delivery/channel-gone', 'the channel was deleted')) {
      permanent.set(channelId, error);
    },
    failTransiently(channelId: string, times: number) {
      transient.set(channelId, times);
    },
    slowDown(channelId: string, ms: number) {
      delays.set(channelId, ms);
    },
    clearFailure(channelId: string) {
      permanent.delete(channelId);
      transient.delete(channelId);
    },
    /** Sends to this channel wait until the returned function is called. */
    hang(channelId: string): () => void {
      let release!: () => void;
      hung.set(channelId, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        hung.delete(channelId);
        release();
      };
    },
    sendsTo(channelId: string) {
      return sends.filter((s) => s.destination.channelId === channelId);
    },
  };
}

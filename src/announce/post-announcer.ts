import { buildPostCard } from '../cards/post-card.ts';
import type { Logger } from '../logger.ts';
import type { Post } from '../posts/post.ts';
import type { ChatPlatform, Destination } from '../platform/chat-platform.ts';

/** The seam between "a post is new" and "it reaches chat". */
export interface PostAnnouncer {
  announce(posts: readonly Post[]): Promise<void>;
}

/**
 * Sends each new post, oldest first, to fixed destinations through a platform port.
 * This is the single-destination announcer the console uses; the subscription-driven outbox
 * replaces it behind the same interface.
 */
export function createDirectAnnouncer(options: {
  platform: ChatPlatform;
  destinations: readonly Destination[];
  logger: Logger;
}): PostAnnouncer {
  return {
    async announce(posts) {
      for (const post of posts) {
        for (const destination of options.destinations) {
          try {
            await options.platform.send(
              destination,
              { kind: 'post', card: buildPostCard(post) },
              { idempotencyKey: `post-${post.id}-${destination.channelId}` },
            );
          } catch (error) {
            options.logger.error({ err: error, postId: post.id, channelId: destination.channelId }, 'announcement failed');
          }
        }
      }
    },
  };
}

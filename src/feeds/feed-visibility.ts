import type { Place } from '../platform/invocation.ts';
import type { FeedRecord, FeedStore } from '../storage/feed-store.ts';

/**
 * A tenant: one Discord server, one Slack workspace, the console's workspace. Feeds a tenant added from
 * chat are its own; feeds the operator configured (`FEED_URLS`) are everyone's (ADR 005).
 */
export interface Tenant {
  platform: Place['platform'];
  workspaceId: string;
}

/** The tenant a command runs for: its server or workspace; null in a direct message, which has none. */
export function tenantOf(place: Pick<Place, 'platform' | 'workspaceId'>): Tenant | null {
  return place.workspaceId ? { platform: place.platform, workspaceId: place.workspaceId } : null;
}

/** How a tenant is written in `feeds.added_by` and `feeds.owner_key`: `platform:workspaceId`. */
export function tenantKey(tenant: Tenant): string {
  return `${tenant.platform}:${tenant.workspaceId}`;
}

/**
 * The one tenancy rule (ADR 005). A feed is visible to a tenant when it is configured (added by nobody),
 * or this tenant added it, or a channel of this tenant subscribes to it. A direct message (no tenant) sees
 * the configured feeds only. Both stores implement it in SQL (`FeedStore.listVisible`), and the alert
 * planner's SQL uses the same three clauses; every reply that names feeds or shows posts goes through here.
 */
export function visibleFeeds(feeds: FeedStore, place: Pick<Place, 'platform' | 'workspaceId'>): Promise<FeedRecord[]> {
  return feeds.listVisible(tenantOf(place));
}

/** The ids of the feeds `place` may see: the scope of `/search`, `/latest` and autocomplete. */
export async function visibleFeedIds(feeds: FeedStore, place: Pick<Place, 'platform' | 'workspaceId'>): Promise<number[]> {
  return (await visibleFeeds(feeds, place)).map((feed) => feed.id);
}

import type { Clock } from '../clock.ts';
import type { Invoker, Place } from '../platform/invocation.ts';
import { UserError } from '../errors.ts';
import { tenantKey, tenantOf, visibleFeeds, type Tenant } from '../feeds/feed-visibility.ts';
import { carriesCredentials, redactUrl, redactUrlsIn } from '../feeds/url-secrets.ts';
import { err, ok, type Result } from '../result.ts';
import type { DeliveryStore } from '../storage/delivery-store.ts';
import type { FeedRecord, FeedStore } from '../storage/feed-store.ts';
import type { PostStore } from '../storage/post-store.ts';
import type { SubscriptionStore } from '../storage/subscription-store.ts';
import { createKeywordMatcher, parseKeywords } from './keyword-filter.ts';
import { parseMention } from './mention.ts';
import type { DeliveryMode, Subscription } from './subscription.ts';

export interface SubscriptionLimits {
  perChannel: number;
  perWorkspace: number;
  alertsPerUser: number;
  /** Feeds added from chat one server may follow at once (`MAX_FEEDS_PER_SERVER`, default 10); 0: adding is off. */
  feedsPerWorkspace?: number;
}

/** Checks that a URL someone wants to add is a public, reachable feed; returns its title. */
export type FeedProbe = (url: string) => Promise<Result<{ title: string | null }, UserError>>;

export interface SubscriptionServiceOptions {
  subscriptions: SubscriptionStore;
  feeds: FeedStore;
  posts: PostStore;
  deliveries: DeliveryStore;
  clock: Clock;
  limits: SubscriptionLimits;
  configuredFeeds: readonly string[];
  /** When false (the default), only configured feeds may be subscribed. */
  allowAnyFeed: boolean;
  probeFeed: FeedProbe;
  /** Posts held longer than this while paused arrive as one summary on resume (default 24 h). */
  heldSummaryAfterMs?: number;
  /** Called after rows were queued, so the delivery engine looks now. */
  onQueued?: () => void;
}

export interface SubscribeRequest {
  feed?: string;
  keywords?: string;
  mode?: DeliveryMode;
  mention?: string;
  /** Start a discussion thread under each card. */
  thread?: boolean;
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;

/** The rules of subscribing, shared by every platform: which feeds, which limits, what gets refused. */
export function createSubscriptionService(options: SubscriptionServiceOptions) {
  const { subscriptions, feeds, clock, limits } = options;

  const feedsPerWorkspace = limits.feedsPerWorkspace ?? 10;

  /**
   * The feed a subscribe names, by ADR 005: a name, a URL or the redacted URL Inkwire showed match only
   * feeds this tenant may see (`feed-visibility.ts`); a new URL without credentials joins the one shared
   * row (fetched once), a URL with credentials becomes this tenant's own row, after the probe.
   */
  async function resolveFeed(input: string | undefined, place: Place): Promise<Result<FeedRecord, UserError>> {
    const wanted = input?.trim();
    if (!wanted) {
      const first = options.configuredFeeds[0];
      if (!first) return err(new UserError('subscribe/no-feed', 'No feed is configured; name one with `feed:`.'));
      return ok(await feeds.ensure(first, clock.now()));
    }
    const tenant = tenantOf(place);
    const isConfigured = (url: string) => options.configuredFeeds.some((u) => sameUrl(u, url));
    // Only what this tenant may see: another server's feed is not there to be named, matched or listed.
    const known = (await visibleFeeds(feeds, place)).filter((f) => isConfigured(f.url) || options.allowAnyFeed);
    if (!isUrl(wanted)) {
      const byName = known.filter((f) => (f.title ?? f.url).toLowerCase().includes(wanted.toLowerCase()));
      if (byName.length === 1) return withinFeedCap(tenant, byName[0]!);
      if (byName.length > 1) {
        return err(new UserError('subscribe/ambiguous-feed', `"${redactUrlsIn(wanted).slice(0, 100)}" matches several feeds: ${byName.map(feedName).join(', ')}. Use its URL.`));
      }
      return err(new UserError('subscribe/unknown-feed', `No feed called "${redactUrlsIn(wanted).slice(0, 100)}". Available: ${describeFeeds(known)}.`));
    }
    let url: URL;
    try {
      url = new URL(wanted);
    } catch {
      return err(new UserError('subscribe/bad-url', `"${redactUrl(wanted).slice(0, 100)}" is not a valid URL.`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return err(new UserError('subscribe/bad-url', 'Feed URLs must start with http:// or https://.'));
    }
    const configured = options.configuredFeeds.find((u) => sameUrl(u, wanted));
    if (configured) return ok(await feeds.ensure(configured, clock.now()));
    if (!options.allowAnyFeed) {
      return err(new UserError('subscribe/feed-not-allowed', `Only the configured feeds can be subscribed here: ${options.configuredFeeds.map(redactUrl).join(', ')}.`));
    }
    const existing = known.find((f) => sameUrl(f.url, wanted));
    if (existing) return withinFeedCap(tenant, existing);
    if (wanted.includes('***')) {
      return err(new UserError('subscribe/redacted-url', 'That URL has its secrets hidden (`***`), the way Inkwire shows feed URLs. Give the feed\'s full URL, or its name.'));
    }
    if (!tenant) return err(new UserError('subscribe/no-server', 'Feeds can be added from a server\'s or workspace\'s channel only.'));
    const ownerKey = carriesCredentials(url.toString()) ? tenantKey(tenant) : '';
    if (ownerKey === '') {
      // A public feed another server already added: one shared row, fetched once for everyone.
      const shared = await feeds.get(url.toString(), '');
      if (shared) return withinFeedCap(tenant, shared);
    }
    const room = await roomForFeed(tenant, null);
    if (!room.ok) return room;
    const probe = await options.probeFeed(url.toString());
    if (!probe.ok) return probe;
    return ok(await feeds.ensure(url.toString(), clock.now(), { addedBy: tenantKey(tenant), ownerKey }));
  }

  /**
   * The per-server cap on feeds added from chat (`MAX_FEEDS_PER_SERVER`): the feeds not configured by the
   * operator that this server's channels subscribe to. `feed` (null: a new one) has room if already followed.
   */
  async function roomForFeed(tenant: Tenant | null, feed: FeedRecord | null): Promise<Result<true, UserError>> {
    if (feed && (feed.addedBy === null || options.configuredFeeds.includes(feed.url))) return ok(true);
    if (!tenant) return err(new UserError('subscribe/no-server', 'Feeds can be added from a server\'s or workspace\'s channel only.'));
    const subscribed = new Set((await subscriptions.listForWorkspace(tenant.platform, tenant.workspaceId)).map((s) => s.feedId));
    if (feed && subscribed.has(feed.id)) return ok(true);
    if (feedsPerWorkspace === 0) {
      return err(new UserError('subscribe/feeds-off', `Adding feeds from chat is turned off on this bot (MAX_FEEDS_PER_SERVER is 0). The configured feeds can be subscribed: ${options.configuredFeeds.map(redactUrl).join(', ') || 'none'}.`));
    }
    const followed = (await feeds.listVisible(tenant)).filter((f) => f.addedBy !== null && !options.configuredFeeds.includes(f.url) && subscribed.has(f.id));
    if (followed.length >= feedsPerWorkspace) {
      return err(new UserError('subscribe/feed-cap', `This server already follows ${followed.length} feeds added from chat, the most allowed (MAX_FEEDS_PER_SERVER is ${feedsPerWorkspace}): ${followed.map(feedName).join(', ')}. To add another, first remove one of them from every channel here with \`/unsubscribe feed:<name>\` (\`/subscriptions\` lists where).`));
    }
    return ok(true);
  }

  async function withinFeedCap(tenant: Tenant | null, feed: FeedRecord): Promise<Result<FeedRecord, UserError>> {
    const room = await roomForFeed(tenant, feed);
    return room.ok ? ok(feed) : room;
  }

  return {
    async subscribe(
      place: Place,
      invoker: Invoker,
      request: SubscribeRequest,
    ): Promise<Result<{ subscription: Subscription; created: boolean; released?: { held: number; summarised: number }; changed?: string[] }, UserError>> {
      if (place.isDirect) return err(new UserError('subscribe/in-dm', 'Subscribe a channel from inside that channel. For posts in your direct messages, use `/alerts`.'));
      // `none` clears keywords (every post) or the role ping when editing a subscription.
      const clearKeywords = /^\s*none\s*$/i.test(request.keywords ?? '');
      const clearMention = /^\s*none\s*$/i.test(request.mention ?? '');
      const keywords = parseKeywords(clearKeywords ? '' : request.keywords ?? '');
      if (!keywords.ok) return keywords;
      let mentionId: string | null = null;
      if (request.mention?.trim() && !clearMention) {
        const mention = parseMention(place.platform, request.mention);
        if (!mention.ok) return mention;
        const allowed = await mayMention(invoker, mention.value);
        if (!allowed.ok) return allowed;
        mentionId = mention.value;
      }
      const feed = await resolveFeed(request.feed, place);
      if (!feed.ok) return feed;
      const inChannel = await subscriptions.listForChannel(place.platform, place.channelId);
      const existing = inChannel.find((s) => s.feedId === feed.value.id);
      if (existing) {
        // Already subscribed: keep whatever the command does not give (`none` clears keywords or the role).
        const next = {
          keywords: clearKeywords ? [] : request.keywords?.trim() ? keywords.value : existing.keywords,
          mode: request.mode ?? existing.mode,
          mentionId: clearMention ? null : request.mention?.trim() ? mentionId : existing.mentionId,
          thread: request.thread ?? existing.thread,
        };
        if (existing.pausedAt) {
          // Resuming: the held posts follow, long-held ones as one summary.
          await subscriptions.update(existing.id, next);
          const now = clock.now();
          const released = await options.deliveries.releaseHeld(existing.id, {
            at: now,
            summariseBefore: new Date(now.getTime() - (options.heldSummaryAfterMs ?? 24 * 3600 * 1000)),
          });
          await subscriptions.resume(existing.id);
          if (released.held + released.summarised > 0) options.onQueued?.();
          return ok({ subscription: (await subscriptions.get(existing.id))!, created: false, released });
        }
        const changed = describeChanges(existing, next);
        if (changed.length === 0) {
          return err(new UserError('subscribe/unchanged', `This channel is already subscribed to ${feedName(feed.value)} with those settings. Give \`keywords:\`, \`mode:\`, \`mention:\` or \`thread:\` to change it (\`none\` clears keywords or the role), or \`/unsubscribe\`.`));
        }
        await subscriptions.update(existing.id, next);
        return ok({ subscription: (await subscriptions.get(existing.id))!, created: false, changed });
      }
      if (inChannel.length >= limits.perChannel) {
        return err(new UserError('subscribe/channel-limit', `A channel can have at most ${limits.perChannel} subscriptions; this one has ${inChannel.length}.`));
      }
      if (place.workspaceId && (await subscriptions.countForWorkspace(place.platform, place.workspaceId)) >= limits.perWorkspace) {
        return err(new UserError('subscribe/workspace-limit', `This server already has the maximum of ${limits.perWorkspace} subscriptions.`));
      }
      const created = await subscriptions.create({
        kind: 'channel',
        platform: place.platform,
        workspaceId: place.workspaceId,
        channelId: place.channelId,
        feedId: feed.value.id,
        keywords: keywords.value,
        mode: request.mode ?? 'instant',
        mentionId,
        thread: request.thread ?? false,
        createdBy: invoker.userId,
        createdAt: clock.now(),
      });
      if (!created) return err(new UserError('subscribe/duplicate', `This channel is already subscribed to ${feedName(feed.value)}.`));
      return ok({ subscription: created, created: true });
    },

    async unsubscribe(place: Place, feedInput: string | undefined): Promise<Result<Subscription[], UserError>> {
      const inChannel = await subscriptions.listForChannel(place.platform, place.channelId);
      if (inChannel.length === 0) return err(new UserError('unsubscribe/none', 'This channel has no subscriptions.'));
      let chosen = inChannel;
      const wanted = feedInput?.trim();
      if (wanted && wanted.toLowerCase() !== 'all') {
        // Exactly the feed named (its URL or its whole title), never every feed whose title contains the text.
        const exact = inChannel.filter((s) => (s.feedUrl && sameUrl(s.feedUrl, wanted)) || s.feedTitle?.toLowerCase() === wanted.toLowerCase());
        const partial = inChannel.filter((s) => s.feedTitle?.toLowerCase().includes(wanted.toLowerCase()));
        chosen = exact.length > 0 ? exact : partial.length === 1 ? partial : [];
        if (chosen.length === 0 && partial.length > 1) {
          return err(new UserError('unsubscribe/ambiguous-feed', `"${redactUrlsIn(wanted).slice(0, 100)}" matches several feeds here: ${partial.map(describeSubscriptionFeed).join(', ')}. Give the whole name or the URL.`));
        }
        if (chosen.length === 0) return err(new UserError('unsubscribe/unknown-feed', `This channel is not subscribed to "${redactUrlsIn(wanted).slice(0, 100)}". It has: ${inChannel.map(describeSubscriptionFeed).join(', ')}.`));
      } else if (!wanted && inChannel.length > 1) {
        return err(new UserError('unsubscribe/which', `This channel has ${inChannel.length} subscriptions: ${inChannel.map(describeSubscriptionFeed).join(', ')}. Say which with \`feed:\`, or \`feed:all\`.`));
      }
      await subscriptions.delete(chosen.map((s) => s.id));
      return ok(chosen);
    },

    async listForPlace(place: Place): Promise<Subscription[]> {
      return place.workspaceId
        ? subscriptions.listForWorkspace(place.platform, place.workspaceId)
        : subscriptions.listForChannel(place.platform, place.channelId);
    },

    async channelFeeds(place: Place): Promise<Subscription[]> {
      return subscriptions.listForChannel(place.platform, place.channelId);
    },

    async addAlert(place: Place, invoker: Invoker, keywordText: string): Promise<Result<Subscription, UserError>> {
      const keywords = parseKeywords(keywordText);
      if (!keywords.ok) return keywords;
      if (keywords.value.length === 0) return err(new UserError('alerts/no-keywords', 'Say what to watch for, e.g. `/alerts add keywords:"diffusion, RLHF"`.'));
      const mine = await subscriptions.listAlerts(place.platform, invoker.userId);
      if (mine.length >= limits.alertsPerUser) {
        return err(new UserError('alerts/limit', `You can have at most ${limits.alertsPerUser} alerts. Remove one with \`/alerts remove\`.`));
      }
      const created = await subscriptions.create({
        kind: 'alert',
        platform: place.platform,
        workspaceId: place.workspaceId,
        channelId: invoker.userId,
        feedId: null,
        keywords: keywords.value,
        mode: 'instant',
        mentionId: null,
        createdBy: invoker.userId,
        createdAt: clock.now(),
      });
      if (!created) return err(new UserError('alerts/duplicate', 'You already have an alert for exactly those keywords.'));
      return ok(created);
    },

    async removeAlerts(place: Place, invoker: Invoker, keywordText: string | undefined): Promise<Result<number, UserError>> {
      const mine = await subscriptions.listAlerts(place.platform, invoker.userId);
      if (mine.length === 0) return err(new UserError('alerts/none', 'You have no alerts.'));
      let chosen = mine;
      if (!keywordText?.trim() && mine.length > 1) {
        // Removing every alert takes a word: `all`.
        return err(new UserError('alerts/which', `You have ${mine.length} alerts: ${mine.map((a) => a.keywords.join(', ')).join(' · ')}. Say which with its keywords, or \`/alerts remove all\`.`));
      }
      if (keywordText?.trim() && keywordText.trim().toLowerCase() !== 'all') {
        const keywords = parseKeywords(keywordText);
        if (!keywords.ok) return keywords;
        chosen = mine.filter((a) => keywords.value.every((k) => a.keywords.includes(k)));
        if (chosen.length === 0) return err(new UserError('alerts/unknown', 'None of your alerts has those keywords. `/alerts list` shows them.'));
      }
      return ok(await subscriptions.delete(chosen.map((a) => a.id)));
    },

    async listAlerts(place: Place, invoker: Invoker): Promise<Subscription[]> {
      return subscriptions.listAlerts(place.platform, invoker.userId);
    },

    /** "Post the latest now?" — queues the feed's newest post for this subscription only. */
    async postLatestNow(subscriptionId: number, place: Place): Promise<Result<string, UserError>> {
      const subscription = await subscriptions.get(subscriptionId);
      if (!subscription || subscription.kind !== 'channel' || subscription.channelId !== place.channelId || subscription.platform !== place.platform) {
        return err(new UserError('subscribe/stale-button', 'That button no longer matches a subscription in this channel.'));
      }
      // The newest post this subscription would have received: its keywords apply here too.
      const recent = await options.posts.latest({ limit: 50, feedId: subscription.feedId! });
      if (recent.length === 0) return err(new UserError('subscribe/no-posts-yet', 'This feed has no posts stored yet; new ones will arrive here automatically.'));
      const latest = recent.find((post) => createKeywordMatcher(post).matches(subscription.keywords));
      if (!latest) return err(new UserError('subscribe/no-matching-posts', 'None of the recent posts matches this subscription\'s keywords; matching ones will arrive here automatically.'));
      const queued = await options.deliveries.enqueuePost(subscription.id, latest.id, clock.now());
      options.onQueued?.();
      return ok(queued === null ? `“${latest.title}” was already posted here.` : `Posting “${latest.title}” now.`);
    },

    async takeNotices(place: Place): Promise<string[]> {
      if (!place.workspaceId) return [];
      return subscriptions.takeNotices(place.platform, place.workspaceId, clock.now());
    },
  };
}

/**
 * A subscription pings its role with the bot's rights, which can exceed the manager's: so a role may be
 * set only if anyone may mention it, or the manager may mention any role (Discord: Mention Everyone).
 */
async function mayMention(invoker: Invoker, id: string): Promise<Result<true, UserError>> {
  if (!invoker.mentions || (await invoker.mentions.canMentionAnyRole())) return ok(true);
  const mentionable = await invoker.mentions.isMentionable(id);
  if (mentionable === null) return err(new UserError('mention/unknown', 'That role or group does not exist here.'));
  if (!mentionable) {
    return err(new UserError('mention/not-allowed', 'You cannot ping that role yourself (it is not mentionable and you lack Mention Everyone), so Inkwire will not ping it for you.'));
  }
  return ok(true);
}

/** What an in-place edit changes, in words for the reply. */
function describeChanges(before: Subscription, after: { keywords: readonly string[]; mode: DeliveryMode; mentionId: string | null; thread: boolean }): string[] {
  const sameWords = (a: readonly string[], b: readonly string[]) => [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
  const changed: string[] = [];
  if (!sameWords(after.keywords, before.keywords)) changed.push(after.keywords.length > 0 ? `keywords now ${after.keywords.join(', ')}` : 'keywords removed: every post');
  if (after.mode !== before.mode) changed.push(`mode now ${after.mode}`);
  if (after.mentionId !== before.mentionId) changed.push(after.mentionId ? 'a new role to notify' : 'no role notified');
  if (after.thread !== before.thread) changed.push(after.thread ? 'a discussion thread under each card' : 'no discussion threads');
  return changed;
}

function isUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

/** The same feed URL, also when `b` is the redacted form Inkwire showed (autocomplete values, replies). */
function sameUrl(a: string, b: string): boolean {
  const bare = (u: string) => u.replace(/\/+$/, '').toLowerCase();
  return bare(a) === bare(b) || bare(redactUrl(a)) === bare(b);
}

export function feedName(feed: Pick<FeedRecord, 'title' | 'url'>): string {
  return feed.title ?? redactUrl(feed.url);
}

function describeFeeds(feeds: readonly FeedRecord[]): string {
  return feeds.length === 0 ? 'none yet' : feeds.map(feedName).join(', ');
}

export function describeSubscriptionFeed(subscription: Subscription): string {
  return subscription.feedTitle ?? (subscription.feedUrl ? redactUrl(subscription.feedUrl) : 'every feed');
}

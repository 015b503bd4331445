import type { HttpValidators } from '../feeds/feed-fetcher.ts';
import type { Tenant } from '../feeds/feed-visibility.ts';

/** A watched feed and its health, as stored. */
export interface FeedRecord {
  id: number;
  url: string;
  title: string | null;
  siteUrl: string | null;
  isSubstack: boolean;
  validators: HttpValidators;
  /** False until the first successful poll stored the feed's existing items as already seen. */
  bootstrapped: boolean;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastErrorAt: Date | null;
  lastError: string | null;
  lastErrorCode: string | null;
  consecutiveFailures: number;
  nextPollAt: Date | null;
  createdAt: Date;
  postCount: number;
  /** Channel subscriptions to this feed, on any platform. */
  subscriptionCount: number;
  /** When an archive backfill last finished without failures; null if never. */
  backfillCompletedAt: Date | null;
  backfillError: string | null;
  /** Who added the feed from chat (null for configured feeds); such feeds are fetched only from public addresses. */
  addedBy: string | null;
  /**
   * Whose row this is (ADR 005): '' for a shared feed (configured, or added without credentials, fetched
   * once for everyone), the tenant's key (`platform:workspaceId`) for a URL with credentials, which each
   * tenant that adds it has alone. A feed is known by (url, ownerKey).
   */
  ownerKey: string;
  /**
   * Items the latest poll could not store (each skipped, the rest of the poll stored), and the first reason;
   * 0 and null when every item was stored. A failure of the whole ingest is a poll failure (`lastError`).
   */
  ingestSkipped: number;
  ingestError: string | null;
  ingestErrorAt: Date | null;
}

export interface FeedFailure {
  at: Date;
  code: string;
  message: string;
  nextPollAt: Date;
}

/** The port for feed state: health, validators and schedule survive restarts. */
export interface FeedStore {
  /** Returns the feed with this URL and owner (default '': shared), creating it on first sight. */
  ensure(url: string, at: Date, options?: { addedBy?: string; ownerKey?: string }): Promise<FeedRecord>;
  /** The feed with this URL and owner (default '': the shared row). */
  get(url: string, ownerKey?: string): Promise<FeedRecord | null>;
  /** Every feed, whoever added it: for the operator (CLI, polling), never for a chat reply. */
  list(): Promise<FeedRecord[]>;
  /**
   * The feeds a tenant may see (`feed-visibility.ts`): configured ones (added by nobody), the ones it
   * added, and the ones a channel of it subscribes to; configured ones only for no tenant (a DM).
   */
  listVisible(tenant: Tenant | null): Promise<FeedRecord[]>;
  /** A 304: the feed is healthy and unchanged. */
  recordNotModified(feedId: number, at: Date, nextPollAt: Date): Promise<void>;
  recordFailure(feedId: number, failure: FeedFailure): Promise<void>;
  /** How many items the latest poll had to skip and why (`skipped: 0, message: null` clears it). */
  recordIngestSkips(feedId: number, skips: { at: Date; skipped: number; message: string | null }): Promise<void>;
  /** The outcome of an archive backfill: completed (with its time) or the reason it stopped. */
  recordBackfill(feedId: number, outcome: { completedAt: Date | null; error: string | null }): Promise<void>;
  /**
   * Takes the right to poll a feed now, for `leaseMs`: refused while another instance holds it, or when the
   * feed was polled at or after `notPolledSince` (another instance already polled it on this tick). With
   * several instances on one database, this is what makes one poll per feed per tick.
   */
  claimPoll(feedId: number, claim: { owner: string; now: Date; leaseMs: number; notPolledSince: Date }): Promise<boolean>;
  /** Gives the poll right back (after the poll's outcome is stored). */
  releasePoll(feedId: number, owner: string): Promise<void>;
}

import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { FeedStore } from '../storage/feed-store.ts';
import type { PostStore } from '../storage/post-store.ts';
import type { Invoker, Place } from '../platform/invocation.ts';
import type { Reply } from './reply.ts';
import type { SearchService } from '../search/search-service.ts';
import type { SubscriptionService } from '../delivery/subscription-service.ts';
import type { UserError } from '../errors.ts';
import type { Result } from '../result.ts';
import type { CommandRateLimiter } from './command-rate-limit.ts';

export type { Invoker, Place };

export type OptionType = 'string' | 'integer' | 'boolean' | 'channel';

/** The kinds of channel a `channel` option may name: where Inkwire can post. */
export type ChannelKind = 'text' | 'announcement' | 'forum';

export interface OptionSpec {
  name: string;
  description: string;
  type: OptionType;
  required?: boolean;
  /** For strings. */
  minLength?: number;
  maxLength?: number;
  /** For `channel` options: the kinds a platform's channel picker offers (Discord `channel_types`). */
  channelTypes?: readonly ChannelKind[];
  /** For integers. */
  min?: number;
  max?: number;
  choices?: ReadonlyArray<{ name: string; value: string | number }>;
  autocomplete?: boolean;
  /** Free text typed after the command without `name:` goes to this option (one per command). */
  rest?: boolean;
  /**
   * For a `rest` option with choices: its value is the first word typed, and the words after it go to this
   * option (`/alerts add mamba` → action `add`, keywords `mamba`).
   */
  thenRestTo?: string;
  /** `word:` prefixes that belong to this option's text rather than naming an option (search's `author:`). */
  syntax?: readonly string[];
  /** A quoted value keeps its quotes, so the handler can tell a "phrase" from words (keywords). */
  keepQuotes?: boolean;
}

export type OptionValue = string | number | boolean;
export type CommandArgs = Readonly<Record<string, OptionValue | undefined>>;

/** Who may run a command: anyone, or people with the platform's "manage" permission. */
export type Permission = 'everyone' | 'manage';

/** What command handlers may use: the core's ports, never a platform client. */
export interface CommandServices {
  posts: PostStore;
  feeds: FeedStore;
  search: SearchService;
  subscriptions: SubscriptionService;
  clock: Clock;
  logger: Logger;
  feedUrls: readonly string[];
  /** Every registered command, for help. */
  commands: () => readonly CommandSpec[];
  /** Per-member and per-server command rates, checked by the runner; absent: no limits (tools, some tests). */
  rateLimiter?: CommandRateLimiter;
}

export interface CommandContext {
  invoker: Invoker;
  place: Place;
  services: CommandServices;
  /** How this platform names a command (Slack adds a prefix and renames help); default `/name`. */
  commandLabel?: (name: string) => string;
  /**
   * Set when the command acts on another channel than the one it was typed in (`place` is then that
   * channel): a `channel:` option named it, or it was typed in a thread and acts on the thread's parent.
   */
  target?: CommandTarget;
  /**
   * How this platform resolves a `channel:` option's value to a channel the invoker may or may not manage;
   * absent where commands cannot name another channel (the console: `/in #other` moves there instead).
   */
  resolveChannel?: (value: string, option: OptionSpec) => Promise<Result<ResolvedChannel, UserError>>;
  /** Commands only this adapter has (the console's `/as`, `/in`, `/press`), listed by `/help`. */
  platformCommands?: ReadonlyArray<{ usage: string; description: string }>;
}

/** One slash command, written once; adapters register and render it natively. */
export interface CommandSpec {
  name: string;
  description: string;
  options: readonly OptionSpec[];
  permission: Permission;
  /** May take longer than ~2 s: adapters defer the reply first. */
  slow?: boolean;
  /** Heavy work per call (a full-text search): counted against the stricter per-member rate too, its buttons as well. */
  expensive?: boolean;
  handle(context: CommandContext, args: CommandArgs): Promise<Reply>;
  /** Suggestions for an option marked `autocomplete` (at most 25, each at most 100 characters). */
  autocomplete?(context: CommandContext, option: string, partial: string): Promise<AutocompleteChoice[]>;
  /**
   * Buttons this command puts under its replies come back here: `action` ids are `<prefix>:<payload>`.
   * The handler validates the payload (ids can be forged) and checks permissions itself.
   */
  actions?: { prefix: string; handle(context: CommandContext, payload: string): Promise<Reply> };
}

/** A channel a `channel:` option named, as the platform resolved it for the invoker. */
export interface ResolvedChannel {
  channelId: string;
  /** Its name without `#`, when known (Discord renders a reference to the id anyway). */
  name: string | null;
  kind: ChannelKind | null;
  /** The platform's manage permission of the invoker in THAT channel. */
  canManage: boolean;
}

/** What a command acts on when it is not the channel it was typed in, and why. */
export interface CommandTarget {
  reason: 'named' | 'thread-parent';
  channelId: string;
  name: string | null;
  kind: ChannelKind | null;
}

export interface AutocompleteChoice {
  label: string;
  value: string;
}

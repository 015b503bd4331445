import type { ChannelKind, CommandTarget, ResolvedChannel } from '../../src/commands/command-spec.ts';
import { UserError } from '../../src/errors.ts';
import { err, ok, type Result } from '../../src/result.ts';

/** The parts of a channel an interaction carries (its own `channel`, or one in `data.resolved.channels`). */
export interface InteractionChannel {
  id: string;
  type: number;
  name?: string | null;
  parent_id?: string | null;
  /** The invoking member's permissions in this channel (a decimal bit field). */
  permissions?: string;
}

/** The raw parts of an interaction that say where a command acts. */
export interface InteractionPlace {
  channel?: InteractionChannel;
  resolvedChannels?: Readonly<Record<string, InteractionChannel>>;
}

const KINDS: Readonly<Record<number, ChannelKind>> = { 0: 'text', 5: 'announcement', 15: 'forum' };
/** Announcement, public and private threads. */
const THREAD_TYPES = new Set([10, 11, 12]);
const ADMINISTRATOR = 1n << 3n;
const MANAGE_CHANNELS = 1n << 4n;

/** Discord's channel type as a kind Inkwire posts in, or null (voice, category, thread …). */
export function channelKind(type: number | null | undefined): ChannelKind | null {
  return type === null || type === undefined ? null : (KINDS[type] ?? null);
}

/** Manage Channels (or Administrator) in a permissions bit field. */
export function canManageWith(permissions: string | undefined): boolean {
  if (!permissions || !/^\d{1,40}$/.test(permissions)) return false;
  const bits = BigInt(permissions);
  return (bits & ADMINISTRATOR) !== 0n || (bits & MANAGE_CHANNELS) !== 0n;
}

/**
 * A command typed inside a thread (a forum post, or a thread under a card) acts on the thread's parent: a
 * thread is not somewhere to subscribe, and a forum can only be reached from one of its posts. Null when
 * the command was typed in a channel itself.
 */
export function threadParentTarget(channel: InteractionChannel | undefined, parentKind: (parentId: string) => ChannelKind | null): CommandTarget | null {
  if (!channel || !THREAD_TYPES.has(channel.type) || !channel.parent_id) return null;
  return { reason: 'thread-parent', channelId: channel.parent_id, name: null, kind: parentKind(channel.parent_id) };
}

/**
 * A `channel:` option's value resolved from the interaction itself: Discord sends the picked channel in
 * `data.resolved.channels` with the member's permissions there, so no request is needed. Only kinds the
 * option allows (Discord's picker already limits them; a crafted request is refused here).
 */
export function resolveChannelOption(place: InteractionPlace, value: string, allowed: readonly ChannelKind[]): Result<ResolvedChannel, UserError> {
  const channel = place.resolvedChannels?.[value];
  if (!channel) return err(new UserError('command/unknown-channel', 'Pick the channel from the list Discord offers for `channel:`.'));
  const kind = channelKind(channel.type);
  if (!kind || !allowed.includes(kind)) {
    return err(new UserError('command/channel-kind', `Inkwire can only post in ${allowed.map((k) => (k === 'announcement' ? 'announcement channels' : k === 'forum' ? 'forums' : 'text channels')).join(', ')}.`));
  }
  return ok({ channelId: channel.id, name: channel.name ?? null, kind, canManage: canManageWith(channel.permissions) });
}

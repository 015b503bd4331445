import { describe, expect, it } from 'vitest';
import { canManageWith, resolveChannelOption, threadParentTarget } from '../../adapters/discord/discord-command-target.ts';
import { snowflakeTime } from '../../adapters/discord/discord-delivery.ts';
import { parseChannelReference } from '../../src/commands/command-options.ts';

describe('naming a channel in a command', () => {
  it('GIVEN what chat text carries THEN Slack links, Discord references and bare ids name a channel; #name only a name', () => {
    expect(parseChannelReference('<#C0123ABCD|paper-forum>')).toEqual({ id: 'C0123ABCD', name: 'paper-forum' });
    expect(parseChannelReference('<#C0123ABCD>')).toEqual({ id: 'C0123ABCD', name: null });
    expect(parseChannelReference('<#112233445566778899>')).toEqual({ id: '112233445566778899', name: null });
    expect(parseChannelReference('C0123ABCD')).toEqual({ id: 'C0123ABCD', name: null });
    expect(parseChannelReference('#lab')).toEqual({ id: null, name: 'lab' });
    for (const junk of ['', 'lab', '<#>', '<@U123456>', '#', 'https://example.com']) expect(parseChannelReference(junk), junk).toBeNull();
  });

  it('GIVEN a command typed in a thread THEN it acts on the thread\'s parent; typed in a channel, on that channel', () => {
    const forum = '112233445566778899';
    expect(threadParentTarget({ id: '1', type: 11, parent_id: forum }, () => 'forum')).toEqual({ reason: 'thread-parent', channelId: forum, name: null, kind: 'forum' });
    expect(threadParentTarget({ id: '1', type: 0 }, () => 'forum')).toBeNull();
    expect(threadParentTarget(undefined, () => 'forum')).toBeNull();
  });

  it('GIVEN a picked channel THEN the member\'s permissions THERE decide; kinds Inkwire cannot post in are refused', () => {
    const place = { resolvedChannels: { '5': { id: '5', type: 15, name: 'forum', permissions: String(1n << 4n) }, '6': { id: '6', type: 2, name: 'voice', permissions: String(1n << 3n) }, '7': { id: '7', type: 0, name: 'text', permissions: '0' } } };
    expect(resolveChannelOption(place, '5', ['text', 'forum'])).toEqual({ ok: true, value: { channelId: '5', name: 'forum', kind: 'forum', canManage: true } });
    expect(resolveChannelOption(place, '7', ['text'])).toMatchObject({ ok: true, value: { canManage: false } });
    expect(resolveChannelOption(place, '6', ['text', 'forum']).ok).toBe(false);
    expect(resolveChannelOption(place, '8', ['text']).ok).toBe(false);
    expect(canManageWith(String(1n << 3n))).toBe(true); // Administrator
    expect(canManageWith('not a number')).toBe(false);
  });

  it('GIVEN a snowflake THEN its time is Discord\'s creation time (what the forum-post look-up compares)', () => {
    const at = Date.UTC(2026, 0, 1);
    expect(snowflakeTime(String(BigInt(at - 1420070400000) << 22n))).toBe(at);
  });
});

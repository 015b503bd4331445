import { describe, expect, it } from 'vitest';
import { splitCommandText, validateCommandArgs } from '../../src/commands/command-options.ts';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { textReply } from '../../src/commands/reply.ts';

const spec: CommandSpec = {
  name: 'subscribe',
  description: 'test',
  permission: 'manage',
  options: [
    { name: 'feed', description: 'feed', type: 'string', maxLength: 20, rest: true },
    { name: 'keywords', description: 'k', type: 'string', maxLength: 30 },
    { name: 'mode', description: 'm', type: 'string', choices: [{ name: 'instant', value: 'instant' }, { name: 'daily', value: 'daily' }] },
    { name: 'count', description: 'c', type: 'integer', min: 1, max: 10 },
    { name: 'share', description: 's', type: 'boolean' },
  ],
  handle: async () => textReply('private', 'ok'),
};

describe('splitCommandText', () => {
  it('GIVEN named options with quotes and free text THEN splits them the way Discord would send them', () => {
    const split = splitCommandText(spec, 'keywords:"diffusion, RLHF" mode:daily the daily ink');
    expect(split).toEqual({ ok: true, value: { keywords: 'diffusion, RLHF', mode: 'daily', feed: 'the daily ink' } });
  });

  it('GIVEN typographic quotes THEN treats them like straight quotes', () => {
    const split = splitCommandText(spec, 'keywords:“mixture of experts”');
    expect(split.ok && split.value.keywords).toBe('mixture of experts');
  });

  it('GIVEN a name that is not an option THEN it stays part of the free text', () => {
    const split = splitCommandText(spec, 'author:somani attention');
    expect(split.ok && split.value.feed).toBe('author:somani attention');
  });

  it('GIVEN an option twice THEN refuses with a clear message', () => {
    const split = splitCommandText(spec, 'mode:daily mode:instant');
    expect(split.ok).toBe(false);
    if (!split.ok) expect(split.error.message).toMatch(/given twice/);
  });
});

describe('validateCommandArgs', () => {
  it.each([
    [{ count: 'seven' }, /`count` must be a whole number/],
    [{ count: '11' }, /`count` must be at most 10/],
    [{ count: '0' }, /`count` must be at least 1/],
    [{ mode: 'hourly' }, /`mode` must be one of instant, daily/],
    [{ keywords: 'x'.repeat(31) }, /`keywords` must be at most 30 characters/],
    [{ share: 'maybe' }, /`share` must be true or false/],
    [{ colour: 'red' }, /unknown option `colour`/i],
  ])('GIVEN %j THEN explains what is wrong', (raw, message) => {
    const result = validateCommandArgs(spec, raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toMatch(message);
      expect(result.error.message).toContain('Usage: /subscribe');
    }
  });

  it('GIVEN good values THEN converts types', () => {
    expect(validateCommandArgs(spec, { count: '3', share: 'yes', mode: 'daily' })).toEqual({
      ok: true,
      value: { count: 3, share: true, mode: 'daily' },
    });
  });

  it('GIVEN control characters in text THEN they are removed', () => {
    const result = validateCommandArgs(spec, { keywords: 'a\u0000b\u001bc' });
    expect(result.ok && result.value.keywords).toBe('abc');
  });
});

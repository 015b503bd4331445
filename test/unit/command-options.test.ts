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

  it('GIVEN a name that is neither an option nor the text\'s own syntax THEN an error names it; syntax, URLs and "word: text" stay text', () => {
    const split = splitCommandText(spec, 'author:somani attention');
    expect(!split.ok && split.error.message).toMatch(/^`\/subscribe` has no option `author`\. Usage: \/subscribe/);
    const search: CommandSpec = { ...spec, options: [{ name: 'query', description: 'q', type: 'string', rest: true, syntax: ['author'] }, { name: 'limit', description: 'l', type: 'integer' }] };
    expect(splitCommandText(search, 'author:somani attention')).toEqual({ ok: true, value: { query: 'author:somani attention' } });
    expect(splitCommandText(search, 'transformers: a survey')).toEqual({ ok: true, value: { query: 'transformers: a survey' } });
    expect(splitCommandText(spec, 'https://example.com/feed')).toEqual({ ok: true, value: { feed: 'https://example.com/feed' } });
    expect(!splitCommandText(search, 'dropout bogus:1').ok).toBe(true);
  });

  it('GIVEN a rest option already given and more text THEN says what was unexpected (not "given twice")', () => {
    const latest: CommandSpec = { ...spec, name: 'latest', options: [{ name: 'count', description: 'c', type: 'integer', rest: true }] };
    const split = splitCommandText(latest, 'count:2 extra');
    expect(!split.ok && split.error.message).toMatch(/^`\/latest` did not expect “extra” there/);
  });

  it('GIVEN a choice followed by words (`/alerts add "KV cache"`) THEN the first word is the choice and the rest, quotes kept, the next option', () => {
    const alerts: CommandSpec = { ...spec, name: 'alerts', options: [
      { name: 'action', description: 'a', type: 'string', choices: [{ name: 'add', value: 'add' }], rest: true, thenRestTo: 'keywords' },
      { name: 'keywords', description: 'k', type: 'string', keepQuotes: true },
    ] };
    expect(splitCommandText(alerts, 'add mamba')).toEqual({ ok: true, value: { action: 'add', keywords: 'mamba' } });
    expect(splitCommandText(alerts, 'add "KV cache"')).toEqual({ ok: true, value: { action: 'add', keywords: '"KV cache"' } });
    expect(splitCommandText(alerts, 'add keywords:"KV cache"')).toEqual({ ok: true, value: { action: 'add', keywords: '"KV cache"' } });
  });

  it.each([
    ['«diffusion»', 'diffusion'],
    ['„Mixture of Experts“', 'Mixture of Experts'],
    ['„Mixture of Experts”', 'Mixture of Experts'],
    ['“KV cache”', 'KV cache'],
    ['‘KV cache’', 'KV cache'],
    ["'KV cache'", 'KV cache'],
    ['"KV cache"', 'KV cache'],
    ['»diffusion«', 'diffusion'],
  ])('GIVEN keywords:%s mode:daily THEN the quote pair closes the value and mode is its own option', (quoted, keywords) => {
    expect(splitCommandText(spec, `keywords:${quoted} mode:daily`)).toEqual({ ok: true, value: { keywords, mode: 'daily' } });
  });

  it('GIVEN an apostrophe inside single quotes THEN it does not close them', () => {
    expect(splitCommandText(spec, "keywords:'don't stop' mode:daily")).toEqual({ ok: true, value: { keywords: "don't stop", mode: 'daily' } });
    expect(splitCommandText(spec, 'keywords:‘Bengio’s view’ mode:daily')).toEqual({ ok: true, value: { keywords: 'Bengio’s view', mode: 'daily' } });
  });

  it('GIVEN a double quote never closed THEN a clear error names it, instead of swallowing the options after it', () => {
    const split = splitCommandText(spec, 'keywords:«diffusion mode:daily');
    expect(split.ok).toBe(false);
    if (!split.ok) {
      expect(split.error.identifier).toBe('command/unclosed-quote');
      expect(split.error.message).toMatch(/^The quote « before “diffusion mode:daily” is never closed \(close it with »\)\. Usage: \/subscribe/);
    }
  });

  it('GIVEN a single quote never closed THEN it reads as an apostrophe', () => {
    expect(splitCommandText(spec, "keywords:'90s mode:daily")).toEqual({ ok: true, value: { keywords: "'90s", mode: 'daily' } });
    expect(splitCommandText(spec, "the '90s feed")).toEqual({ ok: true, value: { feed: "the '90s feed" } });
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

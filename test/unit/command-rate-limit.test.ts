import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createCommandRateLimiter, parseRate, slowDownMessage, type CommandRates } from '../../src/commands/command-rate-limit.ts';

const RATES: CommandRates = {
  member: { count: 20, windowMs: 10_000 },
  search: { count: 5, windowMs: 10_000 },
  server: { count: 60, windowMs: 10_000 },
  autocomplete: { count: 50, windowMs: 10_000 },
};

const who = (userId: string, workspaceId: string | null = 'guild-a', platform: 'discord' | 'slack' | 'console' = 'discord') => ({
  invoker: { userId },
  place: { platform, workspaceId },
});

function limiter(rates: Partial<CommandRates> = {}, maxBuckets?: number) {
  const clock = createManualClock(new Date('2026-01-01T00:00:00Z'));
  return { clock, limiter: createCommandRateLimiter({ rates: { ...RATES, ...rates }, clock, ...(maxBuckets ? { maxBuckets } : {}) }) };
}

describe('the command rate limiter (token buckets on an injected clock)', () => {
  it('GIVEN 5 searches per 10 s THEN the 6th at the same instant is refused, naming the 2 s until one token is back', () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 5; i++) expect(l.take(who('ann'), 'expensive')).toEqual({ allowed: true });
    expect(l.take(who('ann'), 'expensive')).toEqual({ allowed: false, retryAfterMs: 2000, scope: 'member' });
  });

  it('GIVEN a refused search THEN one token comes back every window/count: allowed again exactly at the retry time, not before', () => {
    const { limiter: l, clock } = limiter();
    for (let i = 0; i < 5; i++) l.take(who('ann'), 'expensive');
    clock.advance(1999);
    const early = l.take(who('ann'), 'expensive');
    expect(early).toEqual({ allowed: false, retryAfterMs: 1, scope: 'member' });
    clock.advance(1);
    expect(l.take(who('ann'), 'expensive').allowed).toBe(true);
    expect(l.take(who('ann'), 'expensive').allowed).toBe(false);
    clock.advance(10_000);
    for (let i = 0; i < 5; i++) expect(l.take(who('ann'), 'expensive').allowed).toBe(true); // full again, never above
    expect(l.take(who('ann'), 'expensive').allowed).toBe(false);
  });

  it('GIVEN a refusal THEN nothing was counted: the member\'s other commands and the server keep their allowance', () => {
    const { limiter: l } = limiter({ member: { count: 6, windowMs: 10_000 } });
    for (let i = 0; i < 5; i++) l.take(who('ann'), 'expensive');
    for (let i = 0; i < 10; i++) expect(l.take(who('ann'), 'expensive').allowed).toBe(false);
    expect(l.take(who('ann'), 'command')).toEqual({ allowed: true }); // the 6th of the member rate, not used up by refusals
    expect(l.take(who('ann'), 'command')).toMatchObject({ allowed: false, scope: 'member' });
  });

  it('GIVEN one member over the limit THEN another member, the same member elsewhere on another platform, and another server are unaffected', () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 5; i++) l.take(who('ann'), 'expensive');
    expect(l.take(who('ann'), 'expensive').allowed).toBe(false);
    expect(l.take(who('ann', 'guild-b'), 'expensive').allowed).toBe(false); // a member is one person in every server
    expect(l.take(who('bob'), 'expensive').allowed).toBe(true);
    expect(l.take(who('ann', 'T1', 'slack'), 'expensive').allowed).toBe(true); // another platform's user id is another person
    expect(l.take(who('cat', 'guild-b'), 'expensive').allowed).toBe(true);
  });

  it('GIVEN many members in one server THEN the server rate refuses the server\'s 61st command in the window, and other servers go on', () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 60; i++) expect(l.take(who(`m${i}`), 'command').allowed).toBe(true);
    expect(l.take(who('m60'), 'command')).toEqual({ allowed: false, retryAfterMs: Math.ceil(10_000 / 60), scope: 'server' });
    expect(l.take(who('m60', 'guild-b'), 'command').allowed).toBe(true);
  });

  it('GIVEN direct messages (no server) THEN they count per member only', () => {
    const { limiter: l } = limiter({ server: { count: 1, windowMs: 10_000 } });
    for (let i = 0; i < 20; i++) expect(l.take(who('ann', null), 'command').allowed).toBe(true);
    expect(l.take(who('ann', null), 'command')).toMatchObject({ allowed: false, scope: 'member' });
    expect(l.take(who('bob', null), 'command').allowed).toBe(true);
  });

  it('GIVEN autocomplete keystrokes THEN they have their own allowance and never use up the member\'s commands', () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 50; i++) expect(l.take(who('ann'), 'autocomplete').allowed).toBe(true);
    expect(l.take(who('ann'), 'autocomplete').allowed).toBe(false);
    for (let i = 0; i < 5; i++) expect(l.take(who('ann'), 'expensive').allowed).toBe(true);
  });

  it('GIVEN a rate turned off THEN that allowance is never checked; the console is always exempt', () => {
    const { limiter: l } = limiter({ search: null, member: null, server: null });
    for (let i = 0; i < 500; i++) expect(l.take(who('ann'), 'expensive').allowed).toBe(true);
    const strict = limiter({ member: { count: 1, windowMs: 10_000 } }).limiter;
    for (let i = 0; i < 500; i++) expect(strict.take(who('operator', 'console', 'console'), 'expensive').allowed).toBe(true);
    expect(strict.size()).toBe(0);
  });

  it('GIVEN 60 000 members in 5 000 servers who each ran one command THEN the cap bounds the map, and idle buckets are dropped once a window has passed', () => {
    const { limiter: l, clock } = limiter({}, 20_000);
    let most = 0;
    for (let i = 0; i < 60_000; i++) {
      l.take(who(`member-${i}`, `guild-${i % 5000}`), i % 3 === 0 ? 'expensive' : 'command');
      most = Math.max(most, l.size());
      if (i % 1000 === 0) clock.advance(1); // all within one window (60 ms)
    }
    expect(most).toBe(20_000); // without the cap: 5 000 servers + 60 000 members + 20 000 search buckets
    expect(l.size()).toBeGreaterThanOrEqual(18_000);
    clock.advance(10_000);
    l.take(who('late'), 'command');
    expect(l.size()).toBe(2); // the late member's bucket and its server's
  });

  it('GIVEN a hard cap THEN the earliest-made buckets go first (and start over full), and the map never holds more', () => {
    const { limiter: l } = limiter({ search: { count: 1, windowMs: 10_000 } }, 10);
    l.take(who('ann', null), 'expensive'); // 2 buckets: ann's member and search
    expect(l.take(who('ann', null), 'expensive').allowed).toBe(false);
    for (let i = 0; i < 20; i++) {
      l.take(who(`m${i}`, null), 'command');
      expect(l.size()).toBeLessThanOrEqual(10);
    }
    expect(l.take(who('ann', null), 'expensive').allowed).toBe(true); // evicted: forgotten, so allowed (the price of a cap)
  });
});

describe('parseRate (the COMMAND_RATE_* settings)', () => {
  it('GIVEN count/window text THEN reads it; off turns a rate off', () => {
    expect(parseRate('5/10s')).toEqual({ ok: true, value: { count: 5, windowMs: 10_000 } });
    expect(parseRate(' 30 / 1m ')).toEqual({ ok: true, value: { count: 30, windowMs: 60_000 } });
    expect(parseRate('30/m')).toEqual({ ok: true, value: { count: 30, windowMs: 60_000 } });
    expect(parseRate('100/1H')).toEqual({ ok: true, value: { count: 100, windowMs: 3_600_000 } });
    expect(parseRate('off')).toEqual({ ok: true, value: null });
  });

  it('GIVEN nonsense or out-of-range values THEN says what a rate looks like', () => {
    expect(parseRate('fast')).toEqual({ ok: false, error: expect.stringMatching(/such as 5\/10s/) });
    expect(parseRate('5 per 10s')).toMatchObject({ ok: false });
    expect(parseRate('5/10')).toMatchObject({ ok: false });
    expect(parseRate('0/10s')).toEqual({ ok: false, error: expect.stringMatching(/count must be from 1/) });
    expect(parseRate('5/0s')).toEqual({ ok: false, error: expect.stringMatching(/window must be from 1s to 1h/) });
    expect(parseRate('5/2h')).toEqual({ ok: false, error: expect.stringMatching(/window must be from 1s to 1h/) });
  });
});

describe('slowDownMessage', () => {
  it('GIVEN a refusal THEN names the whole seconds to wait, at least 1, and whose allowance ran out', () => {
    expect(slowDownMessage({ retryAfterMs: 3001, scope: 'member' })).toBe("You're going a bit fast — try again in 4 s.");
    expect(slowDownMessage({ retryAfterMs: 1, scope: 'member' })).toBe("You're going a bit fast — try again in 1 s.");
    expect(slowDownMessage({ retryAfterMs: 167, scope: 'server' })).toMatch(/this server .* try again in 1 s\.$/);
  });
});

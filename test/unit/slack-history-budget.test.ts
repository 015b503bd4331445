import { describe, expect, it } from 'vitest';
import { createHistoryBudget } from '../../adapters/slack/slack-history-budget.ts';

describe('the Slack history budget of a workspace', () => {
  it('GIVEN the limited tier (1 a minute) THEN look-ups take turns in the order they asked, a minute apart, and other workspaces are not held up', () => {
    let t = 0;
    const budget = createHistoryBudget({ perWindow: 1, windowMs: 60_000, now: () => t });
    expect(budget.take('T1', 'a')).toBe(0);
    budget.answered('T1');
    expect(budget.take('T1', 'b')).toBe(60_000);
    expect(budget.take('T1', 'c')).toBe(120_000);
    expect(budget.take('T2', 'x')).toBe(0); // another workspace has its own minute
    t = 60_000;
    expect(budget.take('T1', 'c')).toBeGreaterThan(0); // not c's turn: b is first in line
    expect(budget.take('T1', 'b')).toBe(0);
    budget.answered('T1');
    t = 120_000;
    expect(budget.take('T1', 'c')).toBe(0);
  });

  it('GIVEN a 429 with Retry-After THEN no call goes before it has passed, in full', () => {
    let t = 0;
    const budget = createHistoryBudget({ perWindow: 50, windowMs: 60_000, now: () => t });
    expect(budget.take('T1', 'a')).toBe(0);
    budget.blocked('T1', 90_000);
    expect(budget.take('T1', 'b')).toBe(90_000);
    t = 89_999;
    expect(budget.take('T1', 'b')).toBe(1);
    t = 90_000;
    expect(budget.take('T1', 'b')).toBe(0);
  });

  it('GIVEN a call still unanswered after a whole window THEN the next waits for its answer (Slack counts a call when it arrives), then a window from it', () => {
    let t = 0;
    const budget = createHistoryBudget({ perWindow: 1, windowMs: 60_000, now: () => t });
    expect(budget.take('T1', 'a')).toBe(0);
    t = 70_000; // a's answer has not come: it may have reached Slack just now
    expect(budget.take('T1', 'b')).toBeGreaterThan(0);
    t = 75_000;
    budget.answered('T1');
    expect(budget.take('T1', 'b')).toBe(60_000);
    t = 135_000;
    expect(budget.take('T1', 'b')).toBe(0);
  });

  it('GIVEN tier 3 (50 a minute) THEN 50 go at once and the 51st waits for the first to leave the minute', () => {
    let t = 0;
    const budget = createHistoryBudget({ perWindow: 50, windowMs: 60_000, now: () => t });
    for (let i = 0; i < 50; i++) expect(budget.take('T1', `k${i}`)).toBe(0);
    t = 1000;
    expect(budget.take('T1', 'k50')).toBe(59_000);
  });
});

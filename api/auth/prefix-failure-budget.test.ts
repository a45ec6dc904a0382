import { describe, expect, it } from 'vitest';
import { PrefixFailureBudget } from './prefix-failure-budget.js';

function budgetAt(clock: { now: number }, maxPrefixes?: number) {
  return new PrefixFailureBudget({ limit: 3, windowMs: 60_000, cooldownMs: 30_000, maxPrefixes, now: () => clock.now });
}

describe('PrefixFailureBudget', () => {
  it('admits attempts up to the limit, then locks the prefix for the cool-down', () => {
    const clock = { now: 0 };
    const budget = budgetAt(clock);
    expect([budget.admit('abcd1234'), budget.admit('abcd1234'), budget.admit('abcd1234')]).toEqual([0, 0, 0]);
    expect(budget.admit('abcd1234')).toBe(30_000);
    expect(budget.lockedFor('abcd1234')).toBe(30_000);
    clock.now = 10_000;
    expect(budget.admit('abcd1234')).toBe(20_000);
    expect(budget.lockedPrefixes).toBe(1);
    // Another prefix has a budget of its own.
    expect(budget.admit('zzzz9999')).toBe(0);
  });

  it('counts attempts still running: a burst sent at once is admitted only up to the limit', () => {
    const budget = budgetAt({ now: 0 });
    const answers = Array.from({ length: 50 }, () => budget.admit('abcd1234'));
    expect(answers.filter((lockedMs) => lockedMs === 0)).toHaveLength(3);
  });

  it('after the cool-down, admits a full budget again and locks again once it is spent', () => {
    const clock = { now: 0 };
    const budget = budgetAt(clock);
    for (let i = 0; i < 4; i++) budget.admit('abcd1234');
    clock.now = 30_000;
    expect(budget.lockedFor('abcd1234')).toBe(0);
    expect([budget.admit('abcd1234'), budget.admit('abcd1234'), budget.admit('abcd1234'), budget.admit('abcd1234')]).toEqual([0, 0, 0, 30_000]);
  });

  it('does not count an attempt that proved the key, and forgets attempts once their window has passed', () => {
    const clock = { now: 0 };
    const budget = budgetAt(clock);
    for (let i = 0; i < 10; i++) {
      expect(budget.admit('abcd1234')).toBe(0);
      budget.proved('abcd1234');
    }
    budget.admit('abcd1234');
    budget.admit('abcd1234');
    clock.now = 60_000;
    expect([budget.admit('abcd1234'), budget.admit('abcd1234'), budget.admit('abcd1234')]).toEqual([0, 0, 0]);
  });

  it('holds at most maxPrefixes, dropping the least recently tried', () => {
    const budget = budgetAt({ now: 0 }, 2);
    for (let i = 0; i < 4; i++) budget.admit('locked00');
    budget.admit('other001');
    budget.admit('other002');
    expect(budget.lockedFor('locked00')).toBe(0);
    expect(budget.lockedFor('other001') + budget.lockedFor('other002')).toBe(0);
  });
});

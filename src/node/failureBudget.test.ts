import { describe, expect, it } from 'vitest';
import { BAD_SIGNATURE_WINDOW_MS, BAD_SIGNATURES_PER_WINDOW, FailureBudget } from './failureBudget.ts';

describe('the budget of failed signature checks per client', () => {
  it('refuses a client from its 100th failure to the end of its window, then checks it again', () => {
    let now = 1_000_000;
    const budget = new FailureBudget(() => now);
    budget.charge('a', BAD_SIGNATURES_PER_WINDOW - 1);
    expect(budget.waitMs('a')).toBe(0);
    now += 4_000;
    budget.charge('a', 1);
    expect(budget.waitMs('a')).toBe(BAD_SIGNATURE_WINDOW_MS - 4_000);
    expect(budget.waitMs('b')).toBe(0);
    now += BAD_SIGNATURE_WINDOW_MS - 4_000;
    expect(budget.waitMs('a')).toBe(0);
    // A new window starts with the next failure.
    budget.charge('a', 1);
    expect(budget.waitMs('a')).toBe(0);
    budget.charge('a', BAD_SIGNATURES_PER_WINDOW);
    expect(budget.waitMs('a')).toBe(BAD_SIGNATURE_WINDOW_MS);
  });

  it('keeps a bounded number of clients: an attacker with many addresses cannot grow it without end', () => {
    const now = 5;
    const budget = new FailureBudget(() => now);
    budget.charge('first', BAD_SIGNATURES_PER_WINDOW);
    for (let i = 0; i < 10_000; i++) budget.charge(`10.0.${i >> 8}.${i & 255}`, 1);
    // The oldest record went to make room.
    expect(budget.waitMs('first')).toBe(0);
    budget.charge('last', BAD_SIGNATURES_PER_WINDOW);
    expect(budget.waitMs('last')).toBe(BAD_SIGNATURE_WINDOW_MS);
  });
});

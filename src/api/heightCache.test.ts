import { describe, expect, it } from 'vitest';
import { HeightCache } from './heightCache.ts';

// The per-height cache of whole-collection answers, and each client's budget of computing time for
// the answers it is the first to ask (a clock the test moves; each computation "takes" 400 ms, and the budget refills meanwhile too).

function cacheWithClock() {
  let now = 0;
  const cache = new HeightCache({ budget: { burstMs: 500, msPerSecond: 250 }, now: () => now });
  const slow = (answer: string) => () => {
    now += 400;
    return answer;
  };
  return { cache, slow, later: (ms: number) => (now += ms) };
}

describe('HeightCache', () => {
  it('computes an answer once per height and key', () => {
    const { cache } = cacheWithClock();
    let n = 0;
    const count = () => ++n;
    expect([cache.get(1, 'a', count, 'x'), cache.get(1, 'a', count, 'y'), cache.get(1, 'b', count, 'x')]).toEqual([1, 1, 2]);
    expect(cache.get(2, 'a', count, 'x')).toBe(3);
    expect([cache.computed, cache.hits]).toEqual([3, 1]);
  });

  it('charges a client for its uncached answers: once spent, it is refused until refilled; cached answers and other clients are not', () => {
    const { cache, slow, later } = cacheWithClock();
    expect(cache.get(1, 'q1', slow('one'), 'x')).toBe('one'); // 500 → 100 left
    expect(cache.get(1, 'q2', slow('two'), 'x')).toBe('two'); // + 100 refilled → 200 → -200
    // + 100 refilled → -100: refused, with the wait.
    expect(() => cache.get(1, 'q3', slow('three'), 'x')).toThrow(expect.objectContaining({ status: 429, code: 'TOO_MANY_SCANS' }));
    expect(() => cache.get(1, 'q3', slow('three'), 'x')).toThrow(/ask again in 1 s/);
    // What is cached costs nothing, whoever asks; another client has its own budget.
    expect(cache.get(1, 'q1', slow('never'), 'x')).toBe('one');
    expect(cache.get(1, 'q3', slow('three'), 'y')).toBe('three');
    expect(cache.refused).toBe(2);
    // A second later: 250 ms back, -100 + 250 = 150 > 0: served again (refusals refill nothing, and cost nothing).
    later(1000);
    expect(cache.get(1, 'q4', slow('four'), 'x')).toBe('four');
    // Refilled only up to the burst.
    later(60_000);
    expect(cache.get(2, 'q5', slow('five'), 'x')).toBe('five'); // 500 → 100
    expect(cache.get(2, 'q6', slow('six'), 'x')).toBe('six'); // + 100 → -200
    expect(() => cache.get(2, 'q7', slow('seven'), 'x')).toThrow(/TOO_MANY_SCANS|spent/);
  });
});

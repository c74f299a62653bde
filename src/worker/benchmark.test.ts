import { describe, expect, it } from 'vitest';
import { BENCHMARK_MIB, REFERENCE_MIB_PER_S, runBenchmark, scoreOf } from './benchmark.ts';

describe('worker benchmark', () => {
  it('maps single-core SHA-256 throughput onto the chain 0..1000 scale', () => {
    expect(scoreOf(REFERENCE_MIB_PER_S)).toBe(1000);
    expect(scoreOf(REFERENCE_MIB_PER_S * 4)).toBe(1000);
    expect(scoreOf(REFERENCE_MIB_PER_S / 2)).toBe(500);
    expect(scoreOf(0)).toBe(1);
  });

  it('does the same work on every run (same digest) when the time limit is not reached', () => {
    // A clock that stands still: a loaded test machine must not stop one run earlier than the other.
    const still = (): number => 0;
    const a = runBenchmark(BENCHMARK_MIB, still);
    const b = runBenchmark(BENCHMARK_MIB, still);
    expect(a.mib).toBe(BENCHMARK_MIB);
    expect(a.digest).toBe(b.digest);
    const real = runBenchmark();
    expect(real.score).toBeGreaterThanOrEqual(1);
    expect(real.score).toBeLessThanOrEqual(1000);
    expect(real.score).toBe(scoreOf(real.mibPerSecond));
  });

  it('stops at the time limit on a slow machine and scores what it did', () => {
    // A clock that advances 100 ms per reading: 16 MiB take 100 ms, so the 2 s limit stops it early.
    let t = 0;
    const r = runBenchmark(BENCHMARK_MIB, () => (t += 100));
    expect(r.mib).toBeLessThan(BENCHMARK_MIB);
    expect(r.score).toBe(scoreOf(Math.round((r.mib * 1000) / r.ms)));
  });
});

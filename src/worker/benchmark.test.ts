import { describe, expect, it } from 'vitest';
import { BENCHMARK_MIB, REFERENCE_MIB_PER_S, runBenchmark, scoreOf } from './benchmark.ts';

describe('worker benchmark', () => {
  it('maps single-core SHA-256 throughput onto the chain 0..1000 scale', () => {
    expect(scoreOf(REFERENCE_MIB_PER_S)).toBe(1000);
    expect(scoreOf(REFERENCE_MIB_PER_S * 4)).toBe(1000);
    expect(scoreOf(REFERENCE_MIB_PER_S / 2)).toBe(500);
    expect(scoreOf(0)).toBe(1);
  });

  it('does the same work on every run (same digest) within the 2 s budget', () => {
    const a = runBenchmark();
    const b = runBenchmark();
    expect(a.mib).toBe(BENCHMARK_MIB);
    expect(a.digest).toBe(b.digest);
    expect(a.ms).toBeLessThan(2500);
    expect(a.score).toBeGreaterThanOrEqual(1);
    expect(a.score).toBeLessThanOrEqual(1000);
    expect(a.score).toBe(scoreOf(a.mibPerSecond));
  });

  it('stops at the time limit on a slow machine and scores what it did', () => {
    // A clock that advances 100 ms per reading: 16 MiB take 100 ms, so the 2 s limit stops it early.
    let t = 0;
    const r = runBenchmark(BENCHMARK_MIB, () => (t += 100));
    expect(r.mib).toBeLessThan(BENCHMARK_MIB);
    expect(r.score).toBe(scoreOf((r.mib * 1000) / r.ms));
  });
});

import { describe, expect, it } from 'vitest';
import { Meter } from './meter.ts';

const GIB = 1024 ** 3;

describe('Meter', () => {
  it('reports whole units whose periods add up to the rounded-down totals', () => {
    const m = new Meter(0);
    m.add({ cpuNanos: 1_600_000_000n, memoryBytes: GIB / 2 }, 1000);
    const p1 = m.period(1000);
    m.add({ cpuNanos: 2_700_000_000n, memoryBytes: GIB / 2 }, 2000);
    m.add({ cpuNanos: 3_100_000_000n, memoryBytes: GIB }, 3000);
    const p2 = m.period(3500);
    expect(p1).toEqual({ cpuSeconds: 1n, memoryGiBSeconds: 0n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1000n });
    // cpu 3.1 s in all, memory 0.5 + 0.5 + 1 = 2 GiB·s in all.
    expect(p2).toEqual({ cpuSeconds: 2n, memoryGiBSeconds: 2n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 2500n });
  });

  it('keeps the last cpu total when a stopped container gives no sample', () => {
    const m = new Meter(0);
    m.add({ cpuNanos: 5_000_000_000n, memoryBytes: 0 }, 1000);
    m.add(undefined, 2000);
    expect(m.period(2000).cpuSeconds).toBe(5n);
    expect(m.period(2100)).toMatchObject({ cpuSeconds: 0n, wallMs: 100n });
  });

  it('taken up again after a restart, reports only what the chain has not recorded', () => {
    const m = new Meter(0, { cpuSeconds: 4n, memoryGiBSeconds: 3n });
    // The engine's counter runs from the container's start: 4.9 s of which 4 were reported.
    m.add({ cpuNanos: 4_900_000_000n, memoryBytes: 0 }, 1000);
    expect(m.period(1000)).toMatchObject({ cpuSeconds: 0n, memoryGiBSeconds: 0n });
    m.add({ cpuNanos: 6_200_000_000n, memoryBytes: GIB }, 2000);
    expect(m.period(2000)).toMatchObject({ cpuSeconds: 2n, memoryGiBSeconds: 1n, wallMs: 1000n });
  });
});

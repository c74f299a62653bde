import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NEMESES, parseNemeses, planSchedule, type ScheduleOptions } from './schedule.ts';

const base: ScheduleOptions = { seed: 7, durationMs: 30 * 60_000, nemeses: NEMESES, bookkeepers: 4, workers: 2 };

describe('the fault schedule', () => {
  it('is the same for the same seed, and another for another seed', () => {
    expect(planSchedule(base)).toEqual(planSchedule({ ...base }));
    expect(JSON.stringify(planSchedule({ ...base, seed: 8 }))).not.toBe(JSON.stringify(planSchedule(base)));
    // Every nemesis of a long run comes up.
    expect(new Set(planSchedule(base).map((f) => f.nemesis))).toEqual(new Set(NEMESES));
  });

  it('keeps faults one at a time, inside the run, on nodes that exist, from the nemeses asked for', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 20 }),
        fc.subarray([...NEMESES], { minLength: 1 }),
        fc.integer({ min: 4, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        (seed, minutes, nemeses, bookkeepers, workers) => {
          const plan = planSchedule({ seed, durationMs: minutes * 60_000, nemeses, bookkeepers, workers });
          let free = 0;
          for (const f of plan) {
            expect(nemeses).toContain(f.nemesis);
            expect(f.at).toBeGreaterThanOrEqual(free);
            expect(f.at + f.holdMs).toBeLessThanOrEqual(minutes * 60_000);
            free = f.at + f.holdMs;
            const nodes = JSON.stringify(f.fault).match(/\d+/g)?.map(Number) ?? [];
            if (f.fault.kind === 'kill-worker') expect(f.fault.worker).toBeLessThan(workers);
            else if (f.fault.kind === 'clock') expect(Math.abs(f.fault.offsetMs)).toBe(30_000);
            else if (f.fault.kind === 'bandwidth') expect(f.fault.node).toBeLessThan(bookkeepers);
            else for (const x of nodes) expect(x).toBeLessThan(bookkeepers);
            if (f.fault.kind === 'partition-halves') expect([...f.fault.sides[0], ...f.fault.sides[1]].sort()).toEqual([...Array(bookkeepers).keys()]);
            if (f.fault.kind === 'partition-bridge') expect([...f.fault.sides[0], ...f.fault.sides[1]]).not.toContain(f.fault.bridge);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('names the nemeses it knows when --nemesis has another', () => {
    expect(parseNemeses('partition, kill,partition')).toEqual(['partition', 'kill']);
    expect(() => parseNemeses('partition,flood')).toThrow(/unknown "flood"; one of partition, pause, kill, clock, disk, bandwidth/);
    expect(() => parseNemeses(' , ')).toThrow(/name at least one/);
  });
});

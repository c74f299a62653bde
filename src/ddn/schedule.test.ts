import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRequests, type PlanSource } from './schedule.ts';

const peer = (id: number, holds: number[], spare = 2, usable = true): PlanSource => ({ id, origin: false, usable, spare, holds: (p) => holds.includes(p) });
const origin = (id: number, spare = 4, usable = true): PlanSource => ({ id, origin: true, usable, spare, holds: () => true });
const fixed = (): number => 0.5;

describe('scheduling', () => {
  it('asks for the rarest pieces first', () => {
    // Piece 3 is held by one peer, 1 by two, 0 and 2 by three.
    const sources = [peer(0, [0, 1, 2, 3], 1), peer(1, [0, 1, 2], 1), peer(2, [0, 2], 1)];
    const plan = planRequests([0, 1, 2, 3], sources, 2, fixed);
    expect(plan.map((r) => r.piece)).toEqual([3, 1]);
    expect(plan[0].source).toBe(0);
    expect(plan[1].source).toBe(1);
  });

  it('asks the origin only for pieces no usable peer holds', () => {
    const sources = [peer(0, [0, 1]), peer(1, [2], 2, false), origin(9)];
    const plan = planRequests([0, 1, 2, 3], sources, 8, fixed);
    expect(
      plan
        .filter((r) => r.source === 9)
        .map((r) => r.piece)
        .sort(),
    ).toEqual([2, 3]);
    expect(
      plan
        .filter((r) => r.source === 0)
        .map((r) => r.piece)
        .sort(),
    ).toEqual([0, 1]);
  });

  it('waits for a busy holder rather than load the origin', () => {
    const plan = planRequests([0], [peer(0, [0], 0), origin(9)], 8, fixed);
    expect(plan).toEqual([]);
  });

  it('never exceeds a source cap or the budget, never asks one piece twice, never asks a peer for what it lacks', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 40 }),
        fc.array(fc.record({ holds: fc.array(fc.nat({ max: 40 })), spare: fc.nat({ max: 4 }), usable: fc.boolean() }), { maxLength: 6 }),
        fc.option(fc.record({ spare: fc.nat({ max: 4 }), usable: fc.boolean() })),
        fc.nat({ max: 20 }),
        (needed, peers, o, budget) => {
          const sources = peers.map((p, i) => peer(i, p.holds, p.spare, p.usable));
          if (o) sources.push(origin(100, o.spare, o.usable));
          const plan = planRequests(needed, sources, budget);
          expect(plan.length).toBeLessThanOrEqual(budget);
          expect(new Set(plan.map((r) => r.piece)).size).toBe(plan.length);
          for (const s of sources) {
            const mine = plan.filter((r) => r.source === s.id);
            expect(mine.length).toBeLessThanOrEqual(s.usable ? s.spare : 0);
            for (const r of mine) {
              expect(needed).toContain(r.piece);
              if (!s.origin) expect(s.holds(r.piece)).toBe(true);
              // The origin gets only what no usable peer holds.
              else expect(sources.some((p) => !p.origin && p.usable && p.holds(r.piece))).toBe(false);
            }
          }
        },
      ),
    );
  });
});

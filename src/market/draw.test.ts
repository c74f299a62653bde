import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drawSeed, drawVerifiers, verifierWeight, type DrawCandidate } from './draw.ts';

// The verifier draw: the same seed and candidates give the same workers on every node, in any
// order; only candidates are drawn, never twice; and each is drawn about as often as its weight says.

const worker = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const candidates = fc.uniqueArray(fc.record({ worker, weight: fc.bigInt({ min: 0n, max: 10n ** 15n }) }), { selector: (c) => c.worker, maxLength: 12 });
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('the verifier draw', () => {
  it("is deterministic and independent of the candidates' order", () => {
    fc.assert(
      fc.property(seed, candidates, fc.integer({ min: 0, max: 5 }), (s, cs, k) => {
        const a = drawVerifiers(s, cs, k);
        expect(drawVerifiers(s, [...cs].reverse(), k)).toEqual(a);
        expect(
          drawVerifiers(
            Uint8Array.from(s),
            cs.map((c) => ({ ...c })),
            k,
          ),
        ).toEqual(a);
      }),
    );
  });

  it('draws only weighted candidates, each at most once, as many as asked while any remain', () => {
    fc.assert(
      fc.property(seed, candidates, fc.integer({ min: 0, max: 15 }), (s, cs, k) => {
        const drawn = drawVerifiers(s, cs, k);
        const eligible = new Set(cs.filter((c) => c.weight > 0n).map((c) => c.worker));
        expect(new Set(drawn).size).toBe(drawn.length);
        for (const w of drawn) expect(eligible.has(w)).toBe(true);
        expect(drawn.length).toBe(Math.min(k, eligible.size));
      }),
    );
  });

  it('never draws an excluded worker: what the ledger leaves out of the candidates cannot be drawn whatever the seed', () => {
    fc.assert(
      fc.property(seed, candidates, fc.integer({ min: 1, max: 4 }), (s, cs, k) => {
        const excluded = new Set(cs.filter((_, i) => i % 2 === 0).map((c) => c.worker));
        const drawn = drawVerifiers(
          s,
          cs.filter((c) => !excluded.has(c.worker)),
          k,
        );
        for (const w of drawn) expect(excluded.has(w)).toBe(false);
      }),
    );
  });

  it('draws each worker about in proportion to its weight (bond × rating), whatever its price', () => {
    const cs: DrawCandidate[] = [
      { worker: 'aa', weight: verifierWeight(100n, 999) }, // 100 × 1000
      { worker: 'bb', weight: verifierWeight(200n, 999) }, // 200 × 1000
      { worker: 'cc', weight: verifierWeight(100n, 499) }, // 100 × 500
      { worker: 'dd', weight: verifierWeight(50n, 999) }, // 50 × 1000
    ];
    const total = 100_000 + 200_000 + 50_000 + 50_000;
    const n = 8000;
    const counts = new Map<string, number>();
    const block = new Uint8Array(32);
    for (let i = 0; i < n; i++) {
      new DataView(block.buffer).setUint32(0, i);
      const [w] = drawVerifiers(drawSeed(block, new Uint8Array(32), 0, 0), cs, 1);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    for (const c of cs) {
      const p = Number(c.weight) / total;
      const sd = Math.sqrt(n * p * (1 - p));
      // Five standard deviations: a correct draw fails this about once in 3 million runs.
      expect(Math.abs((counts.get(c.worker) ?? 0) - n * p)).toBeLessThan(5 * sd);
    }
  });

  it('a different block hash, task, lease or draw number gives a different seed', () => {
    const h = new Uint8Array(32);
    const t = new Uint8Array(32);
    const base = Buffer.from(drawSeed(h, t, 0, 0)).toString('hex');
    const other = [
      drawSeed(Uint8Array.from([1, ...h.slice(1)]), t, 0, 0),
      drawSeed(h, Uint8Array.from([1, ...t.slice(1)]), 0, 0),
      drawSeed(h, t, 1, 0),
      drawSeed(h, t, 0, 1),
    ];
    for (const o of other) expect(Buffer.from(o).toString('hex')).not.toBe(base);
  });
});

import { describe, expect, it } from 'vitest';
import { PieceSpread } from './serve.ts';

describe('the origin hands out pieces evenly (super-seeding)', () => {
  it('serves every piece once before any piece twice', () => {
    const s = new PieceSpread();
    const d = `sha256:${'a'.repeat(64)}`;
    expect(s.offer(d, 0, 3)).toBe(true);
    expect(s.offer(d, 0, 3)).toBe(false); // sent once; pieces 1 and 2 never
    expect(s.offer(d, 1, 3)).toBe(true);
    expect(s.offer(d, 1, 3)).toBe(false);
    expect(s.offer(d, 2, 3)).toBe(true);
    // Every piece went out once: a second round may start, again evenly.
    expect(s.offer(d, 1, 3)).toBe(true);
    expect(s.offer(d, 1, 3)).toBe(false);
    expect(s.offer(d, 0, 3)).toBe(true);
    // Another blob has its own counts.
    expect(s.offer(`sha256:${'b'.repeat(64)}`, 1, 2)).toBe(true);
  });
});

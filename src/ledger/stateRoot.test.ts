import { describe, expect, it } from 'vitest';
import { sha256Utf8, toHex } from '../crypto/portable.ts';
import type { Entry } from './entries.ts';
import { ChainState } from './state.ts';

// The state root is consensus: a node that computes it differently forks. This pins it down for a
// fixed history of heights (writes, rewrites, deletions, keys sharing buckets, non-ASCII keys),
// whatever the tree's code becomes. The expected roots were computed by the first implementation.
function history(): { writes: Map<string, Entry | null>; encoded: Map<string, Uint8Array> }[] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const keys = Array.from({ length: 3000 }, (_, i) => `k/${i}/${next(3) === 0 ? `é€${i}` : 'x'.repeat(next(40))}`);
  return Array.from({ length: 12 }, (_, h) => {
    const writes = new Map<string, Entry | null>();
    const encoded = new Map<string, Uint8Array>();
    for (let i = next(2000) + 1; i > 0; i--) {
      const key = keys[next(keys.length)];
      if (next(5) === 0) {
        writes.set(key, null);
        encoded.delete(key);
      } else {
        // Any bytes do: the tree commits to an entry's encoding, given here as `known`.
        writes.set(key, {} as Entry);
        encoded.set(key, sha256Utf8(`${h}/${key}/${i}`).subarray(0, 1 + next(32)));
      }
    }
    return { writes, encoded };
  });
}

describe('the state root', () => {
  it('is the same function of the state as it has always been', () => {
    const state = new ChainState(1);
    const roots: string[] = [];
    for (const { writes, encoded } of history()) {
      const staged = state.stage(writes, encoded);
      state.commit(staged);
      expect(toHex(state.root())).toBe(toHex(staged.root));
      roots.push(toHex(staged.root));
    }
    expect(new Set(roots).size).toBe(roots.length);
    expect([roots[0], roots[5], roots[11]]).toEqual(GOLDEN);
  });
});

const GOLDEN = [
  'c77feb3641491881aebb99ae73afaaa8f3d323106a77fe1bffd371d8f7cd0e8e',
  'f8225ce80218d6839d71de13f5e014d9462c335f59019777bf24509fa8670dc9',
  'edc5c38be0f8ec3f32e5cb9e2ec5eae557cd48951dd4aa67669a5fa23076b8ac',
];

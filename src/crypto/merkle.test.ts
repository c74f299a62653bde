import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, merkleProof, merkleRoot, verifyMerkleProof } from './merkle.ts';

// Hashing done here with node:crypto directly, independently of hash.ts.
const H = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const b = (...xs: number[]): Uint8Array => new Uint8Array(xs);

// Leaves of the Certificate Transparency reference test suite, and the published roots of
// the trees made of their first 1..8 elements.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('merkle: RFC 6962 known values', () => {
  it('empty tree root is sha256("")', () => {
    expect(hex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(EMPTY_ROOT)).toBe(H());
  });

  it('one leaf: sha256(0x00 || leaf)', () => {
    const leaf = b(1, 2, 3);
    expect(hex(merkleRoot([leaf]))).toBe(H(b(0), leaf));
    expect(hex(leafHash(leaf))).toBe(H(b(0), leaf));
    expect(hex(merkleRoot([new Uint8Array()]))).toBe(H(b(0)));
  });

  it('two leaves: sha256(0x01 || H0 || H1)', () => {
    const l0 = b(0xaa);
    const l1 = b(0xbb, 0xcc);
    expect(hex(merkleRoot([l0, l1]))).toBe(H(b(1), bytes(H(b(0), l0)), bytes(H(b(0), l1))));
  });

  it('three leaves split as (2, 1), five as (4, 1)', () => {
    const ls = [b(1), b(2), b(3), b(4), b(5)];
    const h = ls.map((l) => bytes(H(b(0), l)));
    const n = (x: Uint8Array, y: Uint8Array): Uint8Array => bytes(H(b(1), x, y));
    expect(hex(merkleRoot(ls.slice(0, 3)))).toBe(hex(n(n(h[0], h[1]), h[2])));
    expect(hex(merkleRoot(ls))).toBe(hex(n(n(n(h[0], h[1]), n(h[2], h[3])), h[4])));
  });

  it('matches the Certificate Transparency reference roots', () => {
    for (let n = 1; n <= 8; n++) {
      expect(hex(merkleRoot(CT_LEAVES.slice(0, n).map(bytes))), `size ${n}`).toBe(CT_ROOTS[n - 1]);
    }
  });

  it('proofs for out-of-range indices are refused', () => {
    expect(() => merkleProof([b(1)], 1)).toThrow();
    expect(() => merkleProof([b(1)], -1)).toThrow();
    expect(() => merkleProof([], 0)).toThrow();
    expect(verifyMerkleProof(b(1), 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyMerkleProof(b(1), 1, 1, [], leafHash(b(1)))).toBe(false);
    expect(verifyMerkleProof(b(1), -1, 1, [], leafHash(b(1)))).toBe(false);
  });
});

interface MerkleVector {
  leaves: string[];
  root: string;
  index?: number;
  proof?: string[];
}
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/merkle.json', import.meta.url), 'utf8')) as MerkleVector[];

describe('merkle: test vectors', () => {
  it('has vectors with proofs', () => {
    expect(vectors.filter((v) => v.proof !== undefined).length).toBeGreaterThanOrEqual(5);
  });
  for (const v of vectors) {
    it(`${v.leaves.length} leaves${v.index === undefined ? '' : `, proof for index ${v.index}`}`, () => {
      const leaves = v.leaves.map(bytes);
      expect(hex(merkleRoot(leaves))).toBe(v.root);
      if (v.index === undefined || v.proof === undefined) return;
      expect(merkleProof(leaves, v.index).map(hex)).toEqual(v.proof);
      expect(verifyMerkleProof(leaves[v.index], v.index, leaves.length, v.proof.map(bytes), bytes(v.root))).toBe(true);
    });
  }
});

describe('merkle: proof properties', () => {
  const leavesArb = fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 });

  it('every proof verifies, and fails for a different leaf, index, truncated or modified path', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (leaves, salt, pick, bit) => {
        const n = leaves.length;
        const root = merkleRoot(leaves);
        for (let i = 0; i < n; i++) {
          const path = merkleProof(leaves, i);
          expect(path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
          expect(verifyMerkleProof(leaves[i], i, n, path, root)).toBe(true);
          // a different leaf
          const other = new Uint8Array([...leaves[i], salt & 0xff]);
          expect(verifyMerkleProof(other, i, n, path, root)).toBe(false);
          // a wrong index (inside and outside the tree)
          if (n > 1) {
            const j = (i + 1 + (salt % (n - 1))) % n;
            expect(j).not.toBe(i);
            // the same leaf data may legitimately sit at index j too
            if (hex(leaves[j]) !== hex(leaves[i])) expect(verifyMerkleProof(leaves[i], j, n, path, root)).toBe(false);
          }
          expect(verifyMerkleProof(leaves[i], i + n, n, path, root)).toBe(false);
          expect(verifyMerkleProof(leaves[i], -1, n, path, root)).toBe(false);
          // a truncated, an extended path
          if (path.length > 0) {
            expect(verifyMerkleProof(leaves[i], i, n, path.slice(0, -1), root)).toBe(false);
            expect(verifyMerkleProof(leaves[i], i, n, path.slice(1), root)).toBe(false);
          }
          expect(verifyMerkleProof(leaves[i], i, n, [...path, root], root)).toBe(false);
          // a modified path element
          if (path.length > 0) {
            const k = pick % path.length;
            const bad = path.map((p) => p.slice());
            bad[k][bit % 32] ^= 1 << (bit % 8);
            expect(verifyMerkleProof(leaves[i], i, n, bad, root)).toBe(false);
          }
          // a modified root
          const badRoot = root.slice();
          badRoot[salt % 32] ^= 0x80;
          expect(verifyMerkleProof(leaves[i], i, n, path, badRoot)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('every size 1..70: every index verifies, and a modified path element fails', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => bytes(H(b(n, i))).subarray(0, (i % 5) + 1));
      const root = merkleRoot(leaves);
      for (let i = 0; i < n; i++) {
        const path = merkleProof(leaves, i);
        expect(verifyMerkleProof(leaves[i], i, n, path, root), `n=${n} i=${i}`).toBe(true);
        for (let k = 0; k < path.length; k++) {
          const bad = path.slice();
          bad[k] = bytes(H(path[k]));
          expect(verifyMerkleProof(leaves[i], i, n, bad, root)).toBe(false);
        }
      }
    }
  });

  it('every index is checked against an exhaustive wrong-index sweep for small trees', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 20, selector: hex }), (leaves) => {
        const n = leaves.length;
        const root = merkleRoot(leaves);
        for (let i = 0; i < n; i++) {
          const path = merkleProof(leaves, i);
          for (let j = 0; j < n; j++) expect(verifyMerkleProof(leaves[i], j, n, path, root)).toBe(i === j);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('the root depends on every leaf and on the order', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), (leaves, k) => {
        const root = hex(merkleRoot(leaves));
        const i = k % leaves.length;
        const changed = leaves.slice();
        changed[i] = new Uint8Array([...leaves[i], 1]);
        expect(hex(merkleRoot(changed))).not.toBe(root);
        expect(hex(merkleRoot([...leaves, new Uint8Array()]))).not.toBe(root);
      }),
      { numRuns: 200 },
    );
  });

  it("the root is RFC 6962's recursive definition, for any number and size of leaves", () => {
    // The definition itself (split at the largest power of two below n), hashed here independently.
    const mth = (ls: Uint8Array[]): string => {
      if (ls.length === 0) return H();
      if (ls.length === 1) return H(b(0), ls[0]);
      let k = 1;
      while (k * 2 < ls.length) k *= 2;
      return H(b(1), bytes(mth(ls.slice(0, k))), bytes(mth(ls.slice(k))));
    };
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 80 })), { maxLength: 300 }), (ls) => {
        expect(hex(merkleRoot(ls))).toBe(mth(ls));
      }),
      { numRuns: 150 },
    );
    // Larger than the work buffer it starts with, then small again (the buffer is reused).
    const many = Array.from({ length: 3000 }, (_, i) => b(i & 0xff, i >> 8));
    expect(hex(merkleRoot(many))).toBe(mth(many));
    expect(hex(merkleRoot(many.slice(0, 5)))).toBe(mth(many.slice(0, 5)));
  });
});

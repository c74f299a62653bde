import { bytesEqual, sha256, sha256Into } from './hash.ts';

// RFC 6962 (Certificate Transparency) Merkle trees: leaves and nodes carry distinct
// prefixes so a leaf can never be passed off as an inner node.
const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export const EMPTY_ROOT = sha256();

export const leafHash = (data: Uint8Array): Uint8Array => sha256(LEAF, data);
const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(NODE, l, r);

function split(n: number): number {
  let k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

/** Merkle tree hash over leaf *hashes* (already passed through leafHash). */
function rootOfLeafHashes(hashes: Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return hashes[lo];
  const k = split(n);
  return nodeHash(rootOfLeafHashes(hashes, lo, lo + k), rootOfLeafHashes(hashes, lo + k, hi));
}

// merkleRoot's work space: every digest of a level in one buffer, and the bytes hashed for one
// leaf or node. A block hashes two trees per chain (transactions, receipts), thousands of digests
// each; written in place, they are not thousands of short-lived arrays.
let level = new Uint8Array(32 * 1024);
let input = new Uint8Array(65);

export function merkleRoot(leaves: Uint8Array[]): Uint8Array {
  const n = leaves.length;
  if (n === 0) return EMPTY_ROOT;
  if (level.length < 32 * n) level = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i];
    if (input.length !== 1 + leaf.length) input = new Uint8Array(1 + leaf.length);
    input[0] = 0;
    input.set(leaf, 1);
    sha256Into(level, 32 * i, input);
  }
  if (input.length !== 65) input = new Uint8Array(65);
  input[0] = 1;
  // RFC 6962's tree (split at the largest power of two below n) is the one built level by level,
  // pairing neighbours and carrying an odd last node up unchanged.
  for (let m = n; m > 1; m = (m >> 1) + (m & 1)) {
    for (let i = 0; i < m >> 1; i++) {
      for (let j = 0; j < 64; j++) input[1 + j] = level[64 * i + j];
      sha256Into(level, 32 * i, input);
    }
    if (m & 1) level.copyWithin(32 * (m >> 1), 32 * (m - 1), 32 * m);
  }
  return level.slice(0, 32);
}

/** Audit path for leaf `index` (RFC 6962 §2.1.1), bottom-up. */
export function merkleProof(leaves: Uint8Array[], index: number): Uint8Array[] {
  if (index < 0 || index >= leaves.length) throw new Error('leaf index out of range');
  const hashes = leaves.map(leafHash);
  const path: Uint8Array[] = [];
  const walk = (lo: number, hi: number, m: number): void => {
    const n = hi - lo;
    if (n <= 1) return;
    const k = split(n);
    if (m < k) {
      walk(lo, lo + k, m);
      path.push(rootOfLeafHashes(hashes, lo + k, hi));
    } else {
      walk(lo + k, hi, m - k);
      path.push(rootOfLeafHashes(hashes, lo, lo + k));
    }
  };
  walk(0, hashes.length, index);
  return path;
}

/** Verifies an audit path (RFC 9162 §2.1.3.2 algorithm). */
export function verifyMerkleProof(leaf: Uint8Array, index: number, size: number, path: Uint8Array[], root: Uint8Array): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && bytesEqual(r, root);
}

import { fromHex } from './sdk.ts';

// Checks a transaction's inclusion proof in the browser (WebCrypto SHA-256), with the RFC 6962
// audit-path algorithm the ledger uses (src/crypto/merkle.ts): the page does not take the node's
// word for it.

export interface InclusionProof {
  leaf: string;
  index: number;
  size: number;
  path: string[];
  root: string;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const buf = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export async function verifyInclusion(p: InclusionProof): Promise<boolean> {
  if (p.index < 0 || p.index >= p.size) return false;
  let fn = p.index;
  let sn = p.size - 1;
  let r = await sha256(LEAF, fromHex(p.leaf));
  for (const hex of p.path) {
    const x = fromHex(hex);
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(NODE, x, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else r = await sha256(NODE, r, x);
    fn >>= 1;
    sn >>= 1;
  }
  const root = fromHex(p.root);
  return sn === 0 && r.length === root.length && r.every((b, i) => b === root[i]);
}

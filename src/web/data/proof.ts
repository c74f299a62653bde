import { fromHex, verifyMerkleProof, type InclusionProofAnswer } from './sdk.ts';

// Checks a transaction's inclusion proof in the browser: the page does not take the node's word
// for it.

/** Checks the audit path with the ledger's own RFC 6962 code (the SDK's, hashing in the page). */
export function verifyInclusion(p: InclusionProofAnswer): boolean {
  return verifyMerkleProof(fromHex(p.leaf), p.index, p.size, p.path.map(fromHex), fromHex(p.root));
}

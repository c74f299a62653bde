import { sha256, utf8 } from '../crypto/portable.ts';

// Commit and reveal of a result (docs/MARKET.md, "Fairness: commit and reveal"). A lease whose
// result is compared with other workers' (a redundancy group, a dispute's verifier seats) first
// commits to its digest — a hash bound to the task, the lease and the worker's address, salted —
// and reveals the digest and salt only once every seat of its group has committed or can no longer
// commit. Nobody can copy a digest that is not on the chain, and a copied commitment is useless:
// it names another lease and another worker, so no reveal by the copier can match it.

const DOMAIN = utf8('ZEUSNET/result-commit/v1\0');
/** Bytes of a reveal's salt: enough that a digest cannot be found from its commitment by trying candidates. */
export const SALT_BYTES = 32;

/**
 * sha256("ZEUSNET/result-commit/v1\0" ‖ task (32 bytes) ‖ lease (u32, big-endian) ‖ address length
 * (1 byte) ‖ worker address ‖ digest ("sha256:" and 64 hex digits, UTF-8) ‖ salt (32 bytes)).
 * Every part but the address has a fixed length, and the address carries its own, so the bytes
 * are unambiguous.
 */
export function resultCommitment(task: Uint8Array, lease: number, worker: Uint8Array, digest: string, salt: Uint8Array): Uint8Array {
  const index = new Uint8Array(4);
  new DataView(index.buffer).setUint32(0, lease);
  return sha256(DOMAIN, task, index, Uint8Array.of(worker.length), worker, utf8(digest), salt);
}

import { sha256, toHex, utf8 } from '../crypto/portable.ts';

// The chain's draw of the verifiers of a disputed result (docs/MARKET.md, "Fairness: disputes
// and verifiers"). Nobody bids for verification: a bid lets whoever wants to decide a dispute —
// a colluder of the disputer, typically — underbid everyone else for the seat. Instead the
// verifiers are drawn from the eligible workers with odds proportional to a weight that costs
// something to hold (bond) and to earn (rating), from a seed nobody in the dispute can choose.
// A pure function of its inputs: every node draws the same workers.

/** A worker that may verify, and its weight in the draw. */
export interface DrawCandidate {
  /** The worker's address (hex). */
  worker: string;
  /** Positive; its odds of each seat are weight / total weight of those not yet drawn. */
  weight: bigint;
}

/** A worker's weight in the draw: its bond, scaled by its rating (1..1001 so a 0 rating still counts). */
export function verifierWeight(bond: bigint, rating: number): bigint {
  return bond * BigInt(Math.max(0, Math.min(1000, rating)) + 1);
}

/** The seed of one draw: data fixed by the chain after the dispute was committed, and the dispute it is for. */
export function drawSeed(blockHash: Uint8Array, taskId: Uint8Array, lease: number, draw: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(0, lease);
  new DataView(n.buffer).setUint32(4, draw);
  return sha256(utf8('ZEUSNET/verifier-draw/v1\0'), blockHash, taskId, n);
}

/**
 * Draws up to `count` distinct workers, each seat with odds proportional to weight among those
 * not drawn yet. The candidates' order does not matter (they are sorted by address first);
 * candidates with no weight are never drawn.
 */
export function drawVerifiers(seed: Uint8Array, candidates: readonly DrawCandidate[], count: number): string[] {
  const pool = candidates.filter((c) => c.weight > 0n).sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
  const out: string[] = [];
  for (let seat = 0; seat < count && pool.length > 0; seat++) {
    const total = pool.reduce((s, c) => s + c.weight, 0n);
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, seat);
    // 256 bits reduced modulo a total far below 2^128: the bias is below 2^-128.
    let r = BigInt(`0x${toHex(sha256(seed, n))}`) % total;
    let i = 0;
    while (r >= pool[i].weight) r -= pool[i++].weight;
    out.push(pool[i].worker);
    pool.splice(i, 1);
  }
  return out;
}

// Which piece to ask of whom next: the fetcher's pure scheduling rule, kept apart from sockets
// and disks so it can be tested on its own.
//
// Rarest first: pieces that the fewest usable peers hold are asked for first, so a piece held by
// one peer is taken while that peer is still there, and fetchers that start together spread
// over different pieces (ties are broken at random) and can then trade them. A piece goes to the
// least busy peer that holds it and has a free connection. A piece that no usable peer holds goes
// to the origin. Nothing exceeds a source's connection cap or the overall budget.

export interface PlanSource {
  id: number;
  /** The publishing node or registry: is asked only for what no peer holds (and what it offers now). */
  origin: boolean;
  /** Not dropped and not waiting out a backoff. */
  usable: boolean;
  /** Free connections (cap minus requests in flight). */
  spare: number;
  holds(piece: number): boolean;
}

export interface PlannedRequest {
  piece: number;
  source: number;
}

/**
 * Requests to start now for `needed` (pieces neither held nor in flight), at most `budget` of
 * them (the overall cap on outstanding requests minus those in flight).
 */
export function planRequests(needed: readonly number[], sources: readonly PlanSource[], budget: number, random: () => number = Math.random): PlannedRequest[] {
  const out: PlannedRequest[] = [];
  if (budget <= 0 || needed.length === 0) return out;
  const peers = sources.filter((s) => !s.origin && s.usable);
  const origin = sources.find((s) => s.origin && s.usable);
  const spare = new Map(sources.map((s) => [s.id, s.spare]));
  const availability = new Map(needed.map((p) => [p, peers.reduce((n, s) => n + (s.holds(p) ? 1 : 0), 0)]));
  const tiebreak = new Map(needed.map((p) => [p, random()]));
  const order = [...needed].sort((a, b) => availability.get(a)! - availability.get(b)! || tiebreak.get(a)! - tiebreak.get(b)!);
  for (const piece of order) {
    if (out.length >= budget) break;
    if (availability.get(piece) === 0) {
      if (origin && spare.get(origin.id)! > 0 && origin.holds(piece)) {
        out.push({ piece, source: origin.id });
        spare.set(origin.id, spare.get(origin.id)! - 1);
      }
      continue;
    }
    let best: PlanSource | undefined;
    let bestKey = -Infinity;
    for (const s of peers) {
      const free = spare.get(s.id)!;
      if (free <= 0 || !s.holds(piece)) continue;
      // Most free connections first; a random fraction spreads equal peers.
      const key = free + random() * 0.5;
      if (key > bestKey) {
        best = s;
        bestKey = key;
      }
    }
    // Every holder busy: wait for one rather than load the origin with a piece peers have.
    if (!best) continue;
    out.push({ piece, source: best.id });
    spare.set(best.id, spare.get(best.id)! - 1);
  }
  return out;
}

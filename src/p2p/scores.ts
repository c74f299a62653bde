// Per-peer misbehaviour scores and temporary bans.
//
// A score starts at 0 and only goes down on misbehaviour; it recovers linearly towards 0 over time
// (RECOVERY_MS_PER_POINT), so an honest peer that occasionally relays something we judge invalid
// is not banned for it months later. At or below BAN_THRESHOLD the peer is banned for `banMs`:
// the connection gater refuses it both ways and the node hangs up on it.

export const PENALTY = {
  /** The topic handler returned 'reject'. */
  reject: 10,
  /** A frame that does not parse (unknown topic, bad sync request or response). */
  malformed: 20,
  /** Reported by the caller through P2PNode.penalize (e.g. a synced block that fails verification). */
  reported: 20,
  /** A frame larger than maxMessageBytes: one is enough for a ban. */
  oversized: 100,
} as const;

export type PenaltyKind = keyof typeof PENALTY;

export const BAN_THRESHOLD = -30;
export const RECOVERY_MS_PER_POINT = 10_000;
export const MIN_SCORE = -1000;

interface Entry {
  score: number;
  at: number; // when `score` was last written (for lazy recovery)
  bannedUntil: number;
  lastReason: string;
}

export interface ScoreBookOptions {
  banMs: number;
  now?: () => number;
  onBan?: (peer: string, reason: string) => void;
}

export class ScoreBook {
  readonly #entries = new Map<string, Entry>();
  readonly #banMs: number;
  readonly #now: () => number;
  readonly #onBan: ((peer: string, reason: string) => void) | undefined;

  constructor(opts: ScoreBookOptions) {
    this.#banMs = opts.banMs;
    this.#now = opts.now ?? Date.now;
    this.#onBan = opts.onBan;
  }

  score(peer: string): number {
    const e = this.#entries.get(peer);
    if (e === undefined) return 0;
    const now = this.#now();
    const recovered = Math.min(0, e.score + (now - e.at) / RECOVERY_MS_PER_POINT);
    return Math.round(recovered * 100) / 100;
  }

  isBanned(peer: string): boolean {
    const e = this.#entries.get(peer);
    return e !== undefined && e.bannedUntil > this.#now();
  }

  lastReason(peer: string): string | undefined {
    return this.#entries.get(peer)?.lastReason;
  }

  /** Lower the peer's score; returns true when this penalty banned it. */
  penalize(peer: string, kind: PenaltyKind, reason: string): boolean {
    const now = this.#now();
    const current = this.score(peer);
    const prev = this.#entries.get(peer);
    const score = Math.max(MIN_SCORE, current - PENALTY[kind]);
    const wasBanned = prev !== undefined && prev.bannedUntil > now;
    const entry: Entry = { score, at: now, bannedUntil: prev?.bannedUntil ?? 0, lastReason: `${kind}: ${reason}` };
    let banned = false;
    if (score <= BAN_THRESHOLD && !wasBanned) {
      entry.bannedUntil = now + this.#banMs;
      banned = true;
    }
    this.#entries.set(peer, entry);
    if (banned) this.#onBan?.(peer, entry.lastReason);
    return banned;
  }

  /** Peers with a record (penalized at some point and not yet fully recovered, or banned). */
  known(): string[] {
    const out: string[] = [];
    for (const [peer, e] of this.#entries) {
      if (e.bannedUntil > this.#now() || this.score(peer) < 0) out.push(peer);
      else this.#entries.delete(peer);
    }
    return out;
  }
}

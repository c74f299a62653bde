// When and from whom the host (host.ts) fetches committed blocks to catch up: the node and the
// simulator run that host, so the simulator tests what runs.
// Pure: the host passes its clock reading, its connected peers and what it heard; it does the
// fetching and reports back.
//
// Why it is shaped like this (issue 12, item 2): with exactly a quorum of bookkeepers running,
// one that fell a height behind stalls everyone until it catches up. It used to ask one peer at
// a time, a peer that had merely handed over a later message or the next in turn, and wait up to
// the fetch timeout (10 s) for it. A paused peer (SIGSTOP: still connected, never answering) thus
// stalled the network for 10 s. Now, among the peers that hold the blocks, one that has been
// silent is asked last, a fetch not answered within a patience no longer blocks asking another
// peer, a peer that failed or timed out is left alone for a while, and a node that has just
// started, or that reaches a height whose messages it dropped as too far ahead, asks at once.

/** How often a host ticks (re-sends while stuck, considers catching up): about its block interval. */
export const hostTickMs = (commitDelayMs: number): number => Math.max(200, Math.min(1_000, commitDelayMs));

/** How long one block fetch may take (a full batch of big blocks must fit). */
export const SYNC_FETCH_TIMEOUT_MS = 10_000;

export interface CatchUpTiming {
  /** A fetch not answered within this no longer stops us from asking another peer. */
  readonly patienceMs: number;
  /** A peer not heard from for this long is asked only when no other peer is left. */
  readonly silentMs: number;
  /** A peer whose fetch failed or timed out is not asked again for this long. */
  readonly backoffMs: number;
}

/** For a node: peers gossip transactions every 50 ms and votes every round, so 2 s of silence is telling. */
export const CATCH_UP_TIMING: CatchUpTiming = { patienceMs: 1_000, silentMs: 2_000, backoffMs: 5_000 };

/** Fetches in flight at most (each to a different peer). */
const MAX_FETCHES = 3;

/** One fetch the host should start: committed blocks from `from` on, asked of `peer`. */
export interface SyncRequest {
  readonly peer: string;
  readonly from: number;
  /** Whether the peer showed us a message of a later height (so it should hold the blocks). */
  readonly hinted: boolean;
}

export type SyncOutcome = 'blocks' | 'empty' | 'failed';

interface PeerView {
  /** When we last received anything from it. */
  heardAt: number;
  /** The highest height it showed us a consensus message for (so it committed the one before). */
  height: number;
  failedAt: number;
}

export class CatchUp {
  private readonly timing: CatchUpTiming;
  private readonly peers = new Map<string, PeerView>();
  private fetches: { req: SyncRequest; at: number }[] = [];
  private turn = 0;
  /**
   * Until a fetch was answered: a node that has just (re)started does not know how far behind
   * it is, and its peers may be silent, waiting for its proposal. So it asks at once.
   */
  private fresh = true;
  /** The highest height we dropped a message of because it was too far ahead of ours. */
  private droppedUpTo = 0;
  /** The height we last fetched for because its messages had been dropped. */
  private fetchedFor = 0;

  constructor(timing: CatchUpTiming = CATCH_UP_TIMING) {
    this.timing = timing;
  }

  private view(peer: string): PeerView {
    let v = this.peers.get(peer);
    if (!v) {
      v = { heardAt: -Infinity, height: 0, failedAt: -Infinity };
      this.peers.set(peer, v);
    }
    return v;
  }

  /** Anything arrived from `peer` (the neighbour that handed it over): it is alive. */
  heard(peer: string, now: number): void {
    this.view(peer).heardAt = now;
  }

  /** A consensus message of `height` arrived from `peer`. */
  showed(peer: string, height: number, now: number): void {
    const v = this.view(peer);
    v.heardAt = now;
    if (height > v.height) v.height = height;
  }

  /**
   * The host dropped a message of `height` because it was more than one height ahead of ours.
   * When we reach that height we lack its messages, and nobody sends them again: we ask for its
   * block at once instead of waiting to be stuck.
   */
  dropped(height: number): void {
    if (height > this.droppedUpTo) this.droppedUpTo = height;
  }

  /** Whether a connected peer showed us a height we cannot decide before catching up. */
  behind(ledgerHeight: number, peers: readonly string[]): boolean {
    return peers.some((p) => (this.peers.get(p)?.height ?? 0) > ledgerHeight + 1);
  }

  /**
   * The highest height a connected peer showed us a consensus message of (0 when none did): the
   * height the network is deciding, so it has committed the one before. Read-only, for readiness.
   */
  highestShown(peers: readonly string[]): number {
    return peers.reduce((best, p) => Math.max(best, this.peers.get(p)?.height ?? 0), 0);
  }

  /**
   * Called on every tick: the fetch to start now, if any. `stuckTicks` counts the ticks the
   * height made no progress; `peers` are the connected, not banned peers.
   */
  plan(o: { ledgerHeight: number; stuckTicks: number; peers: readonly string[]; now: number }): SyncRequest | undefined {
    const behind = this.behind(o.ledgerHeight, o.peers);
    const deciding = o.ledgerHeight + 1;
    const lost = deciding <= this.droppedUpTo && this.fetchedFor < deciding;
    if (!behind && !lost && !this.fresh && o.stuckTicks < 2) return undefined;
    if (this.fetches.length >= MAX_FETCHES || this.fetches.some((f) => o.now - f.at < this.timing.patienceMs)) return undefined;
    const asked = new Set(this.fetches.map((f) => f.req.peer));
    const candidates = o.peers.filter((p) => !asked.has(p) && o.now - (this.peers.get(p)?.failedAt ?? -Infinity) >= this.timing.backoffMs);
    if (candidates.length === 0) return undefined;
    // Rank: holding a later height (a peer that answered it had nothing is not, until it shows a
    // later one), then heard from lately (a paused peer goes silent), then in turn (so that a
    // node that is merely stuck asks each peer in turn). A peer that shows a later height but
    // does not answer costs the patience once, then the backoff keeps it out.
    const start = this.turn++ % candidates.length;
    const rotated = [...candidates.slice(start), ...candidates.slice(0, start)];
    const rank = (p: string): number => {
      const v = this.peers.get(p);
      const alive = v !== undefined && o.now - v.heardAt < this.timing.silentMs;
      const ahead = v !== undefined && v.height > o.ledgerHeight + 1;
      return (ahead ? 0 : 2) + (alive ? 0 : 1);
    };
    const peer = rotated.reduce((best, p) => (rank(p) < rank(best) ? p : best));
    const req: SyncRequest = { peer, from: o.ledgerHeight + 1, hinted: (this.peers.get(peer)?.height ?? 0) > o.ledgerHeight + 1 };
    this.fetches.push({ req, at: o.now });
    if (lost) this.fetchedFor = deciding;
    return req;
  }

  /** The fetch `req` ended: blocks were committed from it, it had none, or it failed (error, timeout). */
  finished(req: SyncRequest, outcome: SyncOutcome, now: number): void {
    this.fetches = this.fetches.filter((f) => f.req !== req);
    if (outcome !== 'failed') this.fresh = false;
    const v = this.view(req.peer);
    if (outcome === 'failed') v.failedAt = now;
    // It had nothing from `from` on: it is not ahead of us, whatever it relayed.
    if (outcome === 'empty' && v.height > req.from) v.height = req.from;
  }

  /** A peer disconnected: what we knew of it is stale. */
  gone(peer: string): void {
    this.peers.delete(peer);
  }
}

import type { ConsensusState } from './core.ts';
import { heightRelation } from './core.ts';

// When and from whom a host fetches committed blocks to catch up: the node (src/node/bft.ts)
// and the simulator (sim/node.ts) both follow this plan, so the simulator tests what runs.
// Pure: the host passes its clock reading, its connected peers and what it heard; it does the
// fetching and reports back.

/** How often a host ticks (re-sends while stuck, considers catching up): about its block interval. */
export const hostTickMs = (commitDelayMs: number): number => Math.max(200, Math.min(1_000, commitDelayMs));

/** How long one block fetch may take (a full batch of big blocks must fit). */
export const SYNC_FETCH_TIMEOUT_MS = 10_000;

/** One fetch the host should start: committed blocks from `from` on, asked of `peer`. */
export interface SyncRequest {
  readonly peer: string;
  readonly from: number;
  /** Whether the peer showed us a message of a later height (so it should hold the blocks). */
  readonly hinted: boolean;
}

export type SyncOutcome = 'blocks' | 'empty' | 'failed';

export class CatchUp {
  /** The highest height a peer has shown us a message for, and who. */
  private ahead: { height: number; peer: string } | undefined;
  private inFlight = false;
  private next = 0;

  /** A consensus message of `height` arrived from `peer` (the neighbour that handed it over). */
  heard(state: ConsensusState, peer: string, height: number): void {
    const rel = heightRelation(state, height);
    if (rel === 'ahead') {
      if (!this.ahead || this.ahead.height < height) this.ahead = { height, peer };
    } else if (rel === 'next' && !this.ahead) this.ahead = { height, peer };
  }

  /** Whether a peer showed us a height we cannot decide before catching up. */
  behind(ledgerHeight: number): boolean {
    return this.ahead !== undefined && this.ahead.height > ledgerHeight + 1;
  }

  /**
   * Called on every tick: the fetch to start now, if any. `stuckTicks` counts the ticks the
   * height made no progress; `peers` are the connected, not banned peers.
   */
  plan(o: { ledgerHeight: number; stuckTicks: number; peers: readonly string[]; now: number }): SyncRequest | undefined {
    if (this.inFlight || !(this.behind(o.ledgerHeight) || o.stuckTicks >= 2) || o.peers.length === 0) return undefined;
    const hinted = this.ahead !== undefined && o.peers.includes(this.ahead.peer);
    const peer = hinted ? this.ahead!.peer : o.peers[this.next++ % o.peers.length];
    this.inFlight = true;
    return { peer, from: o.ledgerHeight + 1, hinted };
  }

  /** The fetch `req` ended: blocks were committed from it, it had none, or it failed (error, timeout). */
  finished(req: SyncRequest, outcome: SyncOutcome, now: number): void {
    void now;
    this.inFlight = false;
    if (outcome !== 'blocks' && req.hinted) this.ahead = undefined;
  }

  /** Blocks were committed by sync: forget a hint we have now reached. */
  synced(ledgerHeight: number): void {
    if (this.ahead && this.ahead.height <= ledgerHeight + 1) this.ahead = undefined;
  }

  /** A peer disconnected (nothing to forget in this plan). */
  gone(peer: string): void {
    void peer;
  }
}

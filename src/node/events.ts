import { EventEmitter } from 'node:events';
import type { MarketEvent } from '../ledger/index.ts';

export interface BlockEvent {
  type: 'block';
  height: number;
  hash: string;
  time: number;
  /** The consensus round that committed it (0 unless proposers were skipped). */
  round: number;
  txCounts: number[];
  stateRoots: string[];
}

export type TxStatus = 'pending' | 'committed' | 'rejected';

export interface TxEvent {
  type: 'tx';
  hash: string;
  status: TxStatus;
  chain: number;
  height?: number;
  index?: number;
  error?: { code: string; message: string };
}

/** A market happening (a lease matched, a service low on escrow…) at a committed height. */
export interface MarketNodeEvent extends MarketEvent {
  type: 'market';
  height: number;
  chain: number;
}

export type NodeEvent = BlockEvent | TxEvent | MarketNodeEvent;

/** What a node announces: committed blocks and the fate of each transaction. */
export class NodeEvents extends EventEmitter<{ event: [NodeEvent] }> {}

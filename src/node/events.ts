import { EventEmitter } from 'node:events';

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

export type NodeEvent = BlockEvent | TxEvent;

/** What a node announces: committed blocks and the fate of each transaction. */
export class NodeEvents extends EventEmitter<{ event: [NodeEvent] }> {}

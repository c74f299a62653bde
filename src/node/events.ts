import { EventEmitter } from 'node:events';
import type { NodeEvent } from '../sdk/index.ts';

/** What a node announces: committed blocks and the fate of each transaction. */
export class NodeEvents extends EventEmitter<{ event: [NodeEvent] }> {}

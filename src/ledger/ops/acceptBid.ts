import * as market from '../handlers/market.ts';
import { address, taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const acceptBid = defineOp({
  kind: 26,
  name: 'AcceptBid',
  schema: { $id: 'AcceptBid', fields: { task: { id: 1, ...taskId }, worker: { id: 2, ...address } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.acceptBid(ctx, tx, p);
  },
});

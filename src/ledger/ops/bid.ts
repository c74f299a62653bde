import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const bid = defineOp({
  kind: 25,
  name: 'Bid',
  schema: { $id: 'Bid', fields: { task: { id: 1, ...taskId }, price: { id: 2, type: 'uint64' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.bid(ctx, tx, p);
  },
});

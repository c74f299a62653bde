import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const dispute = defineOp({
  kind: 30,
  name: 'Dispute',
  schema: { $id: 'Dispute', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.dispute(ctx, tx, p);
  },
});

import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const cancelTask = defineOp({
  kind: 23,
  name: 'CancelTask',
  schema: { $id: 'CancelTask', fields: { task: { id: 1, ...taskId } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.cancelTask(ctx, tx, p);
  },
});

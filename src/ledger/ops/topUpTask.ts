import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const topUpTask = defineOp({
  kind: 24,
  name: 'TopUpTask',
  schema: { $id: 'TopUpTask', fields: { task: { id: 1, ...taskId }, amount: { id: 2, type: 'uint64' }, feeAmount: { id: 3, type: 'uint64' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.topUpTask(ctx, tx, p);
  },
});

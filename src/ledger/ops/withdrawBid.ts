import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

/** A worker takes back its bid in a task's open window (issue 13: a bid must not hold a worker it cannot serve). */
export const withdrawBid = defineOp({
  kind: 35,
  name: 'WithdrawBid',
  schema: { $id: 'WithdrawBid', fields: { task: { id: 1, ...taskId } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.withdrawBid(ctx, tx, p);
  },
});

import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

export const startLease = defineOp({
  kind: 27,
  name: 'StartLease',
  schema: { $id: 'StartLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, endpoint: { id: 3, type: 'string', max: 128 } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.startLease(ctx, tx, p);
  },
});

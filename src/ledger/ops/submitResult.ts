import * as market from '../handlers/market.ts';
import { taskId, usageFields } from '../fields.ts';
import { defineOp } from './operation.ts';

/** The end of a batch lease: the result blob's digest and the last period's usage. */
export const submitResult = defineOp({
  kind: 29,
  name: 'SubmitResult',
  schema: { $id: 'SubmitResult', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, digest: { id: 3, type: 'string', max: 71 }, ...usageFields } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.submitResult(ctx, tx, p);
  },
});

import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

/** A matched lease its worker gives back before starting it, penalty-free: its image cannot be fetched (`reason`: the error code). */
export const releaseLease = defineOp({
  kind: 34,
  name: 'ReleaseLease',
  schema: { $id: 'ReleaseLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, reason: { id: 50, type: 'string', max: 64 } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.releaseLease(ctx, tx, p);
  },
});

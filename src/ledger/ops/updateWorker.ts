import * as market from '../handlers/market.ts';
import { WorkerSpecFields } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** New resources, prices and endpoint; `addBond` moves more of the stake into the bond. */
export const updateWorker = defineOp({
  kind: 17,
  name: 'UpdateWorker',
  schema: { $id: 'UpdateWorker', fields: { ...WorkerSpecFields, addBond: { id: 20, type: 'uint64' } } },
  // The worker registry, and the stake the bond comes from, are on main.
  route: 'main',
  apply(ctx, tx, p) {
    market.updateWorker(ctx, tx, p);
  },
});

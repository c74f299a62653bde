import * as market from '../handlers/market.ts';
import { WorkerSpecFields } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** The bond moves from the worker's stake on main; `benchmark` (0..1000) is its own claim, recorded and shown, not rated. */
export const registerWorker = defineOp({
  kind: 16,
  name: 'RegisterWorker',
  schema: { $id: 'RegisterWorker', fields: { ...WorkerSpecFields, bond: { id: 20, type: 'uint64' }, benchmark: { id: 21, type: 'uint32' } } },
  // The worker registry, and the stake the bond comes from, are on main: every inner chain reads it.
  route: 'main',
  apply(ctx, tx, p) {
    market.registerWorker(ctx, tx, p);
  },
});

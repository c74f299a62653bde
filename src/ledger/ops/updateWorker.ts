import * as stores from '../stores.ts';
import { activeWorker, checkWorkerSpec, takeFromStake } from '../market/workers.ts';
import { WorkerSpecFields } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** New resources, prices and endpoint; `addBond` moves more of the stake into the bond. */
export const updateWorker = defineOp({
  kind: 17,
  name: 'UpdateWorker',
  schema: { $id: 'UpdateWorker', fields: { ...WorkerSpecFields, addBond: { id: 20, type: 'uint64' } } },
  // The worker registry, and the stake the bond comes from, are on main.
  route: 'main',
  admit(_ctx, _tx, p) {
    checkWorkerSpec(p);
  },
  apply(ctx, tx, p) {
    const w = activeWorker(ctx, tx);
    if (p.addBond > 0n) takeFromStake(ctx, tx.fromHex, p.addBond);
    const { addBond, ...spec } = p;
    stores.workers.set(ctx.state, tx.fromHex, { ...w, ...spec, bond: w.bond + addBond });
  },
});

import * as stores from '../stores.ts';
import { schedule } from '../market/tasks.ts';
import { activeWorker } from '../market/workers.ts';
import { DueKind } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

export const leaveWorker = defineOp({
  kind: 18,
  name: 'LeaveWorker',
  schema: { $id: 'LeaveWorker', fields: {} },
  // The worker registry and its bond are on main.
  route: 'main',
  apply(ctx, tx) {
    const w = activeWorker(ctx, tx);
    // The bond stays slashable for leases still ending on the inner chains.
    w.leavingAt = BigInt(ctx.height + ctx.params.market.workerUnbondingBlocks);
    stores.workers.set(ctx.state, tx.fromHex, w);
    schedule(ctx, w.leavingAt, DueKind.WorkerRelease, tx.from);
  },
});

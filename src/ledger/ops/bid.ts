import * as stores from '../stores.ts';
import { encodeAddress } from '../../crypto/portable.ts';
import { misfits } from '../../market/index.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { TaskState } from '../market/lifecycle.ts';
import { readTask, writeTask } from '../market/tasks.ts';
import { requireBondedEnough, taskNeeds, workerOffer } from '../market/workers.ts';
import type { Bid } from '../marketEntries.ts';
import type { Tx } from '../tx.ts';
import type { ExecContext } from '../context.ts';
import { defineOp } from './operation.ts';

export const bid = defineOp({
  kind: 25,
  name: 'Bid',
  schema: { $id: 'Bid', fields: { task: { id: 1, ...taskId }, price: { id: 2, type: 'uint64' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t] = readTask(ctx, p.task);
    if (t.state !== TaskState.Open || t.openSlots.length === 0) fail('BIDDING_CLOSED', `task ${idHex} takes no bids now`);
    if (BigInt(ctx.height) > t.closeHeight) fail('BIDDING_CLOSED', `the bid window closed at height ${t.closeHeight}`);
    const w = stores.workers.get(ctx.main, tx.fromHex);
    if (!w || w.bond === 0n) fail('NOT_A_WORKER', `${encodeAddress(tx.from)} is not a registered worker`);
    refuseReleased(ctx, idHex, tx);
    requireBondedEnough(ctx, w, 'this worker');
    const why = misfits(workerOffer(tx.fromHex, w, ctx.params.market), taskNeeds(t), p.price);
    if (why.length > 0) fail('WORKER_UNFIT', `this worker cannot serve task ${idHex}: ${why.map((m) => m.message).join('; ')}`);
    const ref = stores.bidRefs.get(ctx.state, idHex, tx.fromHex);
    if (ref && ref.window === t.closeHeight) fail('DUPLICATE_BID', 'this worker already bid in this window');
    if (t.bidCount >= ctx.params.market.maxBidsPerTask) fail('TOO_MANY_BIDS', `task ${idHex} holds its limit of ${ctx.params.market.maxBidsPerTask} bids`);
    stores.bids.set(ctx.state, idHex, t.bidCount, {
      worker: tx.from,
      price: p.price,
      rating: w.rating,
      height: BigInt(ctx.height),
      used: false,
      withdrawn: false,
    } satisfies Bid);
    stores.bidRefs.set(ctx.state, idHex, tx.fromHex, { index: t.bidCount, window: t.closeHeight });
    t.bidCount++;
    writeTask(ctx, idHex, t);
  },
});

function refuseReleased(ctx: ExecContext, idHex: string, tx: Tx): void {
  const r = stores.releases.get(ctx.state, idHex, tx.fromHex);
  if (r) fail('LEASE_RELEASED', `this worker released lease ${r.lease} of task ${idHex} at height ${r.height}; it cannot bid on that task again`);
}

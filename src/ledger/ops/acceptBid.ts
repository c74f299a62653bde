import * as stores from '../stores.ts';
import { encodeAddress, toHex } from '../../crypto/portable.ts';
import { misfits } from '../../market/index.ts';
import { fail } from '../errors.ts';
import { address, taskId } from '../fields.ts';
import { moveTask, TaskState } from '../market/lifecycle.ts';
import { createLease, pickSlot } from '../market/matching.ts';
import { readTask, requireOwner, writeTask } from '../market/tasks.ts';
import { requireBondedEnough, taskNeeds, workerOffer } from '../market/workers.ts';
import { defineOp } from './operation.ts';

export const acceptBid = defineOp({
  kind: 26,
  name: 'AcceptBid',
  schema: { $id: 'AcceptBid', fields: { task: { id: 1, ...taskId }, worker: { id: 2, ...address } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t] = readTask(ctx, p.task);
    requireOwner(t, tx);
    if (t.state !== TaskState.Open || t.openSlots.length === 0) fail('BIDDING_CLOSED', `task ${idHex} has no open slot`);
    const workerHex = toHex(p.worker);
    const ref = stores.bidRefs.get(ctx.state, idHex, workerHex);
    if (!ref || ref.window !== t.closeHeight) fail('BID_NOT_FOUND', `${encodeAddress(p.worker)} has no bid in this window`);
    const b = stores.bids.get(ctx.state, idHex, ref.index)!;
    if (b.used) fail('BID_NOT_FOUND', 'that bid already won a lease');
    if (b.withdrawn) fail('BID_NOT_FOUND', `${encodeAddress(p.worker)} withdrew its bid`);
    const w = stores.workers.get(ctx.main, workerHex);
    if (w) requireBondedEnough(ctx, w, 'the bidder');
    if (!w || misfits(workerOffer(workerHex, w, ctx.params.market), taskNeeds(t), b.price).length > 0)
      fail('WORKER_UNFIT', 'the bidder no longer fits the task');
    const slot = pickSlot(ctx, idHex, t, p.worker);
    if (slot === undefined) fail('WORKER_UNFIT', 'this worker already holds a lease of this task (or is the one being verified)');
    createLease(ctx, idHex, t, slot, ref.index, b);
    if (t.openSlots.length === 0) moveTask(t, TaskState.Running);
    writeTask(ctx, idHex, t);
  },
});

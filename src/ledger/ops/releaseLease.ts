import * as stores from '../stores.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { redrawVerifier } from '../market/disputes.ts';
import { isTaskEnded, leaseStateName, LeaseState, moveTask, TaskState, endLease } from '../market/lifecycle.ts';
import { leaseRef, requireLessee, schedule, writeLease, writeTask } from '../market/tasks.ts';
import { recordFairness } from '../market/workers.ts';
import { DueKind, type Released } from '../marketEntries.ts';
import { WorkerOutcome } from '../receipts.ts';
import { defineOp } from './operation.ts';

const RELEASE_REASON = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A matched lease its worker gives back before starting it, penalty-free: its image cannot be fetched (`reason`: the error code). */
export const releaseLease = defineOp({
  kind: 34,
  name: 'ReleaseLease',
  schema: { $id: 'ReleaseLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, reason: { id: 50, type: 'string', max: 64 } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  /**
   * A matched lease its worker gives back before starting it because its image cannot be fetched:
   * no slash, no rating change; counted on the worker's record and the app version's; the worker may
   * not bid on the task again; the slot is offered again without using one of the task's retries.
   */
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    if (l.state !== LeaseState.Matched) {
      fail('LEASE_NOT_MATCHED', `lease ${p.lease} is ${leaseStateName(l.state)}: only a lease that has not started can be released`);
    }
    if (!RELEASE_REASON.test(p.reason)) fail('INVALID_ARGUMENT', 'reason: the error code of the fetch that failed, e.g. MANIFEST_UNAVAILABLE (A-Z, 0-9, _)');
    endLease(t, l, ctx, LeaseState.Cancelled, `released by its worker before starting: ${p.reason}`, idHex, p.lease);
    writeLease(ctx, idHex, p.lease, l);
    stores.releases.set(ctx.state, idHex, tx.fromHex, { lease: p.lease, height: BigInt(ctx.height) } satisfies Released);
    recordFairness(ctx, l.worker, WorkerOutcome.Released, t);
    // A drawn verifier's seat is drawn again, never offered to bids (a bid would let a colluder buy it).
    if (l.verifies > 0) redrawVerifier(ctx, idHex, t, l);
    else if (!isTaskEnded(t)) {
      t.openSlots.push(l.slot);
      const h = BigInt(ctx.height);
      if (t.state !== TaskState.Open || t.closeHeight < h) {
        // A new window, not a retry: each worker releases a task at most once, so releases end by themselves.
        moveTask(t, TaskState.Open);
        t.closeHeight = h + BigInt(t.bidWindowBlocks);
        schedule(ctx, t.closeHeight + 1n, DueKind.CloseBids, p.task);
      }
    }
    writeTask(ctx, idHex, t);
  },
});

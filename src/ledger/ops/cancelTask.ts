import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { closeTask, payMatchedWait, releaseHeld, settlePeriod } from '../market/escrow.ts';
import { isLeaseMetered, isLiveLease, isTaskEnded, LeaseState, TaskState, endLease } from '../market/lifecycle.ts';
import { readLease, readTask, requireOwner, writeLease, writeTask } from '../market/tasks.ts';
import { MAX_U64 } from '../params.ts';
import { defineOp } from './operation.ts';

export const cancelTask = defineOp({
  kind: 23,
  name: 'CancelTask',
  schema: { $id: 'CancelTask', fields: { task: { id: 1, ...taskId } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t] = readTask(ctx, p.task);
    requireOwner(t, tx);
    if (isTaskEnded(t)) fail('TASK_ENDED', `task ${idHex} has already ended`);
    const leases = Array.from({ length: t.leaseCount }, (_, i) => readLease(ctx, idHex, i));
    if (leases.some((l) => l.state === LeaseState.Disputed)) fail('DISPUTE_PENDING', 'a dispute on this task is being verified; cancel after it is decided');
    leases.forEach((l, i) => {
      if (!isLiveLease(l.state)) return;
      if (isLeaseMetered(l.state)) settlePeriod(ctx, t, l, MAX_U64);
      else if (l.state === LeaseState.Matched) payMatchedWait(ctx, t, l);
      // The user cancels: what a batch worker earned so far is owed, review or not.
      releaseHeld(ctx, t, l);
      endLease(t, l, ctx, LeaseState.Cancelled, "cancelled by the task's poster", idHex, i);
      writeLease(ctx, idHex, i, l);
    });
    t.openSlots = [];
    closeTask(ctx, t, idHex, TaskState.Cancelled);
    writeTask(ctx, idHex, t);
  },
});

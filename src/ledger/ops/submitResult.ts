import { fail } from '../errors.ts';
import { taskId, usageFields } from '../fields.ts';
import { refuseCompared, evaluateGroup } from '../market/compare.ts';
import { settleDispute } from '../market/disputes.ts';
import { addUsage, settlePeriod } from '../market/escrow.ts';
import { LeaseState, moveLease, requireResultDue } from '../market/lifecycle.ts';
import { DIGEST, leaseRef, requireLessee, schedule, writeLease, writeTask } from '../market/tasks.ts';
import { DueKind } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** The end of a batch lease: the result blob's digest and the last period's usage. */
export const submitResult = defineOp({
  kind: 29,
  name: 'SubmitResult',
  schema: {
    $id: 'SubmitResult',
    fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, digest: { id: 3, type: 'string', max: 71 }, ...usageFields },
  },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    requireResultDue(t, l, p.lease);
    if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `result digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
    refuseCompared(t, l, p.lease);
    addUsage(l, p);
    settlePeriod(ctx, t, l, p.wallMs);
    l.resultDigest = p.digest;
    moveLease(l, LeaseState.Completed);
    writeLease(ctx, idHex, p.lease, l);
    if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
    else if (t.redundancy === 1) {
      l.reviewEnd = BigInt(ctx.height + ctx.params.market.reviewBlocks);
      writeLease(ctx, idHex, p.lease, l);
      schedule(ctx, l.reviewEnd + 1n, DueKind.ReviewEnd, p.task, p.lease);
    } else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
    writeTask(ctx, idHex, t);
  },
});

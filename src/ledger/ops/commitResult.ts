import { fail } from '../errors.ts';
import { taskId, usageFields } from '../fields.ts';
import { isCompared, evaluateGroup } from '../market/compare.ts';
import { settleDispute } from '../market/disputes.ts';
import { addUsage, settlePeriod } from '../market/escrow.ts';
import { LeaseState, moveLease, requireResultDue } from '../market/lifecycle.ts';
import { leaseRef, requireLessee, writeLease, writeTask } from '../market/tasks.ts';
import { defineOp } from './operation.ts';

/**
 * The end of a lease whose result is compared (redundancy group, verifier seat): a commitment to its digest, and its last usage.
 * `commitment`: resultCommitment(task, lease, worker, digest, salt) (src/ledger/resultCommit.ts).
 */
export const commitResult = defineOp({
  kind: 31,
  name: 'CommitResult',
  schema: {
    $id: 'CommitResult',
    fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, ...usageFields, commitment: { id: 80, type: 'bytes', length: 32 } },
  },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  /**
   * The end of a compared lease: its last usage is settled (held for review, as a result's) and its
   * commitment stored; the digest stays off the chain until the reveal.
   */
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    requireResultDue(t, l, p.lease);
    if (!isCompared(t, l))
      fail(
        'COMMIT_NOT_NEEDED',
        `lease ${p.lease}'s result is compared with nobody's (redundancy 1, not a verifier): submit it (SubmitResult or SubmitAppOutcome)`,
      );
    addUsage(l, p);
    settlePeriod(ctx, t, l, p.wallMs);
    l.commitment = p.commitment;
    moveLease(l, LeaseState.Completed);
    writeLease(ctx, idHex, p.lease, l);
    if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
    else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
    writeTask(ctx, idHex, t);
  },
});

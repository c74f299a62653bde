import * as market from '../handlers/market.ts';
import { taskId, usageFields } from '../fields.ts';
import { defineOp } from './operation.ts';

/**
 * The end of a lease whose result is compared (redundancy group, verifier seat): a commitment to its digest, and its last usage.
 * `commitment`: resultCommitment(task, lease, worker, digest, salt) (src/ledger/resultCommit.ts).
 */
export const commitResult = defineOp({
  kind: 31,
  name: 'CommitResult',
  schema: { $id: 'CommitResult', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, ...usageFields, commitment: { id: 80, type: 'bytes', length: 32 } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.commitResult(ctx, tx, p);
  },
});

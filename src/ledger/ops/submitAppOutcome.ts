import * as market from '../handlers/market.ts';
import { taskId, usageFields } from '../fields.ts';
import { defineOp } from './operation.ts';

/**
 * The end of a batch lease whose app failed on its own inside the lease's limits (src/ledger/appOutcome.ts):
 * how it ended, the digest of its log and the last period's usage. Compared and disputed like a result.
 */
export const submitAppOutcome = defineOp({
  kind: 33,
  name: 'SubmitAppOutcome',
  schema: { $id: 'SubmitAppOutcome', fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      ...usageFields,
      exitCode: { id: 50, type: 'uint32' },
      oomKilled: { id: 51, type: 'bool' },
      cause: { id: 52, type: 'string', max: 16 },
      logDigest: { id: 53, type: 'string', max: 71 },
    } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.submitAppOutcome(ctx, tx, p);
  },
});

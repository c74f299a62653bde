import * as stores from '../stores.ts';
import { appOutcomeDigest, appOutcomeProblem, type AppOutcome } from '../appOutcome.ts';
import { fail } from '../errors.ts';
import { taskId, usageFields } from '../fields.ts';
import { DIGEST, leaseRef, requireLessee } from '../market/tasks.ts';
import { defineOp } from './operation.ts';
import { submitResult } from './submitResult.ts';

/**
 * The end of a batch lease whose app failed on its own inside the lease's limits (src/ledger/appOutcome.ts):
 * how it ended, the digest of its log and the last period's usage. Compared and disputed like a result.
 */
export const submitAppOutcome = defineOp({
  kind: 33,
  name: 'SubmitAppOutcome',
  schema: {
    $id: 'SubmitAppOutcome',
    fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      ...usageFields,
      exitCode: { id: 50, type: 'uint32' },
      oomKilled: { id: 51, type: 'bool' },
      cause: { id: 52, type: 'string', max: 16 },
      logDigest: { id: 53, type: 'string', max: 71 },
    },
  },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  /**
   * A batch lease's app failed on its own (exit code, OOM, max hours, trap): its outcome is the lease's
   * result. The chain computes the digest compared, so redundancy (evaluateGroup) and disputes handle
   * it exactly as a result; the worker is paid for the time it ran, after the same review.
   */
  apply(ctx, tx, p) {
    const [idHex, , l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    const canonical = { exitCode: p.exitCode, oomKilled: p.oomKilled, cause: p.cause };
    const problem = appOutcomeProblem(canonical);
    if (problem) fail('INVALID_ARGUMENT', problem);
    if (!DIGEST.test(p.logDigest)) fail('BAD_DIGEST', `log digest must be sha256: and 64 lowercase hex digits, got "${p.logDigest}"`);
    const digest = appOutcomeDigest(canonical);
    // Every check and every effect of a result: state, pay held for review, comparison, dispute.
    submitResult.apply(ctx, tx, {
      task: p.task,
      lease: p.lease,
      digest,
      cpuSeconds: p.cpuSeconds,
      memoryGiBSeconds: p.memoryGiBSeconds,
      gpuSeconds: p.gpuSeconds,
      networkBytes: p.networkBytes,
      wallMs: p.wallMs,
    });
    stores.appOutcomes.set(ctx.state, idHex, p.lease, { ...canonical, logDigest: p.logDigest, digest } satisfies AppOutcome);
  },
});

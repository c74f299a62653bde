import * as stores from '../stores.ts';
import { bytesEqual } from '../../crypto/portable.ts';
import { appOutcomeDigest, appOutcomeProblem, type AppOutcome } from '../appOutcome.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { evaluateGroup } from '../market/compare.ts';
import { settleDispute } from '../market/disputes.ts';
import { leaseStateName, LeaseState } from '../market/lifecycle.ts';
import { DIGEST, leaseRef, requireLessee, writeLease, writeTask } from '../market/tasks.ts';
import { resultCommitment } from '../resultCommit.ts';
import { defineOp } from './operation.ts';

/**
 * What a commitment hid: the result digest and the salt — or, with `appOutcome`, the app outcome
 * (its digest is computed by the chain; `digest` is then empty).
 */
export const revealResult = defineOp({
  kind: 32,
  name: 'RevealResult',
  schema: {
    $id: 'RevealResult',
    fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      digest: { id: 81, type: 'string', max: 71 },
      salt: { id: 82, type: 'bytes', length: 32 },
      appOutcome: { id: 83, type: 'bool' },
      exitCode: { id: 84, type: 'uint32' },
      oomKilled: { id: 85, type: 'bool' },
      cause: { id: 86, type: 'string', max: 16 },
      logDigest: { id: 87, type: 'string', max: 71 },
    },
  },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  /** Opens a commitment: the digest (or the app outcome, whose digest the chain computes) and the salt. */
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    if (l.commitment.length === 0) fail('NOT_COMMITTED', `lease ${p.lease} has no commitment to reveal`);
    if (l.resultDigest !== '') fail('ALREADY_REVEALED', `lease ${p.lease} already revealed its result`);
    if (l.state !== LeaseState.Completed) fail('REVEAL_CLOSED', `lease ${p.lease} is ${leaseStateName(l.state)}: ${l.outcome}`);
    if (l.revealBy === 0n)
      fail('REVEAL_NOT_OPEN', `the other seats of lease ${p.lease}'s group have not all committed yet: reveal once the lease shows a reveal deadline`);
    if (BigInt(ctx.height) > l.revealBy) fail('REVEAL_CLOSED', `the reveal deadline was height ${l.revealBy}`);
    let digest = p.digest;
    let outcome: AppOutcome | undefined;
    if (p.appOutcome) {
      const canonical = { exitCode: p.exitCode, oomKilled: p.oomKilled, cause: p.cause };
      const problem = appOutcomeProblem(canonical);
      if (problem) fail('INVALID_ARGUMENT', problem);
      if (!DIGEST.test(p.logDigest)) fail('BAD_DIGEST', `log digest must be sha256: and 64 lowercase hex digits, got "${p.logDigest}"`);
      if (p.digest !== '') fail('INVALID_ARGUMENT', "an app outcome's digest is computed by the chain: leave `digest` empty");
      digest = appOutcomeDigest(canonical);
      outcome = { ...canonical, logDigest: p.logDigest, digest };
    } else {
      if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `result digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
      if (p.exitCode !== 0 || p.oomKilled || p.cause !== '' || p.logDigest !== '') fail('INVALID_ARGUMENT', "a result's reveal carries no app outcome fields");
    }
    if (!bytesEqual(resultCommitment(p.task, p.lease, l.worker, digest, p.salt), l.commitment)) {
      fail(
        'REVEAL_MISMATCH',
        `this ${p.appOutcome ? 'app outcome' : 'digest'} and salt do not match lease ${p.lease}'s commitment (a commitment is bound to its task, lease and worker)`,
      );
    }
    l.resultDigest = digest;
    writeLease(ctx, idHex, p.lease, l);
    if (outcome) stores.appOutcomes.set(ctx.state, idHex, p.lease, outcome);
    if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
    else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
    writeTask(ctx, idHex, t);
  },
});

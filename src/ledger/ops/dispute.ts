import * as stores from '../stores.ts';
import { debit, readAccount, writeAccount } from '../context.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { scheduleDraw, verifierPool, VERIFIER_QUORUM } from '../market/disputes.ts';
import { mulChecked } from '../market/escrow.ts';
import { LeaseState, moveLease } from '../market/lifecycle.ts';
import { leaseRef, requireOwner, writeLease, writeTask } from '../market/tasks.ts';
import type { DisputeState } from '../marketEntries.ts';
import { MAX_U64, ZNC, ZNC_UNIT } from '../params.ts';
import { defineOp } from './operation.ts';

export const dispute = defineOp({
  kind: 30,
  name: 'Dispute',
  schema: { $id: 'Dispute', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireOwner(t, tx);
    if (t.redundancy !== 1) fail('NOT_DISPUTABLE', 'with redundancy ≥ 2 the results are compared with each other, not disputed');
    if (l.verifies > 0) fail('NOT_DISPUTABLE', "a verifier's result decides the dispute; it cannot be disputed");
    if (l.state !== LeaseState.Completed || BigInt(ctx.height) > l.reviewEnd) fail('NOT_DISPUTABLE', `lease ${p.lease} is not under review`);
    if (verifierPool(ctx, idHex, t).length === 0) {
      fail('NOT_DISPUTABLE', "no other worker can verify this task (the worker, the poster and the task's other lessees cannot); the result stands");
    }
    // Up to three verifiers may run: the deposit covers each one's worst case. It returns, less the
    // verifiers' pay, when the result is overturned; it pays them and the worker's wait when it stands.
    const deposit = mulChecked(t.maxPricePerHour + (t.feeToken === ZNC ? t.licenseFeePerHour : 0n), BigInt(t.maxHours), BigInt(VERIFIER_QUORUM));
    const feeDeposit = t.feeToken === ZNC ? 0n : mulChecked(t.licenseFeePerHour, BigInt(t.maxHours), BigInt(VERIFIER_QUORUM));
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, ZNC, deposit, tx.from);
    if (feeDeposit > 0n) debit(ctx, acc, t.feeToken, feeDeposit, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    t.escrow += deposit;
    t.feeEscrow += feeDeposit;
    if (t.escrow > MAX_U64 || t.feeEscrow > MAX_U64) fail('INVALID_AMOUNT', 'escrow would not fit in 64 bits');
    moveLease(l, LeaseState.Disputed);
    l.disputeDeposit = deposit;
    writeLease(ctx, idHex, p.lease, l);
    const wanted = l.held > BigInt(ctx.params.market.singleVerifierMaxPayZnc) * ZNC_UNIT ? VERIFIER_QUORUM : 1;
    stores.disputes.set(ctx.state, idHex, p.lease, { wanted, draws: 0, drawAt: 0n, deposit, feeDeposit, disputedPay: l.held } satisfies DisputeState);
    scheduleDraw(ctx, idHex, p.lease);
    writeTask(ctx, idHex, t);
  },
});

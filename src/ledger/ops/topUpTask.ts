import { debit, readAccount, writeAccount } from '../context.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { escrowLow } from '../market/escrow.ts';
import { isTaskEnded } from '../market/lifecycle.ts';
import { readTask, requireOwner, writeTask } from '../market/tasks.ts';
import { MAX_U64, ZNC } from '../params.ts';
import { defineOp } from './operation.ts';

export const topUpTask = defineOp({
  kind: 24,
  name: 'TopUpTask',
  schema: { $id: 'TopUpTask', fields: { task: { id: 1, ...taskId }, amount: { id: 2, type: 'uint64' }, feeAmount: { id: 3, type: 'uint64' } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t] = readTask(ctx, p.task);
    requireOwner(t, tx);
    if (isTaskEnded(t)) fail('TASK_ENDED', `task ${idHex} has already ended`);
    if (p.amount === 0n && p.feeAmount === 0n) fail('INVALID_AMOUNT', 'top up by a positive amount');
    if (p.feeAmount > 0n && t.feeToken === ZNC) fail('INVALID_AMOUNT', "this task's license fee is paid in ZNC: top up `amount` only");
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, ZNC, p.amount, tx.from);
    if (p.feeAmount > 0n) debit(ctx, acc, t.feeToken, p.feeAmount, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    t.escrow += p.amount;
    t.feeEscrow += p.feeAmount;
    if (t.escrow > MAX_U64 || t.feeEscrow > MAX_U64) fail('INVALID_AMOUNT', 'escrow would not fit in 64 bits');
    if (t.graceUntil !== 0n && !escrowLow(ctx, idHex, t)) t.graceUntil = 0n;
    writeTask(ctx, idHex, t);
  },
});

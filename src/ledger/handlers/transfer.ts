import { debit, credit, readAccount, requirePositive, requireRecipient, requireToken, writeAccount, type ExecContext } from '../context.ts';
import type { Payload, Tx, TxKind } from '../tx.ts';

/** Moves ZNC or a sub-token; crosses to another inner chain by a credit receipt. */
export function transfer(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.Transfer>): void {
  requirePositive(p.amount);
  requireToken(ctx, p.token);
  requireRecipient(ctx, p.to);
  const acc = readAccount(ctx.state, tx.fromHex);
  debit(ctx, acc, p.token, p.amount, tx.from);
  writeAccount(ctx.state, tx.fromHex, acc);
  credit(ctx, p.to, p.token, p.amount);
}

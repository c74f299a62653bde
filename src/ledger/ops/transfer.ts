import { credit, debit, readAccount, requirePositive, requireRecipient, requireToken, writeAccount } from '../context.ts';
import { recipient, tokenSymbol } from '../fields.ts';
import { defineOp } from './operation.ts';

/** Moves ZNC or a sub-token; crosses to another inner chain by a credit receipt. */
export const transfer = defineOp({
  kind: 1,
  name: 'Transfer',
  schema: {
    $id: 'Transfer',
    fields: { to: { id: 1, ...recipient }, token: { id: 2, ...tokenSymbol }, amount: { id: 3, type: 'uint64' }, memo: { id: 4, type: 'string', max: 256 } },
  },
  // The sender's funds live on its home chain; the recipient's side arrives there by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    requirePositive(p.amount);
    requireToken(ctx, p.token);
    requireRecipient(ctx, p.to);
  },
  apply(ctx, tx, p) {
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, p.token, p.amount, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    credit(ctx, p.to, p.token, p.amount);
  },
});

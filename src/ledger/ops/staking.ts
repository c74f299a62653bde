import * as stores from '../stores.ts';
import { toHex } from '../../crypto/portable.ts';
import { requirePositive, sendToMain, type ExecContext } from '../context.ts';
import type { Stake } from '../entries.ts';
import { fail } from '../errors.ts';
import { ZNC } from '../params.ts';
import { ReceiptKind, type Receipt } from '../receipts.ts';
import { credit } from '../context.ts';
import { defineOp } from './operation.ts';

/** Stake ZNC: debited on the home chain, added to the stake on main by a receipt. */
export const stake = defineOp({
  kind: 9,
  name: 'Stake',
  schema: { $id: 'Stake', fields: { amount: { id: 1, type: 'uint64' } } },
  // The ZNC staked is the sender's, on its home chain; the stake on main grows by receipt.
  route: 'home',
  admit(_ctx, _tx, p) {
    requirePositive(p.amount);
  },
  apply(ctx, tx, p) {
    sendToMain(ctx, tx, p.amount, ReceiptKind.StakeDeposit);
  },
});

function readStake(ctx: ExecContext, addrHex: string): Stake {
  const s = stores.stakes.get(ctx.state, addrHex);
  return s ? { ...s } : { staked: 0n, unbonding: 0n };
}

/** Unstake (main chain): the amount unbonds and is credited back after the unbonding period. */
export const unstake = defineOp({
  kind: 10,
  name: 'Unstake',
  schema: { $id: 'Unstake', fields: { amount: { id: 1, type: 'uint64' } } },
  // Stakes and the unbonding queue are on main (stake weighs in elections there).
  route: 'main',
  admit(_ctx, _tx, p) {
    requirePositive(p.amount);
  },
  apply(ctx, tx, p) {
    const s = readStake(ctx, tx.fromHex);
    if (s.staked < p.amount) fail('INSUFFICIENT_STAKE', `staked ${s.staked} ZNC base units; cannot unstake ${p.amount}`);
    s.staked -= p.amount;
    s.unbonding += p.amount;
    stores.stakes.set(ctx.state, tx.fromHex, s);
    const q = stores.unbonding.get(ctx.state) ?? { entries: [] };
    const entries = [...q.entries, { address: tx.from, amount: p.amount, releaseAt: BigInt(ctx.time + ctx.params.unbondingMs) }];
    // Stable by release time, then arrival: every node releases in the same order.
    entries.sort((a, b) => (a.releaseAt < b.releaseAt ? -1 : a.releaseAt > b.releaseAt ? 1 : 0));
    stores.unbonding.set(ctx.state, { entries });
  },
});

/** Main-chain receipt: a stake deposit arrives. */
export function applyStakeDeposit(ctx: ExecContext, r: Receipt): void {
  const hex = toHex(r.address);
  const s = readStake(ctx, hex);
  s.staked += r.amount;
  stores.stakes.set(ctx.state, hex, s);
}

/** Start of every main-chain height: matured unbondings become spendable again. */
export function releaseUnbonded(ctx: ExecContext): void {
  const q = stores.unbonding.get(ctx.state);
  if (!q || q.entries.length === 0 || q.entries[0].releaseAt > BigInt(ctx.time)) return;
  const now = BigInt(ctx.time);
  const due = q.entries.filter((e) => e.releaseAt <= now);
  stores.unbonding.set(ctx.state, { entries: q.entries.filter((e) => e.releaseAt > now) });
  for (const e of due) {
    const hex = toHex(e.address);
    const s = readStake(ctx, hex);
    s.unbonding -= e.amount;
    stores.stakes.set(ctx.state, hex, s);
    credit(ctx, e.address, ZNC, e.amount);
  }
}

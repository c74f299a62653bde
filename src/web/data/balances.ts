// The ZNC balance changes of the wallet's keys, as this page sees them while it is open (the
// header's chip reads the current key's balance on every block): a transfer in, the escrow of a
// posted task going out, the unspent part coming back.

export interface BalanceChange {
  /** This page's count of changes seen, a stable key for the list. */
  seq: number;
  at: number;
  delta: bigint;
  balance: bigint;
}

const last = new Map<string, bigint>();
const changes = new Map<string, BalanceChange[]>();
let seq = 0;

export function noteBalance(address: string, balance: bigint): void {
  const before = last.get(address);
  last.set(address, balance);
  if (before === undefined || before === balance) return;
  const list = changes.get(address) ?? [];
  list.unshift({ seq: ++seq, at: Date.now(), delta: balance - before, balance });
  changes.set(address, list.slice(0, 50));
}

export const balanceChanges = (address: string): BalanceChange[] => changes.get(address) ?? [];

import { AddressKind, addressKind, fromHex, systemAddress, toHex } from '../crypto/portable.ts';
import { GOV_DEPOSITS } from './systemAccounts.ts';
import { lockedAt } from './context.ts';
import { MAIN_CHAIN, TOTAL_SUPPLY, ZNC } from './params.ts';
import { receiptValue } from './receipts.ts';
import type { Ledger } from './ledger.ts';
import { accounts, stakes, tasks, tokens as tokenStore, workers } from './stores.ts';

/** Where every ZNC base unit is at the ledger's current height. */
export interface SupplyReport {
  spendable: bigint;
  vesting: bigint;
  staked: bigint;
  unbonding: bigint;
  multisig: bigint;
  pool: bigint;
  /** ZNC deposited to back sub-tokens. */
  anchored: bigint;
  /** ZNC in receipts between chains, applied at the next height. */
  inFlight: bigint;
  /** ZNC held in escrow by market tasks. */
  escrow: bigint;
  /** ZNC bonded by market workers. */
  bonded: bigint;
  /** ZNC deposited on open governance proposals. */
  deposits: bigint;
  total: bigint;
  /** Per sub-token: supply recorded on main, deposit × rate, and tokens held + in flight. */
  tokens: Record<string, { supply: bigint; backed: bigint; circulating: bigint }>;
}

export function supplyReport(ledger: Ledger): SupplyReport {
  const r: SupplyReport = {
    spendable: 0n,
    vesting: 0n,
    staked: 0n,
    unbonding: 0n,
    multisig: 0n,
    pool: 0n,
    anchored: 0n,
    inFlight: 0n,
    escrow: 0n,
    bonded: 0n,
    deposits: 0n,
    total: 0n,
    tokens: {},
  };
  const depositsHex = toHex(systemAddress(GOV_DEPOSITS));
  const circulating = new Map<string, bigint>();
  const add = (token: string, amount: bigint): void => {
    circulating.set(token, (circulating.get(token) ?? 0n) + amount);
  };
  for (const chain of ledger.chains) {
    for (const [[hex], acc] of accounts.scan(chain)) {
      const kind = addressKind(fromHex(hex));
      for (const [token, amount] of Object.entries(acc.balances)) {
        if (token !== ZNC) {
          add(token, amount);
          continue;
        }
        if (kind === AddressKind.Multisig) r.multisig += amount;
        else if (hex === depositsHex) r.deposits += amount;
        else if (kind === AddressKind.System) r.pool += amount;
        else {
          const locked = lockedAt(acc, ledger.time);
          const lockedPart = locked < amount ? locked : amount;
          r.vesting += lockedPart;
          r.spendable += amount - lockedPart;
        }
      }
    }
  }
  for (const chain of ledger.chains) {
    for (const [, t] of tasks.scan(chain)) {
      r.escrow += t.escrow;
      if (t.feeToken !== ZNC) add(t.feeToken, t.feeEscrow);
    }
  }
  const main = ledger.chains[MAIN_CHAIN];
  for (const [, w] of workers.scan(main)) r.bonded += w.bond;
  for (const [, s] of stakes.scan(main)) {
    r.staked += s.staked;
    r.unbonding += s.unbonding;
  }
  const tokens = tokenStore.scan(main).map(([, t]) => t);
  for (const t of tokens) r.anchored += t.deposit;
  for (const rc of ledger.inFlight) {
    const v = receiptValue(rc);
    if (v.token === ZNC) r.inFlight += v.amount;
    else add(v.token, v.amount);
  }
  for (const t of tokens) {
    r.tokens[t.symbol] = { supply: t.supply, backed: t.deposit * t.anchorRate, circulating: circulating.get(t.symbol) ?? 0n };
  }
  r.total = r.spendable + r.vesting + r.staked + r.unbonding + r.multisig + r.pool + r.anchored + r.inFlight + r.escrow + r.bonded + r.deposits;
  return r;
}

/** Throws if any ZNC was created or destroyed, or any sub-token is not exactly backed. */
export function checkSupply(ledger: Ledger): SupplyReport {
  const r = supplyReport(ledger);
  if (r.total !== TOTAL_SUPPLY) throw new Error(`supply is ${r.total}, must be ${TOTAL_SUPPLY} (height ${ledger.height})`);
  for (const [sym, t] of Object.entries(r.tokens)) {
    if (t.supply !== t.backed || t.supply !== t.circulating) {
      throw new Error(`${sym}: supply ${t.supply}, deposit × rate ${t.backed}, held + in flight ${t.circulating}`);
    }
  }
  return r;
}

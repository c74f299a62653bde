import { AddressKind, addressKind, bytesEqual, encodeAddress, systemAddress, toHex } from '../crypto/portable.ts';
import type { Account, Token } from './entries.ts';
import { fail } from './errors.ts';
import { formatUnits } from './amounts.ts';
import { MAIN_CHAIN, ZNC, ZNC_DECIMALS, type LedgerParams } from './params.ts';
import { ReceiptKind, type Receipt } from './receipts.ts';
import type { StateOverlay, StateReader, StateWriter } from './state.ts';
import { accounts, multisigs, stakes, tokens } from './stores.ts';
import { homeChain } from './routing.ts';
import { GOV_DEPOSITS, isSystemAccount, SYSTEM_ACCOUNT_NAMES } from './systemAccounts.ts';

/**
 * Everything a transaction handler may touch: its own chain's state, a read-only view of the
 * main chain as committed at the previous height, and the block's height and time. No clock,
 * no I/O, no randomness: every node computes the same result.
 */
export interface ExecContext {
  readonly chain: number;
  readonly height: number;
  /** Block time in milliseconds. */
  readonly time: number;
  /**
   * Hash of the previous height's block header (all zeros at height 1): chain data nobody can
   * choose alone, fixed before this height runs (the market's verifier draw takes its seed here).
   */
  readonly prevHash: Uint8Array;
  readonly params: LedgerParams;
  /** The development reserve's multisig address (empty when the genesis has none). */
  readonly reserve: Uint8Array;
  readonly state: StateOverlay;
  /** Main-chain state as of the end of the previous height (for inner chains). */
  readonly main: StateReader;
  emit(receipt: Omit<Receipt, 'source'>): void;
  /** Tells clients what happened (not part of state: it changes no root). */
  announce(event: MarketEvent): void;
}

/** Something a market participant wants to hear about as it happens. */
export interface MarketEvent {
  kind: 'task-posted' | 'window-closed' | 'lease-matched' | 'lease-started' | 'lease-ended' | 'escrow-low' | 'task-ended';
  /** Task id (hex). */
  task: string;
  lease?: number;
  /** Worker address (hex). */
  worker?: string;
  /** A state name, an outcome or a reason, in words. */
  detail?: string;
}

export function emptyAccount(): Account {
  return { balances: {}, vesting: [], nonce: 0n, quotaWindow: 0n, quotaUsed: 0 };
}

/** A private copy of an account, safe to modify and write back. */
export function readAccount(state: StateReader, addrHex: string): Account {
  const a = accounts.get(state, addrHex);
  if (!a) return emptyAccount();
  return { balances: { ...a.balances }, vesting: a.vesting, nonce: a.nonce, quotaWindow: a.quotaWindow, quotaUsed: a.quotaUsed };
}

export function writeAccount(state: StateWriter, addrHex: string, acc: Account): void {
  accounts.set(state, addrHex, acc);
}

/** ZNC still locked by a vesting schedule at `time`: tranches whose release time has not come. */
export function lockedAt(acc: Account, time: number): bigint {
  let locked = 0n;
  for (const t of acc.vesting) if (t.at > BigInt(time)) locked += t.amount;
  return locked;
}

export function balanceOf(acc: Account, token: string): bigint {
  return acc.balances[token] ?? 0n;
}

export function spendable(acc: Account, token: string, time: number): bigint {
  const bal = balanceOf(acc, token);
  if (token !== ZNC) return bal;
  const free = bal - lockedAt(acc, time);
  return free > 0n ? free : 0n;
}

/** Takes `amount` from an account in the overlay, refusing more than it may spend. */
export function debit(ctx: ExecContext, acc: Account, token: string, amount: bigint, who: Uint8Array): void {
  const bal = balanceOf(acc, token);
  const free = spendable(acc, token, ctx.time);
  if (amount > free) {
    const decimals = token === ZNC ? ZNC_DECIMALS : (tokenInfo(ctx, token)?.decimals ?? 0);
    const f = (v: bigint): string => `${formatUnits(v, decimals)} ${token}`;
    if (amount <= bal) {
      fail('FUNDS_VESTING', `${encodeAddress(who)} holds ${f(bal)} but only ${f(free)} has vested and is spendable now; ${f(amount)} requested`);
    }
    fail('INSUFFICIENT_FUNDS', `${encodeAddress(who)} has ${f(bal)}; ${f(amount)} requested`);
  }
  acc.balances[token] = bal - amount;
}

/**
 * The sender's ZNC leaves its home chain for main, where a receipt of `kind` does what the
 * transaction asked with it (a stake, a proposal's deposit). Debited here, never on main: the
 * balance lives on the home chain.
 */
export function sendToMain(
  ctx: ExecContext,
  from: { from: Uint8Array; fromHex: string },
  amount: bigint,
  kind: ReceiptKind,
  data: Uint8Array = new Uint8Array(),
): void {
  const acc = readAccount(ctx.state, from.fromHex);
  debit(ctx, acc, ZNC, amount, from.from);
  writeAccount(ctx.state, from.fromHex, acc);
  ctx.emit({ kind, address: from.from, token: ZNC, amount, data });
}

/** Gives `amount` to `to`: directly when it lives on this chain, otherwise by a receipt. */
export function credit(ctx: ExecContext, to: Uint8Array, token: string, amount: bigint): void {
  if (amount === 0n) return;
  if (homeChain(to) === ctx.chain) {
    const hex = toHex(to);
    const acc = readAccount(ctx.state, hex);
    acc.balances[token] = balanceOf(acc, token) + amount;
    writeAccount(ctx.state, hex, acc);
  } else {
    ctx.emit({ kind: ReceiptKind.Credit, address: to, token, amount, data: new Uint8Array() });
  }
}

/** Main-chain token registry entry as of the previous height (or this height on main). */
export function tokenInfo(ctx: ExecContext, symbol: string): Token | undefined {
  const reader = ctx.chain === MAIN_CHAIN ? ctx.state : ctx.main;
  return tokens.get(reader, symbol);
}

export function requireToken(ctx: ExecContext, symbol: string): void {
  if (symbol !== ZNC && !tokenInfo(ctx, symbol)) fail('UNKNOWN_TOKEN', `unknown token "${symbol}"`);
}

export function stakedOf(main: StateReader, addrHex: string): bigint {
  return stakes.get(main, addrHex)?.staked ?? 0n;
}

export function quotaLimit(params: LedgerParams, staked: bigint): number {
  return params.freeQuota + Number(staked / params.quotaStakeUnit);
}

export function requirePositive(amount: bigint, what = 'amount'): void {
  if (amount <= 0n) fail('INVALID_AMOUNT', `${what} must be greater than zero`);
}

/**
 * Refuses to send value or rights where nobody could ever spend them: the recipient must be a key
 * address, a multisig account that exists (on main as this chain sees it), or one of the ledger's
 * own system accounts. Checked on the sending chain, before anything leaves it.
 */
export function requireRecipient(ctx: ExecContext, to: Uint8Array, what = 'recipient'): void {
  const kind = addressKind(to);
  if (kind === AddressKind.Key) return;
  if (kind === AddressKind.Multisig) {
    const reader = ctx.chain === MAIN_CHAIN ? ctx.state : ctx.main;
    if (multisigs.has(reader, toHex(to))) return;
    fail(
      'INVALID_RECIPIENT',
      `${what} ${encodeAddress(to)} is no multisig account on the chain: nothing sent there could ever be spent; create the multisig first (or check the address)`,
    );
  }
  if (kind === AddressKind.System && bytesEqual(to, systemAddress(GOV_DEPOSITS))) {
    fail('INVALID_RECIPIENT', `${what} ${encodeAddress(to)} holds governance deposits by proposal: deposit with GovDeposit (zeus gov deposit), not a transfer`);
  }
  if (kind === AddressKind.System && isSystemAccount(to)) return;
  fail(
    'INVALID_RECIPIENT',
    `${what} ${encodeAddress(to)} is not an account of the ledger (${SYSTEM_ACCOUNT_NAMES.join(', ')}) nor of a key: nothing sent there could ever be spent`,
  );
}

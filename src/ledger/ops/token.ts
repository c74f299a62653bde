import * as stores from '../stores.ts';
import { decode, encode } from '../../codec/index.ts';
import { toHex } from '../../crypto/portable.ts';
import { credit, debit, readAccount, requirePositive, tokenInfo, writeAccount, type ExecContext } from '../context.ts';
import type { Token } from '../entries.ts';
import { fail } from '../errors.ts';
import { MAX_U64, ZNC } from '../params.ts';
import { ReceiptKind, TokenRegistrationSchema, type Receipt } from '../receipts.ts';
import { tokenSymbol } from '../fields.ts';
import { defineOp } from './operation.ts';

const SYMBOL = /^[A-Z][A-Z0-9]{1,9}$/;
const utf8 = new TextEncoder();

function requireSubToken(ctx: ExecContext, symbol: string): Token {
  const t = tokenInfo(ctx, symbol);
  if (!t) fail('UNKNOWN_TOKEN', symbol === ZNC ? 'ZNC is not a sub-token' : `unknown token "${symbol}"`);
  return t;
}

function requireMultiple(amount: bigint, t: Token): void {
  if (amount % t.anchorRate !== 0n) {
    fail('INVALID_AMOUNT', `${t.symbol} converts at ${t.anchorRate} base units per ZNC base unit; amount must be a multiple of ${t.anchorRate}`);
  }
}

/**
 * Issue a sub-token: the ZNC deposit leaves the issuer's home chain; the main chain registers
 * the token and credits supply = deposit × anchor rate, or refunds if the symbol was taken
 * in the same height.
 */
export const tokenCreate = defineOp({
  kind: 2,
  name: 'TokenCreate',
  schema: {
    $id: 'TokenCreate',
    fields: {
      symbol: { id: 1, ...tokenSymbol },
      name: { id: 2, type: 'string', max: 64 },
      decimals: { id: 3, type: 'uint32' },
      anchorRate: { id: 4, type: 'uint64' },
      deposit: { id: 5, type: 'uint64' },
    },
  },
  // The deposit is the issuer's ZNC, on its home chain; the registry on main hears of it by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    if (!SYMBOL.test(p.symbol) || p.symbol === ZNC) {
      fail('INVALID_ARGUMENT', 'symbol must be 2–10 characters A–Z and 0–9, starting with a letter, and not ZNC');
    }
    if (p.name.trim() === '') fail('INVALID_ARGUMENT', 'token name must not be empty');
    if (p.decimals > 18) fail('INVALID_ARGUMENT', 'decimals must be at most 18');
    requirePositive(p.anchorRate, 'anchor rate');
    requirePositive(p.deposit, 'deposit');
    if (p.deposit * p.anchorRate > MAX_U64) fail('INVALID_AMOUNT', 'deposit × anchor rate exceeds the largest supply (2^64 − 1)');
    if (tokenInfo(ctx, p.symbol)) fail('TOKEN_EXISTS', `token ${p.symbol} already exists`);
  },
  apply(ctx, tx, p) {
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, ZNC, p.deposit, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    ctx.emit({
      kind: ReceiptKind.TokenRegister,
      address: tx.from,
      token: p.symbol,
      amount: p.deposit,
      data: encode(TokenRegistrationSchema, { name: p.name, decimals: p.decimals, anchorRate: p.anchorRate }),
    });
  },
});

/** Redeem a sub-token for ZNC at its anchor rate (burn here, pay out from the deposit on main). */
export const tokenRedeem = defineOp({
  kind: 3,
  name: 'TokenRedeem',
  schema: { $id: 'TokenRedeem', fields: { symbol: { id: 1, ...tokenSymbol }, amount: { id: 2, type: 'uint64' } } },
  // The tokens burn where the holder keeps them, its home chain; the ZNC comes from main by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    requirePositive(p.amount);
    requireMultiple(p.amount, requireSubToken(ctx, p.symbol));
  },
  apply(ctx, tx, p) {
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, p.symbol, p.amount, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    ctx.emit({ kind: ReceiptKind.TokenRedeem, address: tx.from, token: p.symbol, amount: p.amount, data: new Uint8Array() });
  },
});

/** Convert one sub-token into another through ZNC, atomically on the main chain. */
export const tokenConvert = defineOp({
  kind: 4,
  name: 'TokenConvert',
  schema: { $id: 'TokenConvert', fields: { from: { id: 1, ...tokenSymbol }, to: { id: 2, ...tokenSymbol }, amount: { id: 3, type: 'uint64' } } },
  // The tokens burn on the holder's home chain; main converts and credits by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    requirePositive(p.amount);
    if (p.from === p.to) fail('INVALID_ARGUMENT', 'cannot convert a token into itself');
    const from = requireSubToken(ctx, p.from);
    const to = requireSubToken(ctx, p.to);
    requireMultiple(p.amount, from);
    if (to.supply + (p.amount / from.anchorRate) * to.anchorRate > MAX_U64) fail('INVALID_AMOUNT', `${p.to} supply would overflow`);
  },
  apply(ctx, tx, p) {
    const acc = readAccount(ctx.state, tx.fromHex);
    debit(ctx, acc, p.from, p.amount, tx.from);
    writeAccount(ctx.state, tx.fromHex, acc);
    ctx.emit({ kind: ReceiptKind.TokenConvert, address: tx.from, token: p.from, amount: p.amount, data: utf8.encode(p.to) });
  },
});

function writeToken(ctx: ExecContext, t: Token): void {
  stores.tokens.set(ctx.state, t.symbol, t);
}

/** Main-chain receipts of the token registry. None can fail; a conflict refunds instead. */
export function applyTokenReceipt(ctx: ExecContext, r: Receipt): void {
  const existing = stores.tokens.get(ctx.state, r.token);
  switch (r.kind) {
    case ReceiptKind.TokenRegister: {
      if (existing) return credit(ctx, r.address, ZNC, r.amount);
      const reg = decode(TokenRegistrationSchema, r.data);
      const supply = r.amount * reg.anchorRate;
      writeToken(ctx, { symbol: r.token, name: reg.name, decimals: reg.decimals, anchorRate: reg.anchorRate, deposit: r.amount, supply, issuer: r.address });
      return credit(ctx, r.address, r.token, supply);
    }
    case ReceiptKind.TokenRedeem: {
      const t = { ...existing! };
      const znc = r.amount / t.anchorRate;
      t.deposit -= znc;
      t.supply -= r.amount;
      writeToken(ctx, t);
      return credit(ctx, r.address, ZNC, znc);
    }
    case ReceiptKind.TokenConvert: {
      const from = { ...existing! };
      const toSymbol = new TextDecoder().decode(r.data);
      const to = { ...stores.tokens.get(ctx.state, toSymbol)! };
      const znc = r.amount / from.anchorRate;
      const out = znc * to.anchorRate;
      // Two conversions into one token in a height could overflow together: give the burned tokens back.
      if (to.supply + out > MAX_U64) return credit(ctx, r.address, r.token, r.amount);
      from.deposit -= znc;
      from.supply -= r.amount;
      to.deposit += znc;
      to.supply += out;
      writeToken(ctx, from);
      writeToken(ctx, to);
      return credit(ctx, r.address, toSymbol, out);
    }
  }
  throw new Error(`not a token receipt: ${r.kind} (${toHex(r.address)})`);
}

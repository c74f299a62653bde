import { decodeList, encode, encodeList, type Infer } from '../codec/index.ts';
import { sha256 } from '../crypto/portable.ts';
import { address, optionalAddress } from './fields.ts';
import { MAIN_CHAIN, ZNC } from './params.ts';
import { homeChain } from './routing.ts';

/**
 * What one chain owes another after a height. Receipts only ever add value on arrival;
 * their value is counted as "in flight" until the target chain applies it at the next height.
 */
export const ReceiptKind = {
  /** Credit `amount` of `token` to `address` on its home chain. */
  Credit: 1,
  /** Add `amount` ZNC to `address`'s stake (main chain). */
  StakeDeposit: 2,
  /** Register sub-token `token` backed by `amount` ZNC for issuer `address` (main chain). */
  TokenRegister: 3,
  /** `amount` of sub-token `token` was burned by `address`; pay out its ZNC (main chain). */
  TokenRedeem: 4,
  /** `amount` of sub-token `token` was burned by `address` to convert into `data` (main chain). */
  TokenConvert: 5,
  /** How a lease of worker `address` ended (`data`: WorkerOutcome), for its record and bond on main. */
  WorkerRecord: 6,
  /** A governance proposal by `address` with `amount` ZNC of deposit (`data`: ProposalSubmission) arrives on main. */
  GovSubmit: 7,
  /** `amount` ZNC deposited by `address` on proposal `data` (8 bytes, big-endian id) arrives on main. */
  GovDeposit: 8,
} as const;
export type ReceiptKind = (typeof ReceiptKind)[keyof typeof ReceiptKind];

export const ReceiptSchema = {
  $id: 'Receipt',
  fields: {
    kind: { id: 1, type: 'uint32' },
    source: { id: 2, type: 'uint32' },
    address: { id: 3, ...address },
    token: { id: 4, type: 'string', max: 10 },
    amount: { id: 5, type: 'uint64' },
    // A proposal's content travels to main in a receipt (GovSubmit).
    data: { id: 6, type: 'bytes', max: 4_096 },
  },
} as const;
export type Receipt = Infer<typeof ReceiptSchema>;

export const ReceiptListSchema = { $id: 'ReceiptList', fields: { receipts: { id: 1, type: { array: ReceiptSchema } } } } as const;

export const TokenRegistrationSchema = {
  $id: 'TokenRegistration',
  fields: { name: { id: 1, type: 'string', max: 64 }, decimals: { id: 2, type: 'uint32' }, anchorRate: { id: 3, type: 'uint64' } },
} as const;

export const WorkerOutcome = {
  Completed: 1,
  Failed: 2,
  Abandoned: 3,
  DisputeLost: 4,
  Minority: 5,
  /** The app failed on its own and the outcome was accepted: the worker's record notes it, its rating and bond are untouched. */
  AppFailed: 33,
  /** The worker released the lease before starting it (its image could not be fetched): noted, never slashed. */
  Released: 34,
} as const;
export type WorkerOutcome = (typeof WorkerOutcome)[keyof typeof WorkerOutcome];
export const WorkerOutcomeSchema = {
  $id: 'WorkerOutcome',
  fields: {
    outcome: { id: 1, type: 'uint32' },
    /** Share of the bond slashed (basis points). */
    slashBp: { id: 2, type: 'uint32' },
    /** Who receives the slashed bond (empty: the rewards pool). */
    beneficiary: { id: 3, ...optionalAddress },
    /** `name@version` of the task's app, for the app's own counters (AppFailed, Released); none for a raw image. */
    app: { id: 50, type: { array: 'string', max: 1 }, max: 97 },
  },
} as const;

export function receiptTarget(r: Receipt): number {
  return r.kind === ReceiptKind.Credit ? homeChain(r.address) : MAIN_CHAIN;
}

// Each receipt's canonical encoding, made once: a receipt is hashed when emitted, then its list is
// encoded for the store (every height) and, with parallel execution, for the other thread and back.
// A receipt with a known encoding is frozen, so that the encoding cannot go stale.
const encodings = new WeakMap<Receipt, Uint8Array>();

/** A receipt's canonical encoding (ReceiptSchema). */
export function receiptBytes(r: Receipt): Uint8Array {
  let bytes = encodings.get(r);
  if (!bytes) {
    bytes = encode(ReceiptSchema, r);
    encodings.set(Object.freeze(r), bytes);
  }
  return bytes;
}

export function receiptHash(r: Receipt): Uint8Array {
  return sha256(receiptBytes(r));
}

/** ZNC and sub-token amounts a receipt carries while in flight (for the supply invariant). */
export function receiptValue(r: Receipt): { token: string; amount: bigint } {
  switch (r.kind) {
    case ReceiptKind.StakeDeposit:
    case ReceiptKind.TokenRegister:
      return { token: ZNC, amount: r.amount };
    case ReceiptKind.WorkerRecord:
      return { token: ZNC, amount: 0n };
    default:
      return { token: r.token, amount: r.amount };
  }
}

/** encode(ReceiptListSchema, { receipts }), from each receipt's encoding made once (receiptBytes). */
export const encodeReceipts = (receipts: readonly Receipt[]): Uint8Array => encodeList(ReceiptListSchema, receipts.map(receiptBytes));

/** decode(ReceiptListSchema, bytes).receipts, each receipt knowing its encoding for when it is encoded again. */
export function decodeReceipts(bytes: Uint8Array): Receipt[] {
  const { value, items } = decodeList(ReceiptListSchema, bytes);
  value.receipts.forEach((r, i) => encodings.set(Object.freeze(r), items[i]));
  return value.receipts;
}

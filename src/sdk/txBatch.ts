import { CodecError, decode, encode } from '../codec/index.ts';

// The binary submission formats (docs/API.md, "Binary submission"), in the project's own codec
// so a client needs nothing beyond what it already signs with:
//
//   TxBatch { txs = 2: repeated bytes }                  POST /txs, application/octet-stream
//   TxFrame { seq = 1: uint32; txs = 2: repeated bytes } a binary WebSocket frame on /ws
//
// Field 1 of a TxBatch is never used, so the first byte tells the three apart without a header:
// a signed transaction's canonical encoding always starts with 0x0a (field 1, its chain id,
// length-delimited), a TxBatch with 0x12 (field 2), a TxFrame with 0x08 (field 1, a varint). A
// TxFrame is `seq` followed by the bytes of the TxBatch it carries.

/** Most transactions in one submission: a JSON or binary POST /txs, or one WebSocket frame. */
export const MAX_BATCH_TXS = 10_000;

/** First byte of every TxBatch with at least one transaction (field 2, length-delimited). */
export const TX_BATCH_TAG = 0x12;

// No per-item size limit here: a transaction over MAX_TX_BYTES gets its own TX_TOO_LARGE result
// (as in a JSON batch) rather than failing the batch; the body or frame limit bounds the memory.
const txsField = { id: 2, type: { array: 'bytes', max: MAX_BATCH_TXS, code: 'BATCH_TOO_LARGE' } } as const;

export const TxBatchSchema = { $id: 'TxBatch', fields: { txs: txsField } } as const;
export const TxFrameSchema = { $id: 'TxFrame', fields: { seq: { id: 1, type: 'uint32' }, txs: txsField } } as const;

/**
 * Why a binary submission was refused as a whole: BAD_ENCODING (not a canonical TxBatch/TxFrame),
 * BATCH_TOO_LARGE (more than MAX_BATCH_TXS transactions) or EMPTY_BATCH (none at all).
 */
export class TxBatchError extends Error {
  override name = 'TxBatchError';
  readonly code: 'BAD_ENCODING' | 'BATCH_TOO_LARGE' | 'EMPTY_BATCH';
  constructor(code: TxBatchError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

function refusal(e: unknown, what: string): TxBatchError {
  if (!(e instanceof CodecError)) throw e;
  if (e.code === 'BATCH_TOO_LARGE') return new TxBatchError('BATCH_TOO_LARGE', `at most ${MAX_BATCH_TXS} transactions per request (${e.message})`);
  return new TxBatchError('BAD_ENCODING', `malformed ${what}: ${e.message}`);
}

const tooMany = (n: number): TxBatchError => new TxBatchError('BATCH_TOO_LARGE', `at most ${MAX_BATCH_TXS} transactions per request, not ${n}`);
const none = (what: string): TxBatchError => new TxBatchError('EMPTY_BATCH', `the ${what} carries no transaction`);

/** The POST /txs body for signed transactions (at least one, at most MAX_BATCH_TXS). */
export function encodeTxBatch(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 0) throw none('TxBatch');
  if (txs.length > MAX_BATCH_TXS) throw tooMany(txs.length);
  return encode(TxBatchSchema, { txs: [...txs] });
}

/** The transactions of a TxBatch; throws TxBatchError. */
export function decodeTxBatch(bytes: Uint8Array): Uint8Array[] {
  let txs: Uint8Array[];
  try {
    txs = decode(TxBatchSchema, bytes).txs;
  } catch (e) {
    throw refusal(e, 'TxBatch');
  }
  if (txs.length === 0) throw none('TxBatch');
  return txs;
}

/** A WebSocket frame submitting signed transactions, numbered `seq` by the client. */
export function encodeTxFrame(seq: number, txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 0) throw none('TxFrame');
  if (txs.length > MAX_BATCH_TXS) throw tooMany(txs.length);
  return encode(TxFrameSchema, { seq, txs: [...txs] });
}

/** A TxFrame's number and transactions; throws TxBatchError (see `frameSeq` for the number of a bad one). */
export function decodeTxFrame(bytes: Uint8Array): { seq: number; txs: Uint8Array[] } {
  let frame: { seq: number; txs: Uint8Array[] };
  try {
    frame = decode(TxFrameSchema, bytes);
  } catch (e) {
    throw refusal(e, 'TxFrame');
  }
  if (frame.txs.length === 0) throw none('TxFrame');
  return frame;
}

/**
 * The `seq` a frame starts with, even when the rest is malformed, so the error answer can name
 * the request it refuses; undefined when not even that reads.
 */
export function frameSeq(bytes: Uint8Array): number | undefined {
  if (bytes[0] !== 0x08) return undefined;
  let v = 0;
  for (let i = 1, mul = 1; i < Math.min(bytes.length, 6); i++, mul *= 128) {
    v += (bytes[i] & 0x7f) * mul;
    if ((bytes[i] & 0x80) === 0) return v <= 0xffffffff ? v : undefined;
  }
  return undefined;
}

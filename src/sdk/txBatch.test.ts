import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTx, keyPairFromSeed, signTx, TxKind, ZNC } from './index.ts';
import { decodeTxBatch, decodeTxFrame, encodeTxBatch, encodeTxFrame, frameSeq, MAX_BATCH_TXS, TX_BATCH_TAG, TxBatchError } from './txBatch.ts';

// The binary submission formats: every batch and frame round-trips byte for byte, anything that
// is not a canonical encoding is refused as BAD_ENCODING, the count limit as BATCH_TOO_LARGE, and
// the first byte tells a signed transaction, a TxBatch and a TxFrame apart.

const txs = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 40 });
const seq = fc.integer({ min: 0, max: 0xffffffff });

const refusedAs = (f: () => unknown, code: TxBatchError['code']): void => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(TxBatchError);
  expect((err as TxBatchError).code).toBe(code);
};

/** The bytes of a TxBatch of `n` empty transactions, written by hand (field 2, length 0, n times). */
const rawBatch = (n: number): Uint8Array => Uint8Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? TX_BATCH_TAG : 0));

describe('TxBatch and TxFrame', () => {
  it('round-trip: decode(encode(x)) = x and encode(decode(b)) = b', () => {
    fc.assert(
      fc.property(txs, (list) => {
        const b = encodeTxBatch(list);
        expect(decodeTxBatch(b)).toEqual(list);
        expect(encodeTxBatch(decodeTxBatch(b))).toEqual(b);
      }),
    );
    fc.assert(
      fc.property(seq, txs, (s, list) => {
        const b = encodeTxFrame(s, list);
        expect(decodeTxFrame(b)).toEqual({ seq: s, txs: list });
        expect(encodeTxFrame(s, decodeTxFrame(b).txs)).toEqual(b);
        expect(frameSeq(b)).toBe(s);
      }),
    );
  });

  it('a TxFrame is its seq followed by the TxBatch it carries', () => {
    const list = [Uint8Array.of(1, 2, 3), new Uint8Array(200).fill(9)];
    const frame = encodeTxFrame(300, list);
    const batch = encodeTxBatch(list);
    expect(frame.subarray(frame.length - batch.length)).toEqual(batch);
    expect(Array.from(frame.subarray(0, frame.length - batch.length))).toEqual([0x08, 0xac, 0x02]);
  });

  it('the first byte tells a signed transaction (0x0a), a TxBatch (0x12) and a TxFrame (0x08) apart', () => {
    const key = keyPairFromSeed(new Uint8Array(32).fill(3));
    const tx = signTx(key, { chainId: '', kind: TxKind.Transfer, nonce: 0n, payload: { to: new Uint8Array(21), token: ZNC, amount: 1n, memo: '' } });
    expect(tx[0]).toBe(0x0a);
    expect(encodeTxBatch([tx])[0]).toBe(TX_BATCH_TAG);
    expect(encodeTxFrame(0, [tx])[0]).toBe(0x08);
    // Neither reads as the other: a batch is no transaction, a transaction no batch.
    expect(() => decodeTx(encodeTxBatch([tx]))).toThrow(/malformed transaction/);
    refusedAs(() => decodeTxBatch(tx), 'BAD_ENCODING');
    refusedAs(() => decodeTxFrame(encodeTxBatch([tx])), 'BAD_ENCODING');
  });

  it('refuses every non-canonical or malformed body as BAD_ENCODING', () => {
    const good = encodeTxBatch([Uint8Array.of(1, 2), Uint8Array.of(3)]);
    refusedAs(() => decodeTxBatch(good.subarray(0, good.length - 1)), 'BAD_ENCODING'); // truncated
    refusedAs(() => decodeTxBatch(Uint8Array.from([...good, 0])), 'BAD_ENCODING'); // trailing byte
    refusedAs(() => decodeTxBatch(Uint8Array.of(TX_BATCH_TAG, 0x80, 0x00)), 'BAD_ENCODING'); // non-minimal length
    refusedAs(() => decodeTxBatch(Uint8Array.of(TX_BATCH_TAG, 0x05, 1)), 'BAD_ENCODING'); // length past the end
    refusedAs(() => decodeTxBatch(Uint8Array.of(0x1a, 0x00)), 'BAD_ENCODING'); // unknown field 3
    refusedAs(() => decodeTxBatch(Uint8Array.of(0x0a, 0x00)), 'BAD_ENCODING'); // field 1 is never used
    refusedAs(() => decodeTxFrame(Uint8Array.of(TX_BATCH_TAG, 0, 0x08, 1)), 'BAD_ENCODING'); // seq after txs
    refusedAs(() => decodeTxFrame(Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x10, TX_BATCH_TAG, 0)), 'BAD_ENCODING'); // seq over uint32
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          expect(encodeTxBatch(decodeTxBatch(b))).toEqual(b);
        } catch (e) {
          expect(e).toBeInstanceOf(TxBatchError);
        }
      }),
    );
  });

  it('refuses an empty batch or frame as EMPTY_BATCH', () => {
    refusedAs(() => decodeTxBatch(new Uint8Array(0)), 'EMPTY_BATCH');
    refusedAs(() => decodeTxFrame(Uint8Array.of(0x08, 0x07)), 'EMPTY_BATCH');
    refusedAs(() => encodeTxBatch([]), 'EMPTY_BATCH');
    refusedAs(() => encodeTxFrame(1, []), 'EMPTY_BATCH');
  });

  it(`holds at most ${MAX_BATCH_TXS} transactions: one more is BATCH_TOO_LARGE, when encoding and when decoding`, () => {
    expect(decodeTxBatch(rawBatch(MAX_BATCH_TXS))).toHaveLength(MAX_BATCH_TXS);
    refusedAs(() => decodeTxBatch(rawBatch(MAX_BATCH_TXS + 1)), 'BATCH_TOO_LARGE');
    refusedAs(() => decodeTxFrame(Uint8Array.from([0x08, 0x01, ...rawBatch(MAX_BATCH_TXS + 1)])), 'BATCH_TOO_LARGE');
    refusedAs(() => encodeTxBatch(Array.from({ length: MAX_BATCH_TXS + 1 }, () => new Uint8Array(0))), 'BATCH_TOO_LARGE');
    refusedAs(
      () =>
        encodeTxFrame(
          1,
          Array.from({ length: MAX_BATCH_TXS + 1 }, () => new Uint8Array(0)),
        ),
      'BATCH_TOO_LARGE',
    );
  });

  it('reads the seq of a frame whose rest is malformed, and none where there is none', () => {
    expect(frameSeq(Uint8Array.of(0x08, 0x2a, 0xff, 0xff))).toBe(42);
    expect(frameSeq(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0x0f))).toBe(0xffffffff);
    expect(frameSeq(Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x10))).toBeUndefined(); // over uint32
    expect(frameSeq(Uint8Array.of(0x08, 0x80))).toBeUndefined(); // truncated
    expect(frameSeq(Uint8Array.of(TX_BATCH_TAG, 0))).toBeUndefined();
    expect(frameSeq(new Uint8Array(0))).toBeUndefined();
  });
});

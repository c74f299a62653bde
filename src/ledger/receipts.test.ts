import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../codec/index.ts';
import { addressFromPublicKey, generateKeyPair, sha256, toHex } from '../crypto/index.ts';
import { decodeReceipts, encodeReceipts, type Receipt, ReceiptListSchema, ReceiptSchema, receiptHash } from './receipts.ts';

// Receipt lists are encoded from each receipt's encoding, made once; they must stay byte for byte
// what the schema encodes (the state, the store and the other threads all read them).
const addresses = Array.from({ length: 4 }, () => addressFromPublicKey(generateKeyPair().publicKey));
const receipt = fc.record({
  kind: fc.integer({ min: 1, max: 8 }),
  source: fc.integer({ min: 0, max: 9 }),
  address: fc.constantFrom(...addresses),
  token: fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'Z', '0') }),
  amount: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  // Long enough for a multi-byte length varint.
  data: fc.uint8Array({ maxLength: 300 }),
});

describe('receipt lists', () => {
  it('encode as the schema does, and decode to receipts that encode again the same', () => {
    fc.assert(
      fc.property(fc.array(receipt, { maxLength: 12 }), (list: Receipt[]) => {
        const fresh = list.map((r) => ({ ...r }));
        const bytes = encodeReceipts(list);
        expect(toHex(bytes)).toBe(toHex(encode(ReceiptListSchema, { receipts: fresh })));
        const back = decodeReceipts(bytes);
        expect(back).toEqual(fresh);
        expect(toHex(encodeReceipts(back))).toBe(toHex(bytes));
        // A receipt decoded from a list knows its own encoding: its hash is that of the schema's bytes.
        back.forEach((r, i) => expect(toHex(receiptHash(r))).toBe(toHex(sha256(encode(ReceiptSchema, fresh[i])))));
        // A list encoded in part, or in another order, from receipts that already know their encodings.
        const some = back.filter((_, i) => i % 2 === 0).reverse();
        expect(toHex(encodeReceipts(some))).toBe(toHex(encode(ReceiptListSchema, { receipts: some.map((r) => ({ ...r })) })));
        expect(decode(ReceiptListSchema, encodeReceipts(some)).receipts).toEqual(some);
      }),
      { numRuns: 200 },
    );
  });

  it('a receipt whose encoding was made cannot be changed afterwards (it would go stale)', () => {
    const r: Receipt = { kind: 1, source: 2, address: addresses[0], token: 'ZNC', amount: 5n, data: new Uint8Array() };
    receiptHash(r);
    expect(() => {
      (r as { amount: bigint }).amount = 6n;
    }).toThrow(TypeError);
    const [d] = decodeReceipts(encodeReceipts([{ ...r }]));
    expect(() => {
      (d as { amount: bigint }).amount = 6n;
    }).toThrow(TypeError);
  });
});

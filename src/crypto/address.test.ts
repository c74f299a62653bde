import { createHash } from 'node:crypto';
import { bech32, bech32m } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDRESS_BYTES,
  ADDRESS_HRP,
  AddressKind,
  addressFromPublicKey,
  addressKind,
  decodeAddress,
  encodeAddress,
  isAddress,
  systemAddress,
} from './address.ts';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const addressArb = fc
  .tuple(fc.constantFrom(AddressKind.Key, AddressKind.Multisig, AddressKind.System), fc.uint8Array({ minLength: 20, maxLength: 20 }))
  .map(([kind, digest]) => new Uint8Array([kind, ...digest]));

describe('addresses', () => {
  it('roundtrips and starts with znc1', () => {
    fc.assert(
      fc.property(addressArb, (a) => {
        const text = encodeAddress(a);
        expect(text.startsWith(`${ADDRESS_HRP}1`)).toBe(true);
        expect(ADDRESS_HRP).toBe('znc');
        expect(text).toMatch(/^znc1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{40}$/);
        expect(decodeAddress(text)).toEqual(a);
        expect(isAddress(text)).toBe(true);
        expect(addressKind(decodeAddress(text))).toBe(a[0]);
      }),
      { numRuns: 300 },
    );
  });

  it('derives key addresses as kind 0 || sha256("zeus/address/key" || pk)[0..20]', () => {
    const pk = new Uint8Array(32).fill(9);
    const digest = createHash('sha256').update('zeus/address/key').update(pk).digest();
    const expected = new Uint8Array([0, ...digest.subarray(0, 20)]);
    expect(addressFromPublicKey(pk)).toEqual(expected);
    expect(encodeAddress(addressFromPublicKey(pk))).toBe(bech32m.encode('znc', bech32m.toWords(expected)));
    expect(addressKind(systemAddress('rewards'))).toBe(AddressKind.System);
    expect(systemAddress('rewards')).not.toEqual(systemAddress('fees'));
  });

  it('rejects any single-character change (checksum)', () => {
    fc.assert(
      fc.property(addressArb, fc.nat(), fc.nat(), fc.boolean(), (a, pos, pick, anyChar) => {
        const text = encodeAddress(a);
        const i = pos % text.length;
        // either another bech32 character, or an arbitrary printable ASCII character
        const pool = anyChar ? Array.from({ length: 95 }, (_, k) => String.fromCharCode(32 + k)).join('') : CHARSET;
        const candidates = [...pool].filter((c) => c !== text[i]);
        const changed = text.slice(0, i) + candidates[pick % candidates.length] + text.slice(i + 1);
        expect(() => decodeAddress(changed)).toThrow(/invalid address/);
        expect(isAddress(changed)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every single substitution of one fixed address exhaustively', () => {
    const text = encodeAddress(addressFromPublicKey(new Uint8Array(32)));
    for (let i = 0; i < text.length; i++) {
      for (const c of CHARSET) {
        if (c === text[i]) continue;
        const changed = text.slice(0, i) + c + text.slice(i + 1);
        expect(isAddress(changed), changed).toBe(false);
      }
    }
  });

  it('accepts the all-uppercase form (BIP 350) but not mixed case', () => {
    const a = addressFromPublicKey(new Uint8Array(32).fill(1));
    const text = encodeAddress(a);
    expect(decodeAddress(text.toUpperCase())).toEqual(a);
    expect(isAddress(text.slice(0, 10) + text.slice(10).toUpperCase())).toBe(false);
  });

  it('rejects a wrong prefix', () => {
    const a = addressFromPublicKey(new Uint8Array(32));
    for (const hrp of ['zna', 'bc', 'znc2', 'zn', 'lsk']) {
      expect(() => decodeAddress(bech32m.encode(hrp, bech32m.toWords(a)))).toThrow(/invalid address.*prefix/);
    }
    expect(isAddress(encodeAddress(a).replace(/^znc/, 'znd'))).toBe(false);
  });

  it('rejects a wrong length or kind', () => {
    for (const n of [0, 1, 20, 22, 32]) {
      const text = bech32m.encode('znc', bech32m.toWords(new Uint8Array(n)));
      expect(() => decodeAddress(text), `${n} bytes`).toThrow(/invalid address/);
    }
    // word counts that are no whole number of bytes
    const words = bech32m.toWords(new Uint8Array(ADDRESS_BYTES));
    for (const ws of [words.slice(0, 33), [...words, 0], [...words, 1, 2]]) {
      expect(() => decodeAddress(bech32m.encode('znc', ws))).toThrow(/invalid address/);
    }
    expect(() => decodeAddress(bech32m.encode('znc', bech32m.toWords(new Uint8Array([3, ...new Uint8Array(20)]))))).toThrow(
      /kind byte 0x03 names no kind of account/,
    );
    expect(() => decodeAddress(bech32m.encode('znc', bech32m.toWords(new Uint8Array(20))))).toThrow(/21 bytes.*this is 20/);
    expect(() => encodeAddress(new Uint8Array(20))).toThrow();
    expect(() => encodeAddress(new Uint8Array(22))).toThrow();
    expect(isAddress('')).toBe(false);
    expect(isAddress('znc1')).toBe(false);
    expect(isAddress(`${encodeAddress(new Uint8Array(21))}q`)).toBe(false);
  });

  it('bech32 (v0) checksums are not accepted in place of bech32m', () => {
    const a = new Uint8Array(21);
    expect(isAddress(bech32.encode('znc', bech32.toWords(a)))).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress } from './address.ts';
import { generateKeyPair, keyPairFromSeed, signBytes, verifySignature } from './keys.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

interface KeyVector {
  name: string;
  seed: string;
  publicKey: string;
  message: string;
  signature: string;
  address: string;
  fixedMessage: string;
  fixedSignature: string;
}
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/keys.json', import.meta.url), 'utf8')) as KeyVector[];

// RFC 8032 §7.1 TEST 1 and TEST 2, copied from the RFC (independently of the vector file).
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

describe('Ed25519 keys: RFC 8032 and ZeusNet vectors', () => {
  it('the vector file carries the RFC 8032 values unchanged', () => {
    expect(vectors.length).toBe(2);
    for (let i = 0; i < RFC8032.length; i++) {
      expect(vectors[i]).toMatchObject(RFC8032[i]);
    }
  });

  for (const v of vectors) {
    it(v.name, () => {
      const kp = keyPairFromSeed(bytes(v.seed));
      expect(hex(kp.secretKey)).toBe(v.seed);
      expect(hex(kp.publicKey)).toBe(v.publicKey);
      expect(encodeAddress(addressFromPublicKey(kp.publicKey))).toBe(v.address);
      // Ed25519 is deterministic: the exact RFC signature must come out
      expect(hex(signBytes(kp.secretKey, bytes(v.message)))).toBe(v.signature);
      expect(hex(signBytes(kp.secretKey, bytes(v.fixedMessage)))).toBe(v.fixedSignature);
      expect(verifySignature(kp.publicKey, bytes(v.message), bytes(v.signature))).toBe(true);
      expect(verifySignature(kp.publicKey, bytes(v.fixedMessage), bytes(v.fixedSignature))).toBe(true);
      // wrong message, wrong signature, signature for another message
      expect(verifySignature(kp.publicKey, bytes(`${v.message}00`), bytes(v.signature))).toBe(false);
      const bad = bytes(v.signature);
      bad[10] ^= 1;
      expect(verifySignature(kp.publicKey, bytes(v.message), bad)).toBe(false);
      expect(verifySignature(kp.publicKey, bytes(v.message), bytes(v.fixedSignature))).toBe(false);
    });
  }

  it('a signature does not verify under the other vector key', () => {
    const [a, b] = vectors;
    expect(verifySignature(bytes(b.publicKey), bytes(a.message), bytes(a.signature))).toBe(false);
    expect(verifySignature(bytes(a.publicKey), bytes(b.fixedMessage), bytes(b.fixedSignature))).toBe(false);
  });
});

describe('Ed25519 keys: properties', () => {
  it('sign/verify roundtrip; any bit flip in message or signature fails', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), fc.nat(), (seed, msg, flip) => {
        const kp = keyPairFromSeed(seed);
        expect(keyPairFromSeed(seed).publicKey).toEqual(kp.publicKey);
        const sig = signBytes(kp.secretKey, msg);
        expect(sig.length).toBe(64);
        expect(verifySignature(kp.publicKey, msg, sig)).toBe(true);
        const badSig = sig.slice();
        badSig[flip % 64] ^= 1 << (flip % 8);
        expect(verifySignature(kp.publicKey, msg, badSig)).toBe(false);
        if (msg.length > 0) {
          const badMsg = msg.slice();
          badMsg[flip % msg.length] ^= 1 << (flip % 8);
          expect(verifySignature(kp.publicKey, badMsg, sig)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects malformed keys and signatures without throwing', () => {
    const kp = generateKeyPair();
    const sig = signBytes(kp.secretKey, new Uint8Array([1]));
    expect(verifySignature(kp.publicKey, new Uint8Array([1]), sig.subarray(0, 63))).toBe(false);
    expect(verifySignature(kp.publicKey, new Uint8Array([1]), new Uint8Array([...sig, 0]))).toBe(false);
    expect(verifySignature(kp.publicKey.subarray(0, 31), new Uint8Array([1]), sig)).toBe(false);
    expect(verifySignature(new Uint8Array(32).fill(0xff), new Uint8Array([1]), sig)).toBe(false);
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => keyPairFromSeed(new Uint8Array(33))).toThrow(/32 bytes/);
    expect(generateKeyPair().secretKey).not.toEqual(kp.secretKey);
  });
});

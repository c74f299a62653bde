import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

// Ed25519 through node:crypto (OpenSSL): it is the fastest verifier this runtime has, and
// the ledger's throughput is bounded by signature checks.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface KeyPair {
  /** 32-byte Ed25519 seed. */
  readonly secretKey: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { secretKey: new Uint8Array(seed), publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)));
}

const privCache = new WeakMap<Uint8Array, KeyObject>();

export function signBytes(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  let key = privCache.get(secretKey);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
    privCache.set(secretKey, key);
  }
  return new Uint8Array(sign(null, message, key));
}

// Public-key objects are cached by key bytes: parsing a key costs a fifth of a verification.
const pubCache = new Map<string, KeyObject>();
const PUB_CACHE_MAX = 100_000;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64');
  let key = pubCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (pubCache.size >= PUB_CACHE_MAX) pubCache.clear();
    pubCache.set(id, key);
  }
  return key;
}

export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

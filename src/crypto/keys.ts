import { ed25519PublicKey, ed25519Sign, ed25519Verify, randomBytes } from '#crypto-impl';

// Ed25519 through the runtime's implementation: node:crypto (OpenSSL) on Node, the fastest
// verifier this runtime has (the ledger's throughput is bounded by signature checks), and
// @noble/curves in browsers.

export interface KeyPair {
  /** 32-byte Ed25519 seed. */
  readonly secretKey: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const secretKey = new Uint8Array(seed);
  return { secretKey, publicKey: ed25519PublicKey(secretKey) };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(32));
}

export function signBytes(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519Sign(secretKey, message);
}

export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return ed25519Verify(publicKey, message, signature);
}

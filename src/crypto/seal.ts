import { createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';

// A worker's sealing key: the X25519 key pair that tasks seal their inputs and secrets to. It is
// derived from the worker's Ed25519 seed, so the CLI that registers the worker and the agent that
// later opens sealed inputs get the same key from the one keystore entry, and nothing else needs
// to be stored or backed up.

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const SEAL_INFO = 'ZEUSNET/seal/v1';

export interface SealKeyPair {
  /** 32-byte X25519 private key. */
  readonly secretKey: Uint8Array;
  /** 32-byte X25519 public key: what a worker registers as its seal key. */
  readonly publicKey: Uint8Array;
}

export function sealKeyPairFromSeed(ed25519Seed: Uint8Array): SealKeyPair {
  if (ed25519Seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  // A separate key by HKDF with its own label: the signing seed is never used as-is for key agreement.
  const secretKey = new Uint8Array(hkdfSync('sha256', ed25519Seed, new Uint8Array(0), SEAL_INFO, 32));
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { secretKey, publicKey: new Uint8Array(spki.subarray(X25519_SPKI_PREFIX.length)) };
}

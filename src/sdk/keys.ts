import { addressFromPublicKey, encodeAddress, fromHex, generateKeyPair, keyPairFromSeed, toHex, type KeyPair } from '../crypto/portable.ts';

// Keys for SDK users: an Ed25519 key pair is its 32-byte seed; its account is the znc1… address
// of its public key. Keep seeds secret: a browser app should hold them only in memory or in
// storage it encrypts (the console's wallet does), a Node program in the keystore (node.ts).

/** A new random key (the runtime's CSPRNG). */
export const newKey = (): KeyPair => generateKeyPair();

/** The key of a 32-byte seed, given as bytes or 64 hex digits. */
export function keyFromSeed(seed: string | Uint8Array): KeyPair {
  return keyPairFromSeed(typeof seed === 'string' ? fromHex(seed) : seed);
}

/** The znc1… address of a key (or of a bare Ed25519 public key). */
export function addressOf(key: KeyPair | Uint8Array): string {
  return encodeAddress(addressFromPublicKey(key instanceof Uint8Array ? key : key.publicKey));
}

/** A key's seed as hex, to store or to pass to keyFromSeed. */
export const seedHex = (key: KeyPair): string => toHex(key.secretKey);

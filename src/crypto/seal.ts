import { aesGcmOpen, aesGcmSeal, hkdfSha256, randomBytes, sha256, x25519PublicKey, x25519SharedSecret } from '#crypto-impl';
import { bytesEqual, concatBytes, utf8 } from './hash.ts';
import { ed25519 } from '@noble/curves/ed25519.js';

// A worker's sealing key: the X25519 key pair that tasks seal their inputs and secrets to. It is
// derived from the worker's Ed25519 seed, so the CLI that registers the worker and the agent that
// later opens sealed inputs get the same key from the one keystore entry, and nothing else needs
// to be stored or backed up.

const SEAL_INFO = utf8('ZEUSNET/seal/v1');

export interface SealKeyPair {
  /** 32-byte X25519 private key. */
  readonly secretKey: Uint8Array;
  /** 32-byte X25519 public key: what a worker registers as its seal key. */
  readonly publicKey: Uint8Array;
}

export function sealKeyPairFromSeed(ed25519Seed: Uint8Array): SealKeyPair {
  if (ed25519Seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  // A separate key by HKDF with its own label: the signing seed is never used as-is for key agreement.
  const secretKey = hkdfSha256(ed25519Seed, new Uint8Array(0), SEAL_INFO, 32);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

// Sealing to an account that registered no seal key (a task's poster, for the logs of its
// leases): its Ed25519 public key, which the chain has from the transactions it signed, converted
// to X25519 (the birational map, as libsodium's crypto_sign_ed25519_pk_to_curve25519 and age's ssh
// recipients do). The owner opens with the X25519 scalar of the same seed. The envelope format and
// its key ids (SHA-256 of the X25519 public key) are the same as for worker seal keys, so sealTo and
// openSealed serve both.

/** The X25519 public key that `sealKeyPairOfSigningSeed` of the matching seed opens. */
export function sealKeyOfSigningKey(ed25519PublicKey: Uint8Array): Uint8Array {
  if (ed25519PublicKey.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return ed25519.utils.toMontgomery(ed25519PublicKey);
}

/** The X25519 key pair of an Ed25519 signing seed (not the worker seal key: no HKDF label). */
export function sealKeyPairOfSigningSeed(ed25519Seed: Uint8Array): SealKeyPair {
  if (ed25519Seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return { secretKey: ed25519.utils.toMontgomerySecret(ed25519Seed), publicKey: sealKeyOfSigningKey(ed25519.getPublicKey(ed25519Seed)) };
}

// Sealed task inputs and secrets. A task is posted before anyone knows which worker will win it,
// so the poster seals to every worker that could serve it (the quote's candidates): the content is
// encrypted once under a random key, and that key is wrapped for each recipient with an X25519
// agreement between a one-time key and the recipient's registered seal key (HKDF-SHA256, then
// AES-256-GCM). Only a listed worker can open it; the chain, the nodes and the logs see ciphertext.

const SEALED_VERSION = 1;
const WRAP_INFO = utf8('ZEUSNET/seal/wrap/v1');
const CONTENT_AAD = utf8('ZEUSNET/sealed/v1');
/** Bytes per recipient: key id (8), nonce (12), wrapped key (32), tag (16). */
const RECIPIENT_BYTES = 8 + 12 + 32 + 16;

/** The 8-byte id a sealed envelope lists its recipients by. */
const keyId = (publicKey: Uint8Array): Uint8Array => sha256(publicKey).subarray(0, 8);

const wrapKey = (shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array =>
  hkdfSha256(shared, concatBytes(ephemeral, recipient), WRAP_INFO, 32);

/** Seals `plaintext` so that any one of `recipients` (X25519 public keys) can open it. */
export function sealTo(recipients: readonly Uint8Array[], plaintext: Uint8Array): Uint8Array {
  if (recipients.length === 0 || recipients.length > 255) throw new Error('seal to 1..255 recipients');
  const ephSecret = randomBytes(32);
  const ephPublic = x25519PublicKey(ephSecret);
  const contentKey = randomBytes(32);
  const parts: Uint8Array[] = [new Uint8Array([SEALED_VERSION, recipients.length]), ephPublic];
  for (const r of recipients) {
    if (r.length !== 32) throw new Error('an X25519 public key is 32 bytes');
    const nonce = randomBytes(12);
    // wrapped key (32) followed by its tag (16)
    parts.push(keyId(r), nonce, aesGcmSeal(wrapKey(x25519SharedSecret(ephSecret, r), ephPublic, r), nonce, contentKey));
  }
  const nonce = randomBytes(12);
  const body = aesGcmSeal(contentKey, nonce, plaintext, CONTENT_AAD);
  // the envelope carries the content's tag before its ciphertext
  parts.push(nonce, body.subarray(body.length - 16), body.subarray(0, body.length - 16));
  return concatBytes(...parts);
}

/** Opens a sealed envelope with a recipient's key pair; throws if it is not for this key or was altered. */
export function openSealed(key: SealKeyPair, sealed: Uint8Array): Uint8Array {
  const b = sealed;
  if (b.length < 2 + 32 + 28 || b[0] !== SEALED_VERSION) throw new Error('not a sealed envelope (unknown version or too short)');
  const n = b[1];
  const ephPublic = b.subarray(2, 34);
  const bodyStart = 34 + n * RECIPIENT_BYTES;
  if (n === 0 || b.length < bodyStart + 28) throw new Error('sealed envelope is truncated');
  const mine = keyId(key.publicKey);
  for (let i = 0; i < n; i++) {
    const at = 34 + i * RECIPIENT_BYTES;
    if (!bytesEqual(b.subarray(at, at + 8), mine)) continue;
    const shared = x25519SharedSecret(key.secretKey, ephPublic);
    const contentKey = aesGcmOpen(wrapKey(shared, ephPublic, key.publicKey), b.subarray(at + 8, at + 20), b.subarray(at + 20, at + 68));
    const tag = b.subarray(bodyStart + 12, bodyStart + 28);
    return aesGcmOpen(contentKey, b.subarray(bodyStart, bodyStart + 12), concatBytes(b.subarray(bodyStart + 28), tag), CONTENT_AAD);
  }
  throw new Error('this envelope is not sealed to this key');
}

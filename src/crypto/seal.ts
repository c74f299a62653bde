import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

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
const WRAP_INFO = 'ZEUSNET/seal/wrap/v1';
const CONTENT_AAD = Buffer.from('ZEUSNET/sealed/v1');
/** Bytes per recipient: key id (8), nonce (12), wrapped key (32), tag (16). */
const RECIPIENT_BYTES = 8 + 12 + 32 + 16;

function x25519Private(secretKey: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

function x25519Public(publicKey: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The 8-byte id a sealed envelope lists its recipients by. */
function keyId(publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(publicKey).digest().subarray(0, 8);
}

function wrapKey(shared: Buffer, ephemeral: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), WRAP_INFO, 32));
}

/** Seals `plaintext` so that any one of `recipients` (X25519 public keys) can open it. */
export function sealTo(recipients: readonly Uint8Array[], plaintext: Uint8Array): Uint8Array {
  if (recipients.length === 0 || recipients.length > 255) throw new Error('seal to 1..255 recipients');
  const eph = generateKeyPairSync('x25519');
  const ephPublic = new Uint8Array(eph.publicKey.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length));
  const contentKey = randomBytes(32);
  const parts: Buffer[] = [Buffer.from([SEALED_VERSION, recipients.length]), Buffer.from(ephPublic)];
  for (const r of recipients) {
    if (r.length !== 32) throw new Error('an X25519 public key is 32 bytes');
    const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: x25519Public(r) });
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', wrapKey(shared, ephPublic, r), nonce);
    const wrapped = Buffer.concat([c.update(contentKey), c.final()]);
    parts.push(keyId(r), nonce, wrapped, c.getAuthTag());
  }
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', contentKey, nonce);
  c.setAAD(CONTENT_AAD);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  parts.push(nonce, c.getAuthTag(), body);
  return new Uint8Array(Buffer.concat(parts));
}

/** Opens a sealed envelope with a recipient's key pair; throws if it is not for this key or was altered. */
export function openSealed(key: SealKeyPair, sealed: Uint8Array): Uint8Array {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < 2 + 32 + 28 || b[0] !== SEALED_VERSION) throw new Error('not a sealed envelope (unknown version or too short)');
  const n = b[1];
  const ephPublic = b.subarray(2, 34);
  const bodyStart = 34 + n * RECIPIENT_BYTES;
  if (n === 0 || b.length < bodyStart + 28) throw new Error('sealed envelope is truncated');
  const mine = keyId(key.publicKey);
  for (let i = 0; i < n; i++) {
    const at = 34 + i * RECIPIENT_BYTES;
    if (!b.subarray(at, at + 8).equals(mine)) continue;
    const shared = diffieHellman({ privateKey: x25519Private(key.secretKey), publicKey: x25519Public(ephPublic) });
    const d = createDecipheriv('aes-256-gcm', wrapKey(shared, ephPublic, key.publicKey), b.subarray(at + 8, at + 20));
    d.setAuthTag(b.subarray(at + 52, at + 68));
    const contentKey = Buffer.concat([d.update(b.subarray(at + 20, at + 52)), d.final()]);
    const body = createDecipheriv('aes-256-gcm', contentKey, b.subarray(bodyStart, bodyStart + 12));
    body.setAAD(CONTENT_AAD);
    body.setAuthTag(b.subarray(bodyStart + 12, bodyStart + 28));
    return new Uint8Array(Buffer.concat([body.update(b.subarray(bodyStart + 28)), body.final()]));
  }
  throw new Error('this envelope is not sealed to this key');
}

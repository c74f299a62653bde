import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash,
  hkdfSync,
  randomBytes as nodeRandomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { CryptoImpl } from './impl.ts';

// The crypto primitives on Node, through node:crypto (OpenSSL). See impl.ts.

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** A Buffer over the same memory (no copy). */
const view = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** A plain Uint8Array over a Buffer's memory: no copy, and no Buffer semantics leaking out. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

// Most hashes here are of a few dozen bytes (Merkle nodes, state values, transactions), so the cost
// is in the call, not in SHA-256: node:crypto's one-shot `hash` with a Buffer result spends about
// 1.2 µs of its 1.6 µs making that Buffer, while a latin1 string result (one char per byte) read into
// a small Uint8Array costs about 0.35 µs in all. Several parts are copied into one scratch buffer
// and hashed in one shot, which is cheaper than a Hash object for small inputs.
const SCRATCH_MAX = 1 << 16;
let scratch = Buffer.allocUnsafeSlow(4096);

/** The digest's bytes from its latin1 string. */
function digestBytes(latin1: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = latin1.charCodeAt(i);
  return out;
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return digestBytes(hash('sha256', parts[0], 'latin1'));
  let size = 0;
  for (const p of parts) size += p.length;
  if (size > SCRATCH_MAX) return plain(parts.reduce((h, p) => h.update(p), createHash('sha256')).digest());
  if (size > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(size, scratch.length * 2));
  let at = 0;
  for (const p of parts) {
    scratch.set(p, at);
    at += p.length;
  }
  return digestBytes(hash('sha256', scratch.subarray(0, size), 'latin1'));
}

export function sha256Utf8(text: string): Uint8Array {
  return digestBytes(hash('sha256', text, 'latin1'));
}

export function sha256Into(out: Uint8Array, at: number, data: Uint8Array): void {
  const digest = hash('sha256', data, 'latin1');
  for (let i = 0; i < 32; i++) out[at + i] = digest.charCodeAt(i);
}

export function sha256Hex(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex');
}

export function toHex(b: Uint8Array): string {
  return view(b).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error('invalid hex string');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

const privCache = new WeakMap<Uint8Array, KeyObject>();

function ed25519Private(seed: Uint8Array): KeyObject {
  let key = privCache.get(seed);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
    privCache.set(seed, key);
  }
  return key;
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(ed25519Private(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(ED25519_SPKI.length));
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, ed25519Private(seed)));
}

// Public-key objects are cached by key bytes: parsing a key costs a fifth of a verification.
const pubCache = new Map<string, KeyObject>();
const PUB_CACHE_MAX = 100_000;

function ed25519Public(publicKey: Uint8Array): KeyObject {
  const id = view(publicKey).toString('base64');
  let key = pubCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, publicKey]), format: 'der', type: 'spki' });
    if (pubCache.size >= PUB_CACHE_MAX) pubCache.clear();
    pubCache.set(id, key);
  }
  return key;
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, ed25519Public(publicKey), signature);
  } catch {
    return false;
  }
}

const x25519Private = (secretKey: Uint8Array): KeyObject => createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' });

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new Error('an X25519 secret key is 32 bytes');
  return new Uint8Array(createPublicKey(x25519Private(secretKey)).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI.length));
}

export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  const pub = createPublicKey({ key: Buffer.concat([X25519_SPKI, publicKey]), format: 'der', type: 'spki' });
  return new Uint8Array(diffieHellman({ privateKey: x25519Private(secretKey), publicKey: pub }));
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

export function aesGcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  if (aad) c.setAAD(aad);
  return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

export function aesGcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (sealed.length < 16) throw new Error('AES-GCM ciphertext is shorter than its tag');
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  if (aad) d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]));
}

// Checked here, where the compiler sees both sides: this module is a whole CryptoImpl.
const _impl: CryptoImpl = {
  sha256,
  sha256Utf8,
  sha256Hex,
  sha256Into,
  toHex,
  fromHex,
  randomBytes,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  x25519PublicKey,
  x25519SharedSecret,
  hkdfSha256,
  aesGcmSeal,
  aesGcmOpen,
};
void _impl;

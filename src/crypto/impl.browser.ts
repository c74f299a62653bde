import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import type { CryptoImpl } from './impl.ts';

// The crypto primitives in pure JavaScript (@noble/*), for browsers and any runtime without
// node:crypto. Same results as impl.node.ts byte for byte (crypto-impl.test.ts). See impl.ts.

const encoder = new TextEncoder();

export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256Utf8(text: string): Uint8Array {
  return nobleSha256(encoder.encode(text));
}

export function sha256Into(out: Uint8Array, at: number, data: Uint8Array): void {
  out.set(nobleSha256(data), at);
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(nobleSha256(bytes));
}

export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error('invalid hex string');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function randomBytes(n: number): Uint8Array {
  return nobleRandomBytes(n);
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    // RFC 8032's strict rules, as OpenSSL applies them (not ZIP 215's permissive ones).
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new Error('an X25519 secret key is 32 bytes');
  return x25519.getPublicKey(secretKey);
}

export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  return x25519.getSharedSecret(secretKey, publicKey);
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length);
}

export function aesGcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  return gcm(key, nonce, aad).encrypt(plaintext);
}

export function aesGcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (sealed.length < 16) throw new Error('AES-GCM ciphertext is shorter than its tag');
  return gcm(key, nonce, aad).decrypt(sealed);
}

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

// The Noise channel's ciphers, as @libp2p/noise's default does them (node:crypto, and for small
// messages the WebAssembly ChaCha20-Poly1305 it ships), except that a session key is turned into a
// node:crypto KeyObject once instead of on every message.
//
// Under load a bookkeeper decrypts and encrypts thousands of Noise messages a second; the default
// passes the raw 32-byte key to `createCipheriv` each time, and Node's key preparation for it
// (`prepareSecretKey`, deoptimizing as it goes) took about as much CPU as the cipher itself.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { ChaCha20Poly1305, newInstance } from '@chainsafe/as-chacha20poly1305';
import { pureJsCrypto, type ICryptoInterface } from '@libp2p/noise';
import { Uint8ArrayList } from 'uint8arraylist';

const ALGORITHM = 'chacha20-poly1305';
const TAG_BYTES = 16;
/** Below this many bytes the WebAssembly cipher is faster than a node:crypto cipher object (@libp2p/noise's own measurement). */
const SMALL_BYTES = 1200;
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

const wasm = new ChaCha20Poly1305(newInstance());
/** A Noise cipher state keeps its key in one array for the session: its KeyObject is made once. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function keyObject(k: Uint8Array): KeyObject {
  let o = keyObjects.get(k);
  if (!o) {
    o = createSecretKey(k);
    keyObjects.set(k, o);
  }
  return o;
}

const bytes = (data: Uint8Array | Uint8ArrayList): Uint8Array => (data instanceof Uint8Array ? data : data.subarray());

function x25519Private(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
}

function x25519PublicRaw(key: KeyObject): Uint8Array {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
}

export const noiseCrypto: ICryptoInterface = {
  // Handshake only: @libp2p/noise's own HKDF.
  getHKDF: pureJsCrypto.getHKDF,

  hashSHA256(data) {
    const h = createHash('sha256');
    if (data instanceof Uint8Array) h.update(data);
    else for (const part of data) h.update(part);
    return h.digest();
  },

  generateX25519KeyPair() {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return { publicKey: x25519PublicRaw(publicKey), privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519.length) };
  },

  generateX25519KeyPairFromSeed(seed) {
    return { publicKey: x25519PublicRaw(createPublicKey(x25519Private(seed))), privateKey: seed };
  },

  generateX25519SharedKey(privateKey, publicKey) {
    const pub = createPublicKey({ key: Buffer.concat([SPKI_X25519, bytes(publicKey)]), format: 'der', type: 'spki' });
    return diffieHellman({ privateKey: x25519Private(bytes(privateKey)), publicKey: pub });
  },

  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < SMALL_BYTES) return wasm.seal(k, nonce, bytes(plaintext), ad);
    const cipher = createCipheriv(ALGORITHM, keyObject(k), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
    if (plaintext instanceof Uint8Array) return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const out = new Uint8ArrayList();
    for (const part of plaintext) out.append(cipher.update(part));
    const final = cipher.final();
    if (final.byteLength > 0) out.append(final);
    out.append(cipher.getAuthTag());
    return out;
  },

  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < SMALL_BYTES) {
      const plaintext = wasm.open(k, nonce, bytes(ciphertext), ad, dst);
      if (!plaintext) throw new Error('Invalid chacha20poly1305 decryption');
      return plaintext;
    }
    const textLength = ciphertext.byteLength - TAG_BYTES;
    const decipher = createDecipheriv(ALGORITHM, keyObject(k), nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(ad, { plaintextLength: textLength });
    decipher.setAuthTag(ciphertext.subarray(textLength));
    if (ciphertext instanceof Uint8Array) return Buffer.concat([decipher.update(ciphertext.subarray(0, textLength)), decipher.final()]);
    const out = new Uint8ArrayList();
    for (const part of ciphertext.sublist(0, textLength)) out.append(decipher.update(part));
    const final = decipher.final();
    if (final.byteLength > 0) out.append(final);
    return out;
  },
};

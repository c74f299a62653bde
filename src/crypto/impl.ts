// The primitives the crypto part builds on, in two implementations with byte-identical results:
// impl.node.ts (node:crypto, i.e. OpenSSL: the fastest this runtime has, and the ledger's
// throughput is bounded by hashing and signature checks) and impl.browser.ts (@noble/*, pure
// JavaScript, for browsers and any other runtime). Which one a module gets is chosen by the
// package.json "imports" entry "#crypto-impl" through the runtime's or bundler's conditions:
// Node (and TypeScript) take "node", a browser bundle (Vite, Rollup, esbuild) takes "browser".
// crypto-impl.test.ts runs both on the same inputs.

/** What each implementation exports. */
export interface CryptoImpl {
  sha256(...parts: Uint8Array[]): Uint8Array;
  /** SHA-256 of a string's UTF-8 bytes. */
  sha256Utf8(text: string): Uint8Array;
  /** SHA-256 of `data` written into `out` at `at` (32 bytes), so that a tree's digests need no array each. */
  sha256Into(out: Uint8Array, at: number, data: Uint8Array): void;
  /** toHex(sha256(bytes)) in one step: what looks a transaction up by its hash, without the digest's bytes. */
  sha256Hex(bytes: Uint8Array): string;
  toHex(b: Uint8Array): string;
  fromHex(s: string): Uint8Array;
  randomBytes(n: number): Uint8Array;
  /** The Ed25519 public key of a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for a malformed key or signature, never throws. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** AES-256-GCM: ciphertext followed by the 16-byte tag. */
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Opens what aesGcmSeal made; throws if the key is wrong or anything was altered. */
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;
}

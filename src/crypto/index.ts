// Cryptographic primitives of ZeusNet: hashing, Ed25519 keys, znc1… addresses,
// RFC 6962 Merkle trees, sealed envelopes (portable.ts, which also runs in browsers) and the
// passphrase-encrypted file keystore (Node only).
export * from './portable.ts';
export * from './keystore.ts';

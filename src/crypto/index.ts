// Cryptographic primitives of ZeusNet: hashing, Ed25519 keys, znc1… addresses,
// RFC 6962 Merkle trees and the passphrase-encrypted keystore.
export * from './hash.ts';
export * from './keys.ts';
export * from './address.ts';
export * from './merkle.ts';
export * from './keystore.ts';
export * from './seal.ts';

// The crypto part's entry for code that also runs in browsers (the ledger's rules, the market's
// matcher, the SDK): hashing, Ed25519 keys, znc1… addresses, RFC 6962 Merkle trees and sealed
// envelopes, without the file-based keystore. Node code may keep importing index.ts (all of it).
export * from './hash.ts';
export * from './keys.ts';
export * from './address.ts';
export * from './merkle.ts';
export * from './seal.ts';

// The SDK's Node entry: everything index.ts has (which also runs in browsers) plus what needs a
// file system: the passphrase-encrypted keystore the CLI and nodes keep keys in.
export * from './index.ts';
export { Keystore, readPassphrase, type StoredKey } from '../crypto/index.ts';

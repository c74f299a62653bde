// The SDK's Node entry: everything index.ts has (which also runs in browsers) plus what needs a
// file system: the passphrase-encrypted keystore the CLI and nodes keep keys in.
export * from './index.ts';
export { DEV_PASSPHRASE, Keystore, readPassphrase, WrongPassphraseError, type StoredKey } from '../crypto/index.ts';
export { homeKeystore, loadHomeKey } from './homeKeys.ts';

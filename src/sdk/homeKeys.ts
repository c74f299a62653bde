import { join } from 'node:path';
import { Keystore, type KeyPair } from '../crypto/index.ts';

// Node only (index.node.ts): keys kept where the CLI keeps them, in a home's keystore
// (`<home>/keys`, one passphrase-encrypted file per key, what `zeus keys` manages).

/** The keystore of a ZeusNet home (`zeus init`/`zeus devnet start` make one; `ZEUS_HOME` names it for the CLI). */
export const homeKeystore = (home: string): Keystore => new Keystore(join(home, 'keys'));

/**
 * The key `name` of a home, opened with `passphrase`: for a devnet's funded keys (alice, bob, …,
 * and developer, user, worker-0 of `zeus devnet start`) that is DEV_PASSPHRASE. Throws
 * WrongPassphraseError when it does not open, an error naming the keys there when there is no such key.
 */
export function loadHomeKey(home: string, name: string, passphrase: string): KeyPair {
  const ks = homeKeystore(home);
  if (!ks.has(name)) {
    const held = ks.list().map((k) => k.name);
    throw new Error(`no key "${name}" in ${ks.dir} (it holds: ${held.join(', ') || 'none'})`);
  }
  return ks.load(name, passphrase);
}

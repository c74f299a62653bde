import { bytesEqual, systemAddress } from '../crypto/portable.ts';

/** Name of the ledger-owned account that pays bookkeeper rewards and the worker dividend. */
export const REWARDS_POOL_NAME = 'rewards-pool';
/** The ledger-owned account the worker dividend is set aside in and paid from. */
export const WORKER_DIVIDEND = 'worker-dividend';

/** The ledger-owned account that holds governance deposits until their proposal ends. */
export const GOV_DEPOSITS = 'governance-deposits';
/** The address a vote's reserve-spend proposals on the reserve multisig are made in the name of (holds nothing). */
export const GOVERNANCE_NAME = 'governance';

/** Every account the ledger itself owns: the only system addresses that hold value. */
export const SYSTEM_ACCOUNT_NAMES = [REWARDS_POOL_NAME, WORKER_DIVIDEND, GOV_DEPOSITS] as const;

let systemAddresses: Uint8Array[] | undefined;
/** Whether an address is one of the ledger's own accounts (any other system address is nobody's). */
export function isSystemAccount(address: Uint8Array): boolean {
  systemAddresses ??= SYSTEM_ACCOUNT_NAMES.map(systemAddress);
  return systemAddresses.some((a) => bytesEqual(a, address));
}

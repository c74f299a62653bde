import { bech32m } from '@scure/base';
import { sha256, toHex, utf8 } from './hash.ts';

/** Human-readable prefix of every ZeusNet address. */
export const ADDRESS_HRP = 'znc';

/** What kind of account an address names; part of the address so routing needs no state. */
export const AddressKind = {
  /** Controlled by one Ed25519 key. */
  Key: 0,
  /** An M-of-N multisig account; lives on the main chain. */
  Multisig: 1,
  /** A ledger-owned account (rewards pool); lives on the main chain. */
  System: 2,
} as const;
export type AddressKind = (typeof AddressKind)[keyof typeof AddressKind];

/** Raw address: 1 kind byte followed by 20 bytes of SHA-256. */
export const ADDRESS_BYTES = 21;

const KEY_ADDRESS_TAG = utf8('zeus/address/key');
// Every transaction's sender address is derived from its key; a busy node sees the same keys again and again.
const addressCache = new Map<string, Uint8Array>();
const ADDRESS_CACHE_MAX = 100_000;

export function addressFromPublicKey(publicKey: Uint8Array): Uint8Array {
  const id = toHex(publicKey);
  const cached = addressCache.get(id);
  if (cached) return cached.slice();
  const addr = addressOf(AddressKind.Key, sha256(KEY_ADDRESS_TAG, publicKey));
  if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
  addressCache.set(id, addr.slice());
  return addr;
}

export function addressOf(kind: AddressKind, digest: Uint8Array): Uint8Array {
  const out = new Uint8Array(ADDRESS_BYTES);
  out[0] = kind;
  out.set(digest.subarray(0, 20), 1);
  return out;
}

export function systemAddress(name: string): Uint8Array {
  return addressOf(AddressKind.System, sha256(utf8('zeus/address/system/'), utf8(name)));
}

/**
 * Why raw bytes are not an address, or undefined when they are: 21 bytes whose first names a kind
 * of account. An address of another kind could be paid but never spent from nor shown.
 */
export function addressProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length !== ADDRESS_BYTES) return `an address is ${ADDRESS_BYTES} bytes (a kind byte and 20 hash bytes); this is ${bytes.length}`;
  if (bytes[0] > AddressKind.System) {
    return `kind byte 0x${bytes[0].toString(16).padStart(2, '0')} names no kind of account (0 key, 1 multisig, 2 system)`;
  }
  return undefined;
}

export function addressKind(address: Uint8Array): AddressKind {
  return address[0] as AddressKind;
}

export function encodeAddress(address: Uint8Array): string {
  if (address.length !== ADDRESS_BYTES) throw new Error(`an address is ${ADDRESS_BYTES} bytes`);
  return bech32m.encode(ADDRESS_HRP, bech32m.toWords(address));
}

/** Parses a `znc1…` address; throws with a reason a user can act on. */
export function decodeAddress(text: string): Uint8Array {
  let decoded: { prefix: string; words: number[] };
  let bytes: Uint8Array;
  try {
    decoded = bech32m.decode(text as `${string}1${string}`);
    // inside the try: fromWords throws a bare "Excess padding" for lengths that are no whole bytes
    bytes = bech32m.fromWords(decoded.words);
  } catch (e) {
    throw new Error(`invalid address "${text}": ${(e as Error).message}`);
  }
  if (decoded.prefix !== ADDRESS_HRP) throw new Error(`invalid address "${text}": prefix must be "${ADDRESS_HRP}"`);
  const why = addressProblem(bytes);
  if (why) throw new Error(`invalid address "${text}": ${why}`);
  return bytes;
}

export function isAddress(text: string): boolean {
  try {
    decodeAddress(text);
    return true;
  } catch {
    return false;
  }
}

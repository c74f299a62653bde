import { useSyncExternalStore } from 'react';
import { addressOf, keyFromSeed, newKey, seedHex, type KeyPair } from './sdk.ts';

// Keys of the console's wallet live in this browser's localStorage and nowhere else: the
// console signs transactions here with the SDK and sends the node only signed bytes. Clearing
// the site's data forgets them; the export shows the seed to copy somewhere safe.

export interface WalletKey {
  name: string;
  address: string;
  /** Ed25519 seed, hex. Never leaves the browser. */
  seed: string;
  createdAt: number;
}

/** A task this browser posted: its id and the escrow it took, to follow it and its refund. */
export interface PostedTask {
  id: string;
  tx: string;
  owner: string;
  app: string;
  postedAt: number;
}

interface WalletData {
  keys: WalletKey[];
  selected: string | null;
  tasks: PostedTask[];
}

const STORAGE_KEY = 'zeusnet.wallet.v1';
const listeners = new Set<() => void>();
let data: WalletData = load();

function load(): WalletData {
  try {
    const s = localStorage.getItem(STORAGE_KEY);
    if (s) {
      const d = JSON.parse(s) as Partial<WalletData>;
      return { keys: d.keys ?? [], selected: d.selected ?? null, tasks: d.tasks ?? [] };
    }
  } catch {
    // unreadable: start empty (the broken value stays until the next save)
  }
  return { keys: [], selected: null, tasks: [] };
}

function save(next: WalletData): void {
  data = next;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  for (const l of listeners) l();
}

window.addEventListener('storage', (e) => {
  if (e.key !== STORAGE_KEY) return;
  data = load();
  for (const l of listeners) l();
});

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useWallet(): WalletData & { current: WalletKey | undefined } {
  const d = useSyncExternalStore(subscribe, () => data);
  return { ...d, current: d.keys.find((k) => k.address === d.selected) ?? d.keys[0] };
}

function checkName(name: string): string {
  const n = name.trim();
  if (!/^[\w.-]{1,32}$/.test(n)) throw new Error('a key name is 1–32 letters, digits, dots, dashes or underscores');
  if (data.keys.some((k) => k.name === n)) throw new Error(`there is already a key named "${n}"`);
  return n;
}

function add(name: string, kp: KeyPair): WalletKey {
  const address = addressOf(kp);
  if (data.keys.some((k) => k.address === address)) throw new Error(`this key is already in the wallet (${address})`);
  const key: WalletKey = { name: checkName(name), address, seed: seedHex(kp), createdAt: Date.now() };
  save({ ...data, keys: [...data.keys, key], selected: address });
  return key;
}

export function createKey(name: string): WalletKey {
  return add(name, newKey());
}

/** Imports a 32-byte Ed25519 seed given as 64 hex digits (what "export" shows). */
export function importKey(name: string, seedHex: string): WalletKey {
  const hex = seedHex.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('a key to import is its 32-byte seed as 64 hex digits');
  return add(name, keyFromSeed(hex.toLowerCase()));
}

export function removeKey(address: string): void {
  const keys = data.keys.filter((k) => k.address !== address);
  save({ ...data, keys, selected: data.selected === address ? (keys[0]?.address ?? null) : data.selected });
}

export function selectKey(address: string): void {
  save({ ...data, selected: address });
}

export function rememberTask(t: PostedTask): void {
  save({ ...data, tasks: [t, ...data.tasks.filter((x) => x.id !== t.id)].slice(0, 100) });
}

export function keyPairOf(k: WalletKey): KeyPair {
  return keyFromSeed(k.seed);
}

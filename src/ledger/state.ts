import { sha256, sha256Utf8 } from '../crypto/portable.ts';
import type { Entry } from './entries.ts';
import { decodeEntry, encodeEntry } from './stores.ts';

/** Read access to one chain's state (read it through the stores of stores.ts, which type it). */
export interface StateReader {
  get<T extends Entry>(key: string): T | undefined;
  /** Keys starting with `prefix`, sorted. */
  keys(prefix?: string): string[];
}

/** A chain's state a transaction writes to; `null` deletes. */
export interface StateWriter extends StateReader {
  set(key: string, value: Entry | null): void;
}

// The state root is an RFC 6962 Merkle tree over 1024 buckets; a key's bucket is given by
// its hash, and a bucket's hash covers its sorted (key, value-hash) pairs. A block only
// rehashes the buckets it touched and their paths, so the cost follows the block, not the state.
const BUCKET_BITS = 10;
const BUCKETS = 1 << BUCKET_BITS;
const EMPTY = sha256();

/** The bucket of the state tree a key lives in (a replica tells it along with each change it hashed). */
export function bucketOf(key: string): number {
  const h = sha256Utf8(key);
  return ((h[0] << 8) | h[1]) & (BUCKETS - 1);
}

/** The node hashes of an empty tree, level by level: the same for every chain, so computed once. */
let emptyLevels: Uint8Array[][] | undefined;
function emptyTreeLevels(): Uint8Array[][] {
  if (emptyLevels) return emptyLevels;
  let level = new Array<Uint8Array>(BUCKETS).fill(sha256(new Uint8Array([0]), EMPTY));
  const levels = [level];
  while (level.length > 1) {
    level = Array.from({ length: level.length / 2 }, (_, i) => sha256(new Uint8Array([1]), levels.at(-1)![2 * i], levels.at(-1)![2 * i + 1]));
    levels.push(level);
  }
  return (emptyLevels = levels);
}

class StateTree {
  private readonly buckets: Map<string, Uint8Array>[] = Array.from({ length: BUCKETS }, () => new Map());
  // levels[0] = leaf hashes (0x00 || bucketHash), levels[BUCKET_BITS] = [root].
  private readonly levels: Uint8Array[][] = [];
  private readonly dirty = new Set<number>();
  /**
   * The bucket of each key in the tree, so that a key written again is not hashed again to find it
   * (a transfer writes two accounts that are mostly there already). Only committed keys are kept.
   */
  private readonly bucketOfKey = new Map<string, number>();

  constructor() {
    // Hash values are never mutated in place (levels get new arrays of references), so sharing is safe.
    for (const level of emptyTreeLevels()) this.levels.push(level.slice());
  }

  private bucket(key: string): number {
    return this.bucketOfKey.get(key) ?? bucketOf(key);
  }

  /** Puts a pair in (or, with no hash, takes it out of) bucket `b`, leaving the nodes above it as they are. */
  private place(b: number, key: string, valueHash: Uint8Array | null): void {
    if (valueHash) {
      this.buckets[b].set(key, valueHash);
      this.bucketOfKey.set(key, b);
    } else {
      this.buckets[b].delete(key);
      this.bucketOfKey.delete(key);
    }
  }

  set(key: string, valueHash: Uint8Array | null): void {
    const b = this.bucket(key);
    this.place(b, key, valueHash);
    this.dirty.add(b);
  }

  root(): Uint8Array {
    for (const b of this.dirty) {
      this.levels[0][b] = leafOf(this.buckets[b]);
      let i = b;
      for (let l = 1; l <= BUCKET_BITS; l++) {
        i >>= 1;
        this.levels[l][i] = sha256(NODE, this.levels[l - 1][2 * i], this.levels[l - 1][2 * i + 1]);
      }
    }
    this.dirty.clear();
    return this.levels[BUCKET_BITS][0];
  }

  /** The tree after `changes`, computed aside; `apply` adopts it if nothing changed meanwhile. */
  preview(changes: Map<string, Uint8Array | null>): TreePatch {
    this.root();
    const byBucket = new Map<number, [string, Uint8Array | null][]>();
    const changed: [number, string, Uint8Array | null][] = [];
    for (const [key, hash] of changes) {
      const b = this.bucket(key);
      changed.push([b, key, hash]);
      const list = byBucket.get(b);
      if (list) list.push([key, hash]);
      else byBucket.set(b, [[key, hash]]);
    }
    const levels: Map<number, Uint8Array>[] = [new Map()];
    for (const [b, list] of byBucket) levels[0].set(b, leafOf(this.buckets[b], list));
    for (let l = 1; l <= BUCKET_BITS; l++) {
      const below = levels[l - 1];
      const next = new Map<number, Uint8Array>();
      for (const i of below.keys()) {
        const p = i >> 1;
        if (next.has(p)) continue;
        const left = below.get(2 * p) ?? this.levels[l - 1][2 * p];
        const right = below.get(2 * p + 1) ?? this.levels[l - 1][2 * p + 1];
        next.set(p, sha256(NODE, left, right));
      }
      levels.push(next);
    }
    return { changes: changed, levels, root: levels[BUCKET_BITS].get(0) ?? this.levels[BUCKET_BITS][0] };
  }

  apply(patch: TreePatch): void {
    for (const [b, key, hash] of patch.changes) this.place(b, key, hash);
    patch.levels.forEach((nodes, l) => {
      for (const [i, h] of nodes) this.levels[l][i] = h;
    });
  }
}

/**
 * A block's change to a chain's state tree: the pairs it changed, with their buckets, and the tree
 * nodes it changed (made by `preview` here, or on a replica that hashed it: parallel.ts).
 */
export interface TreePatch {
  readonly changes: readonly (readonly [bucket: number, key: string, valueHash: Uint8Array | null])[];
  readonly levels: Map<number, Uint8Array>[];
  readonly root: Uint8Array;
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);
const EMPTY_LEAF = sha256(LEAF, EMPTY);
// A bucket's pairs are laid out here to be hashed in one shot; it grows for a large bucket.
let leafScratch = new Uint8Array(4096);

/**
 * A bucket's leaf: the hash of its (2-byte key length, key's UTF-8, value hash) triples in key
 * order, with `changes` (a height's, not yet committed) applied over the bucket's pairs.
 */
function leafOf(bucket: Map<string, Uint8Array>, changes?: readonly [string, Uint8Array | null][]): Uint8Array {
  let pairs: [string, Uint8Array][];
  if (!changes) pairs = [...bucket];
  else {
    pairs = [];
    // A bucket can hold many keys (addresses can be ground to land in one), so no scan per change.
    const changed = changes.length > 4 ? new Set(changes.map((c) => c[0])) : undefined;
    for (const [key, hash] of bucket) if (!(changed ? changed.has(key) : changes.some((c) => c[0] === key))) pairs.push([key, hash]);
    // A key written twice in a height comes once in `changes` (it is a map's entries).
    for (const [key, hash] of changes) if (hash) pairs.push([key, hash]);
  }
  if (pairs.length === 0) return EMPTY_LEAF;
  pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let at = 0;
  for (const [key, hash] of pairs) {
    // At most 3 UTF-8 bytes per UTF-16 unit.
    if (at + 2 + key.length * 3 + 32 > leafScratch.length) {
      const next = new Uint8Array(Math.max(leafScratch.length * 2, at + 2 + key.length * 3 + 32));
      next.set(leafScratch.subarray(0, at));
      leafScratch = next;
    }
    const { written } = textEncoder.encodeInto(key, leafScratch.subarray(at + 2));
    leafScratch[at] = written >> 8;
    leafScratch[at + 1] = written & 0xff;
    at += 2 + written;
    leafScratch.set(hash, at);
    at += 32;
  }
  return sha256(LEAF, sha256(leafScratch.subarray(0, at)));
}
const textEncoder = new TextEncoder();

/** A chain's writes for one height, encoded, with the state root they lead to. */
export interface StagedChain {
  readonly writes: Map<string, Entry | null>;
  readonly encoded: Map<string, Uint8Array | null>;
  readonly root: Uint8Array;
  readonly patch: TreePatch;
}

/**
 * Writes known by their encodings and decoded when first read: what a replica executed (parallel.ts).
 * The ledger commits them by their encodings and most are never read on this thread, so decoding
 * them all at once would only add to the calling thread's share of a height.
 */
export class EncodedWrites extends Map<string, Entry | null> {
  readonly encoded: ReadonlyMap<string, Uint8Array | null>;

  constructor(encoded: ReadonlyMap<string, Uint8Array | null>) {
    super();
    this.encoded = encoded;
  }

  override get(key: string): Entry | null | undefined {
    if (!super.has(key) && this.encoded.has(key)) {
      const bytes = this.encoded.get(key)!;
      super.set(key, bytes && decodeEntry(key, bytes));
    }
    return super.get(key);
  }

  override has(key: string): boolean {
    return this.encoded.has(key);
  }

  override get size(): number {
    return this.encoded.size;
  }

  override *entries(): MapIterator<[string, Entry | null]> {
    for (const key of this.encoded.keys()) yield [key, this.get(key)!];
  }

  override [Symbol.iterator](): MapIterator<[string, Entry | null]> {
    return this.entries();
  }

  override *keys(): MapIterator<string> {
    yield* this.encoded.keys();
  }

  override *values(): MapIterator<Entry | null> {
    for (const [, v] of this.entries()) yield v;
  }

  override forEach(f: (value: Entry | null, key: string, map: Map<string, Entry | null>) => void): void {
    for (const [k, v] of this.entries()) f(v, k, this);
  }
}

/** A committed entry known by its encoding until first read (see EncodedWrites). */
class Undecoded {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** A key's first path segment (the whole key if it has no '/'). */
function segmentOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? key : key.slice(0, slash);
}

/** One chain's committed state: entries in memory, with an incrementally maintained root. */
export class ChainState implements StateReader {
  readonly chain: number;
  private readonly entries = new Map<string, Entry | Undecoded>();
  /**
   * The keys by their first path segment (`tsk`, `acc`, …): a scan of one kind of entry (every
   * task, for an API list or the market's height work) visits those, not every key of the chain.
   */
  private readonly scopes = new Map<string, Set<string>>();
  private readonly tree = new StateTree();

  constructor(chain: number) {
    this.chain = chain;
  }

  get<T extends Entry>(key: string): T | undefined {
    const v = this.entries.get(key);
    if (!(v instanceof Undecoded)) return v as T | undefined;
    const entry = decodeEntry(key, v.bytes);
    this.entries.set(key, entry);
    return entry as T;
  }

  /** Loads an entry from storage without marking anything for persistence. */
  load(key: string, value: Entry, encoded: Uint8Array): void {
    this.setEntry(key, value);
    this.tree.set(key, sha256(encoded));
  }

  /**
   * Encodes a height's writes and computes the resulting root without changing this state.
   * `encoded` holds encodings already made (an overlay's, made when each entry was written).
   */
  stage(writes: Map<string, Entry | null>, known?: ReadonlyMap<string, Uint8Array>): StagedChain {
    const encoded = new Map<string, Uint8Array | null>();
    const hashes = new Map<string, Uint8Array | null>();
    for (const [key, value] of writes) {
      const bytes = value === null ? null : (known?.get(key) ?? encodeEntry(key, value));
      encoded.set(key, bytes);
      hashes.set(key, bytes && sha256(bytes));
    }
    const patch = this.tree.preview(hashes);
    return { writes, encoded, root: patch.root, patch };
  }

  /** Makes staged writes the committed state; the caller persists `staged.encoded`. */
  commit(staged: StagedChain): void {
    if (staged.writes instanceof EncodedWrites) {
      for (const [key, bytes] of staged.encoded) {
        if (bytes === null) this.deleteEntry(key);
        else this.setEntry(key, new Undecoded(bytes));
      }
    } else {
      for (const [key, value] of staged.writes) {
        if (value === null) this.deleteEntry(key);
        else this.setEntry(key, value);
      }
    }
    this.tree.apply(staged.patch);
  }

  root(): Uint8Array {
    return this.tree.root();
  }

  /**
   * Sets one committed entry from its encoding (null deletes), as a replica does when it starts
   * (decoded when first read); the root is rehashed lazily, when next asked.
   */
  put(key: string, encoded: Uint8Array | null): void {
    if (encoded === null) {
      this.deleteEntry(key);
      this.tree.set(key, null);
    } else {
      this.setEntry(key, new Undecoded(encoded));
      this.tree.set(key, sha256(encoded));
    }
  }

  keys(prefix = ''): string[] {
    const out: string[] = [];
    const slash = prefix.indexOf('/');
    // A key that starts with a prefix holding a '/' has the prefix's first segment as its own.
    if (slash >= 0) {
      for (const k of this.scopes.get(prefix.slice(0, slash)) ?? []) if (k.startsWith(prefix)) out.push(k);
    } else {
      for (const [segment, keys] of this.scopes) if (segment.startsWith(prefix)) for (const k of keys) out.push(k);
    }
    return out.sort();
  }

  private setEntry(key: string, value: Entry | Undecoded): void {
    if (!this.entries.has(key)) {
      const segment = segmentOf(key);
      let keys = this.scopes.get(segment);
      if (!keys) this.scopes.set(segment, (keys = new Set()));
      keys.add(key);
    }
    this.entries.set(key, value);
  }

  private deleteEntry(key: string): void {
    if (!this.entries.delete(key)) return;
    const segment = segmentOf(key);
    const keys = this.scopes.get(segment);
    keys?.delete(key);
    if (keys?.size === 0) this.scopes.delete(segment);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Every committed entry, in no particular order: a copy of the map's pairs, cheap enough to take
   * at a commit (entries are never changed in place, so they stay as they were while encoded later).
   */
  pairs(): [string, Entry][] {
    return Array.from(this.entries.keys(), (key) => [key, this.get(key)!]);
  }
}

const ABSENT = Symbol('absent');
type Undo = [key: string, value: Entry | null | typeof ABSENT, bytes: Uint8Array | undefined];

/**
 * Uncommitted writes on top of a chain's state. Handlers mutate only copies of entries
 * and write them back here; a checkpoint lets a failed transaction leave no trace.
 */
export class StateOverlay implements StateWriter {
  readonly base: StateReader;
  readonly writes = new Map<string, Entry | null>();
  /** Encodings of entries in `writes`, made when the transaction that wrote them ended (see `seal`). */
  readonly encoded = new Map<string, Uint8Array>();
  private journal: Undo[] = [];

  constructor(base: StateReader) {
    this.base = base;
  }

  get<T extends Entry>(key: string): T | undefined {
    const w = this.writes.get(key);
    if (w !== undefined) return (w ?? undefined) as T | undefined;
    return this.base.get<T>(key);
  }

  /** Keys under `prefix` as this overlay sees them: the base's, less deletions, plus new writes. */
  keys(prefix = ''): string[] {
    const all = new Set(this.base.keys(prefix));
    for (const [k, v] of this.writes) {
      if (!k.startsWith(prefix)) continue;
      if (v === null) all.delete(k);
      else all.add(k);
    }
    return [...all].sort();
  }

  set(key: string, value: Entry | null): void {
    const prev = this.writes.has(key) ? this.writes.get(key)! : ABSENT;
    this.journal.push([key, prev, this.encoded.get(key)]);
    this.writes.set(key, value);
    this.encoded.delete(key);
  }

  /**
   * Encodes every entry written since checkpoint `cp`, as it stands now: a transaction seals its
   * writes before it ends, so that a value the state cannot hold fails inside the transaction
   * that wrote it (which is then refused alone) and never later, while the block is built, where
   * it would stop the chain. The encodings are the ones staged; the entries are frozen so that
   * nothing changes them afterwards unseen.
   */
  seal(cp: number): void {
    for (let i = cp; i < this.journal.length; i++) {
      const key = this.journal[i][0];
      if (this.encoded.has(key)) continue;
      const value = this.writes.get(key);
      if (value === null || value === undefined) continue;
      this.encoded.set(key, encodeEntry(key, value));
      Object.freeze(value);
    }
  }

  checkpoint(): number {
    return this.journal.length;
  }

  revert(cp: number): void {
    while (this.journal.length > cp) {
      const [key, prev, bytes] = this.journal.pop()!;
      if (prev === ABSENT) this.writes.delete(key);
      else this.writes.set(key, prev);
      if (bytes) this.encoded.set(key, bytes);
      else this.encoded.delete(key);
    }
  }

  /** Forgets the undo log once the writes are known to stand. */
  settle(): void {
    this.journal = [];
  }
}

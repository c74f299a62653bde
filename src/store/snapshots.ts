import { decode, encode } from '../codec/index.ts';
import { bytesEqual, merkleRoot, sha256, toHex } from '../crypto/index.ts';
import {
  blockHash,
  decodeEntry,
  decodeReceipts,
  encodeEntry,
  encodeReceipts,
  GENESIS_COMMIT,
  Ledger,
  receiptHash,
  type BlockHeader,
  type Entry,
  type Genesis,
  type Receipt,
} from '../ledger/index.ts';

// State snapshots for late joiners (docs/STATE_SYNC.md): the ledger's state at a checkpoint
// height, cut into chunks a joining node fetches from several peers and checks one by one.
//
// A snapshot is a manifest and its chunks. The chunks are a byte stream cut every CHUNK_BYTES:
// length-prefixed records, first the tip (height, block time, block hash, receipts in flight),
// then every state entry of the ten chains in (chain, key) order. That order and the encodings
// are canonical, so every honest node that took a snapshot at a height makes the same bytes, the
// same manifest and the same manifest hash: a joiner can fetch one snapshot's chunks from all the
// peers that offer that manifest. For the same reason the snapshot carries no commit certificate
// (nodes commit a height with different, equally valid sets of signatures): the joiner takes the
// certificate of height S from the block record it fetches anyway, and checks its signatures.
//
// What is checked, and against what (see `restoreSnapshot`): each chunk against its hash in the
// manifest; the manifest's height and block hash against the header of block S, itself linked by
// prevHash to the block hash the operator trusts; the entries against the ten state roots of
// header S; the block time against header S; the receipts in flight against the ten receipt
// roots of header S. Nothing in a snapshot is taken on its word.

export const SNAPSHOT_FORMAT = 1;
/** Chunk size: big enough that a chunk's round trip is not the cost, small enough to retry cheaply. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;
/** A manifest lists at most this many chunks (64 GiB of state): bounds what a peer can make us hold. */
export const MAX_SNAPSHOT_CHUNKS = 65_536;

const hash32 = { type: 'bytes', length: 32 } as const;

export const SnapshotManifestSchema = {
  $id: 'SnapshotManifest',
  fields: {
    format: { id: 1, type: 'uint32' },
    chainId: { id: 2, type: 'string', max: 64 },
    height: { id: 3, type: 'uint64' },
    blockHash: { id: 4, ...hash32 },
    totalBytes: { id: 5, type: 'uint64' },
    entries: { id: 6, type: 'uint64' },
    chunkBytes: { id: 7, type: 'uint32' },
    chunks: { id: 8, type: { array: 'bytes', max: MAX_SNAPSHOT_CHUNKS } },
  },
} as const;

const SnapshotTipSchema = {
  $id: 'SnapshotTip',
  fields: {
    height: { id: 1, type: 'uint64' },
    time: { id: 2, type: 'uint64' },
    blockHash: { id: 3, ...hash32 },
    inFlight: { id: 4, type: 'bytes' },
  },
} as const;

const SnapshotEntrySchema = {
  $id: 'SnapshotEntry',
  fields: { chain: { id: 1, type: 'uint32' }, key: { id: 2, type: 'string', max: 1024 }, value: { id: 3, type: 'bytes' } },
} as const;

export interface SnapshotManifest {
  format: number;
  chainId: string;
  height: number;
  blockHash: Uint8Array;
  totalBytes: number;
  entries: number;
  chunkBytes: number;
  chunks: Uint8Array[];
}

export function encodeManifest(m: SnapshotManifest): Uint8Array {
  return encode(SnapshotManifestSchema, { ...m, height: BigInt(m.height), totalBytes: BigInt(m.totalBytes), entries: BigInt(m.entries) });
}

/** Decodes a manifest and checks its shape (not its truth: that needs the chain, see restoreSnapshot). */
export function decodeManifest(bytes: Uint8Array): SnapshotManifest {
  const m = decode(SnapshotManifestSchema, bytes);
  if (m.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`snapshot format ${m.format} is not the supported ${SNAPSHOT_FORMAT}`);
  if (m.chunkBytes < 1 || m.chunkBytes > 16 * SNAPSHOT_CHUNK_BYTES) throw new SnapshotError(`snapshot chunk size ${m.chunkBytes} is out of range`);
  const total = Number(m.totalBytes);
  if (m.chunks.length !== Math.ceil(total / m.chunkBytes) || m.chunks.length === 0) {
    throw new SnapshotError(`snapshot manifest lists ${m.chunks.length} chunks for ${total} bytes of ${m.chunkBytes}`);
  }
  if (m.chunks.some((c) => c.length !== 32)) throw new SnapshotError('snapshot manifest has a chunk hash that is not 32 bytes');
  return { ...m, height: Number(m.height), totalBytes: total, entries: Number(m.entries) };
}

export const manifestHash = (bytes: Uint8Array): Uint8Array => sha256(bytes);

/** A snapshot that does not match what it claims: the peers that offered it lied (or are broken). */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/** The ledger at a commit, captured without encoding anything (see `captureState`). */
export interface StateCapture {
  readonly chainId: string;
  readonly height: number;
  readonly time: number;
  readonly blockHash: Uint8Array;
  readonly inFlight: Receipt[];
  readonly chains: [string, Entry][][];
}

/**
 * Takes the committed state as it is now: references to the entries, no encoding. Called right
 * after a commit, before the next height can change the ledger; the encoding (`buildSnapshot`)
 * runs later in the background. Entries are never changed in place, so the references keep the
 * values they had at this height.
 */
export function captureState(ledger: Ledger): StateCapture {
  return {
    chainId: ledger.chainId,
    height: ledger.height,
    time: ledger.time,
    blockHash: ledger.lastBlockHash,
    inFlight: ledger.inFlight,
    chains: ledger.chains.map((c) => c.pairs()),
  };
}

/** Length-prefixes records into one stream, cut into chunks of `chunkBytes`. */
class ChunkWriter {
  readonly chunks: Uint8Array[] = [];
  private buf: Uint8Array;
  private pos = 0;
  total = 0;
  private readonly chunkBytes: number;

  constructor(chunkBytes: number) {
    this.chunkBytes = chunkBytes;
    this.buf = new Uint8Array(chunkBytes);
  }

  record(bytes: Uint8Array): void {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bytes.length);
    this.write(header);
    this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.chunkBytes - this.pos);
      this.buf.set(bytes.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
      this.total += n;
      if (this.pos === this.chunkBytes) {
        this.chunks.push(this.buf);
        this.buf = new Uint8Array(this.chunkBytes);
        this.pos = 0;
      }
    }
  }

  finish(): Uint8Array[] {
    if (this.pos > 0) this.chunks.push(this.buf.slice(0, this.pos));
    this.pos = 0;
    return this.chunks;
  }
}

export interface BuiltSnapshot {
  manifest: SnapshotManifest;
  manifestBytes: Uint8Array;
  chunks: Uint8Array[];
}

/**
 * Encodes a capture into a manifest and chunks. `pause` is awaited every few thousand entries, so
 * that a node encoding a large state keeps serving consensus in between.
 */
export async function buildSnapshot(c: StateCapture, o: { chunkBytes?: number; pause?: () => Promise<void> } = {}): Promise<BuiltSnapshot> {
  const chunkBytes = o.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
  const w = new ChunkWriter(chunkBytes);
  w.record(encode(SnapshotTipSchema, { height: BigInt(c.height), time: BigInt(c.time), blockHash: c.blockHash, inFlight: encodeReceipts(c.inFlight) }));
  let entries = 0;
  for (let chain = 0; chain < c.chains.length; chain++) {
    // Called at a commit: the sorting and encoding happen after the commit has returned.
    await o.pause?.();
    const pairs = c.chains[chain].slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key, value] of pairs) {
      w.record(encode(SnapshotEntrySchema, { chain, key, value: encodeEntry(key, value) }));
      if (++entries % 4096 === 0) await o.pause?.();
    }
  }
  const chunks = w.finish();
  const manifest: SnapshotManifest = {
    format: SNAPSHOT_FORMAT,
    chainId: c.chainId,
    height: c.height,
    blockHash: c.blockHash,
    totalBytes: w.total,
    entries,
    chunkBytes,
    chunks: chunks.map((ch) => sha256(ch)),
  };
  return { manifest, manifestBytes: encodeManifest(manifest), chunks };
}

/** Whether chunk `index` is the one the manifest lists (its hash and its length). */
export function chunkError(m: SnapshotManifest, index: number, bytes: Uint8Array): string | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= m.chunks.length) return `chunk ${index} is not in the snapshot (it has ${m.chunks.length})`;
  const expected = index < m.chunks.length - 1 ? m.chunkBytes : m.totalBytes - m.chunkBytes * (m.chunks.length - 1);
  if (bytes.length !== expected) return `chunk ${index} has ${bytes.length} bytes, the manifest says ${expected}`;
  if (!bytesEqual(sha256(bytes), m.chunks[index])) return `chunk ${index} does not hash to the manifest's ${toHex(m.chunks[index]).slice(0, 16)}…`;
  return undefined;
}

/** Splits the chunks' stream back into records. */
function* records(chunks: readonly Uint8Array[]): Generator<Uint8Array> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  const view = new DataView(all.buffer);
  let pos = 0;
  while (pos < total) {
    if (pos + 4 > total) throw new SnapshotError('snapshot stream ends inside a record header');
    const len = view.getUint32(pos);
    pos += 4;
    if (pos + len > total) throw new SnapshotError('snapshot stream ends inside a record');
    yield all.subarray(pos, pos + len);
    pos += len;
  }
}

/** What a restore yields: the ledger at S (its certificate still to be set) and the state's size. */
export interface RestoredSnapshot {
  ledger: Ledger;
  entries: [number, string, Entry, Uint8Array][];
  inFlight: Receipt[];
}

/**
 * Rebuilds the ledger at height S from verified chunks and checks it against header S, the header
 * of a block the caller linked to a trusted hash: the manifest's height and block hash, the block
 * time, the ten state roots and the ten receipt roots (the receipts in flight are block S's
 * outgoing receipts, in chain order). Throws SnapshotError naming the first thing that differs.
 */
export function restoreSnapshot(genesis: Genesis, m: SnapshotManifest, chunks: readonly Uint8Array[], header: BlockHeader): RestoredSnapshot {
  const hash = blockHash(header);
  if (m.chainId !== genesis.chainId) throw new SnapshotError(`snapshot is of chain ${m.chainId}, not ${genesis.chainId}`);
  if (m.height !== Number(header.height)) throw new SnapshotError(`snapshot manifest says height ${m.height}, the linked block is ${header.height}`);
  if (!bytesEqual(m.blockHash, hash)) throw new SnapshotError(`snapshot manifest's block hash ${toHex(m.blockHash)} is not block ${m.height}'s ${toHex(hash)}`);
  if (chunks.length !== m.chunks.length) throw new SnapshotError(`snapshot has ${chunks.length} chunks, the manifest ${m.chunks.length}`);
  chunks.forEach((c, i) => {
    const why = chunkError(m, i, c);
    if (why) throw new SnapshotError(why);
  });
  const it = records(chunks);
  const first = it.next();
  if (first.done) throw new SnapshotError('snapshot is empty');
  let tip;
  let inFlight: Receipt[];
  try {
    tip = decode(SnapshotTipSchema, first.value);
    inFlight = decodeReceipts(tip.inFlight);
  } catch (e) {
    throw new SnapshotError(`snapshot tip does not decode: ${(e as Error).message}`);
  }
  if (Number(tip.height) !== m.height || !bytesEqual(tip.blockHash, hash)) throw new SnapshotError('snapshot tip is not the manifest height and block');
  if (tip.time !== header.time) throw new SnapshotError(`snapshot tip time ${tip.time} is not block ${m.height}'s ${header.time}`);
  // Block S's outgoing receipts are the ones in flight at S; the header commits to them per source chain.
  header.segments.forEach((seg, chain) => {
    const root = merkleRoot(inFlight.filter((r) => r.source === chain).map((r) => receiptHash(r)));
    if (!bytesEqual(root, seg.receiptRoot))
      throw new SnapshotError(`snapshot receipts in flight from chain ${chain} do not match block ${m.height}'s receipt root`);
  });
  for (let i = 1; i < inFlight.length; i++) {
    if (inFlight[i].source < inFlight[i - 1].source) throw new SnapshotError('snapshot receipts in flight are not in chain order');
  }
  const entries: [number, string, Entry, Uint8Array][] = [];
  let last = { chain: -1, key: '' };
  for (const rec of it) {
    let e;
    let value: Entry;
    try {
      e = decode(SnapshotEntrySchema, rec);
      value = decodeEntry(e.key, e.value);
    } catch (err) {
      throw new SnapshotError(`snapshot entry ${entries.length} does not decode: ${(err as Error).message}`);
    }
    if (e.chain >= header.segments.length) throw new SnapshotError(`snapshot entry of chain ${e.chain}`);
    // Canonical order also rules out a key given twice (the second would silently win).
    if (e.chain < last.chain || (e.chain === last.chain && e.key <= last.key)) throw new SnapshotError(`snapshot entries out of order at ${e.chain}/${e.key}`);
    last = { chain: e.chain, key: e.key };
    entries.push([e.chain, e.key, value, e.value]);
  }
  if (entries.length !== m.entries) throw new SnapshotError(`snapshot holds ${entries.length} entries, the manifest says ${m.entries}`);
  const ledger = Ledger.restore(genesis, { height: m.height, time: Number(tip.time), hash, inFlight, lastCommit: GENESIS_COMMIT }, entries);
  const roots = ledger.stateRoots();
  header.segments.forEach((seg, chain) => {
    if (!bytesEqual(seg.stateRoot, roots[chain])) {
      throw new SnapshotError(`snapshot state of chain ${chain} has root ${toHex(roots[chain])}, block ${m.height} says ${toHex(seg.stateRoot)}`);
    }
  });
  return { ledger, entries, inFlight };
}

/** A label for logs: height and the manifest hash's first bytes. */
export const snapshotLabel = (height: number, hash: Uint8Array): string => `${height}/${toHex(hash).slice(0, 12)}`;

import { decode, encode } from '../codec/index.ts';
import { bytesEqual, merkleRoot, sha256Hex, toHex, utf8 } from '../crypto/index.ts';
import {
  blockHash,
  committedBlockError,
  decodeCommittedBlock,
  encodeCommittedBlock,
  GENESIS_COMMIT,
  type Certificate,
  type CommittedBlock,
  decodeEntry,
  decodeReceipts,
  encodeEntry,
  encodeReceipts,
  Ledger,
  receiptHash,
  validateGenesis,
  type Block,
  type Entry,
  type ExecutedHeight,
  type Genesis,
} from '../ledger/index.ts';
import { type KvOp, type KvStore, StoreCorruptError } from './kv.ts';

const TipSchema = {
  $id: 'Tip',
  fields: { height: { id: 1, type: 'uint64' }, time: { id: 2, type: 'uint64' }, hash: { id: 3, type: 'bytes', length: 32 } },
} as const;
const TxLocationSchema = {
  $id: 'TxLocation',
  fields: { height: { id: 1, type: 'uint64' }, chain: { id: 2, type: 'uint32' }, index: { id: 3, type: 'uint32' } },
} as const;

/** Copies of committed blocks from other nodes, for a block this store holds damaged (ChainStore.repair). */
export interface BlockRepair {
  /** Encodings of committed block `height` from other nodes, one at a time, until one checks out. */
  fetch(height: number): AsyncIterable<Uint8Array>;
  /** A damaged block was replaced by a checked copy (`damage`: what was wrong with the stored one). */
  repaired(height: number, damage: string): void;
}

/** How a store joined by state sync (kept in the store, shown in /status). */
export interface StateSyncRecord {
  snapshotHeight: number;
  trustHeight: number;
  /** Hex hash of the restored snapshot's manifest. */
  manifest: string;
  blocksExecuted?: number;
  restoreMs?: number;
  /** Peers the join caught serving something false (a tampered chunk, a manifest or block that does not match). */
  penalizedPeers?: string[];
}

export interface TxLocation {
  height: number;
  chain: number;
  index: number;
}

const BaseSchema = { $id: 'StoreBase', fields: { height: { id: 1, type: 'uint64' } } } as const;

/** Runs a read of stored bytes; a failure to decode them is damage, named with `what`. */
async function decoding<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof StoreCorruptError) throw e;
    throw new StoreCorruptError(`${what} cannot be read: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

const blockKey = (height: number): string => `b/${height.toString().padStart(16, '0')}`;
const stateKey = (chain: number, key: string): string => `s/${chain}/${key}`;

async function checkedBlock(raw: Uint8Array, height: number): Promise<CommittedBlock> {
  const c = await decoding(`stored block ${height}`, async () => decodeCommittedBlock(raw));
  const why = committedBlockError(c, height);
  if (why) throw new StoreCorruptError(`stored block ${height} is damaged: ${why}`);
  return c;
}

/**
 * Blocks, the transaction index and chain state in one key-value store. Every committed
 * height is one atomic, synced batch: after a crash the store holds either all of a height
 * or none of it.
 */
export class ChainStore {
  readonly kv: KvStore;
  private baseHeight: number | undefined;
  /**
   * Where a stored block found damaged is fetched again (the node's peers; set once its network is
   * open). Without it a damaged block stays an error.
   */
  repair: BlockRepair | undefined;
  /** Repairs under way: readers of the same damaged block wait for one fetch. */
  private readonly repairing = new Map<number, Promise<{ raw: Uint8Array; block: CommittedBlock }>>();

  constructor(kv: KvStore) {
    this.kv = kv;
  }

  async genesis(): Promise<Genesis | undefined> {
    const raw = await this.kv.get('meta/genesis');
    return raw && decoding('the stored genesis', async () => validateGenesis(JSON.parse(new TextDecoder().decode(raw))));
  }

  /** Writes genesis state at height 0 (only into an empty store). */
  async initialize(ledger: Ledger): Promise<void> {
    if (await this.kv.get('meta/genesis')) throw new Error('store already initialized');
    const ops: KvOp[] = [{ key: 'meta/genesis', value: utf8(JSON.stringify(ledger.genesis)) }];
    ledger.chains.forEach((c) => {
      for (const key of c.keys()) ops.push({ key: stateKey(c.chain, key), value: encodeEntry(key, c.get(key)!) });
    });
    ops.push({ key: 'meta/tip', value: encode(TipSchema, { height: 0n, time: BigInt(ledger.time), hash: ledger.lastBlockHash }) });
    ops.push({ key: 'meta/inflight', value: encodeReceipts([]) });
    await this.kv.write(ops, true);
  }

  /** Persists a block, the certificate that committed it and everything it changed, atomically. */
  async commit(block: Block, certificate: Certificate, executed: ExecutedHeight): Promise<void> {
    const height = executed.height;
    const ops: KvOp[] = [{ key: blockKey(height), value: encodeCommittedBlock({ block, certificate }) }];
    executed.txs.forEach((txs, chain) => {
      txs.forEach((tx, index) => {
        ops.push({ key: `t/${tx.hashHex}`, value: encode(TxLocationSchema, { height: BigInt(height), chain, index }) });
      });
    });
    executed.staged.forEach((s, chain) => {
      for (const [key, bytes] of s.encoded) ops.push({ key: stateKey(chain, key), value: bytes });
    });
    ops.push({ key: 'meta/inflight', value: encodeReceipts(executed.receipts) });
    ops.push({ key: 'meta/tip', value: encode(TipSchema, { height: BigInt(height), time: BigInt(executed.time), hash: blockHash(block.header) }) });
    await this.kv.write(ops, true);
  }

  /**
   * Writes the state a snapshot restored (height S, see snapshots.ts) into an empty store, with
   * block S's record, in one atomic batch: a crash leaves either nothing (the next start begins
   * the join again) or a store at S that starts like any other.
   */
  async restoreSnapshot(ledger: Ledger, entries: readonly [number, string, Entry, Uint8Array][], record: Uint8Array, info: StateSyncRecord): Promise<void> {
    if (await this.kv.get('meta/genesis')) throw new Error('store already initialized: state sync only fills an empty store');
    const ops: KvOp[] = [{ key: 'meta/genesis', value: utf8(JSON.stringify(ledger.genesis)) }];
    for (const [chain, key, , bytes] of entries) ops.push({ key: stateKey(chain, key), value: bytes });
    ops.push({ key: blockKey(ledger.height), value: record });
    ops.push({ key: 'meta/tip', value: encode(TipSchema, { height: BigInt(ledger.height), time: BigInt(ledger.time), hash: ledger.lastBlockHash }) });
    ops.push({ key: 'meta/inflight', value: encodeReceipts(ledger.inFlight) });
    ops.push({ key: 'meta/base', value: encode(BaseSchema, { height: BigInt(ledger.height) }) });
    ops.push({ key: 'meta/statesync', value: utf8(JSON.stringify(info)) });
    await this.kv.write(ops, true);
    this.baseHeight = ledger.height;
  }

  /** How this store's chain began, when it joined by state sync rather than from genesis. */
  async stateSyncInfo(): Promise<StateSyncRecord | undefined> {
    const raw = await this.kv.get('meta/statesync');
    return raw && (JSON.parse(new TextDecoder().decode(raw)) as StateSyncRecord);
  }

  /** Completes the record of a join (blocks executed, time) once it is done. */
  async setStateSyncInfo(info: StateSyncRecord): Promise<void> {
    await this.kv.write([{ key: 'meta/statesync', value: utf8(JSON.stringify(info)) }], true);
  }

  /** The lowest height whose block this store holds (1 unless it joined by state sync or pruned). */
  async base(): Promise<number> {
    if (this.baseHeight === undefined) {
      const raw = await this.kv.get('meta/base');
      this.baseHeight = raw ? Number(decode(BaseSchema, raw).height) : 1;
    }
    return this.baseHeight;
  }

  /**
   * Deletes the blocks below `below` (and their transactions' index entries), at most `max` of
   * them in this call, oldest first; returns how many went. The tip's block is never deleted.
   */
  async pruneBelow(below: number, max = 256): Promise<number> {
    const base = await this.base();
    const tip = (await this.tip()).height;
    const end = Math.min(below, tip, base + max);
    if (end <= base) return 0;
    const ops: KvOp[] = [];
    for (let h = base; h < end; h++) {
      // Unchecked: a damaged block on its way out still names the index entries it can.
      const raw = await this.kv.get(blockKey(h));
      let c: CommittedBlock | undefined;
      try {
        c = raw && decodeCommittedBlock(raw);
      } catch {
        c = undefined;
      }
      if (c) for (const seg of c.block.segments) for (const tx of seg.txs) ops.push({ key: `t/${sha256Hex(tx)}`, value: null });
      ops.push({ key: blockKey(h), value: null });
    }
    ops.push({ key: 'meta/base', value: encode(BaseSchema, { height: BigInt(end) }) });
    // Not synced: a crash may bring back blocks we meant to delete, never lose one we keep.
    await this.kv.write(ops, false);
    this.baseHeight = end;
    return end - base;
  }

  async tip(): Promise<{ height: number; time: number; hash: Uint8Array }> {
    const raw = await this.kv.get('meta/tip');
    if (!raw) throw new Error('store is not initialized');
    const t = await decoding('the stored tip', async () => decode(TipSchema, raw));
    return { height: Number(t.height), time: Number(t.time), hash: t.hash };
  }

  /** Rebuilds the in-memory ledger from stored state and checks it against the tip block's roots. */
  async loadLedger(): Promise<Ledger> {
    const genesis = await this.genesis();
    if (!genesis) throw new Error('store is not initialized');
    const tip = await this.tip();
    const inflightRaw = await this.kv.get('meta/inflight');
    const inFlight = inflightRaw ? await decoding('the stored receipts in flight', async () => decodeReceipts(inflightRaw)) : [];
    const entries: [number, string, Entry, Uint8Array][] = [];
    await decoding('the stored state', async () => {
      for await (const [k, v] of this.kv.entries('s/')) {
        const slash = k.indexOf('/', 2);
        const chain = Number(k.slice(2, slash));
        const key = k.slice(slash + 1);
        entries.push([chain, key, decodeEntry(key, v), v]);
      }
    });
    const last = tip.height > 0 ? await this.committedBlock(tip.height) : undefined;
    if (tip.height > 0 && !last) throw new StoreCorruptError(`store is missing block ${tip.height}, its tip`);
    const lastCommit = last?.certificate ?? GENESIS_COMMIT;
    const ledger = Ledger.restore(genesis, { ...tip, lastCommit, inFlight }, entries);
    // Everything loaded must be what the tip block commits to: its hash and time, each chain's
    // state root, and the receipts each chain sent at that height (still in flight).
    if (last) {
      const header = last.block.header;
      if (!bytesEqual(blockHash(header), tip.hash) || Number(header.time) !== tip.time) {
        throw new StoreCorruptError(`the stored tip (height ${tip.height}, hash ${toHex(tip.hash)}) is not block ${tip.height}`);
      }
      const roots = ledger.stateRoots();
      header.segments.forEach((s, i) => {
        if (!bytesEqual(s.stateRoot, roots[i])) {
          throw new StoreCorruptError(`stored state of chain ${i} does not match block ${tip.height} (root ${toHex(roots[i])})`);
        }
        const sent = merkleRoot(inFlight.filter((r) => r.source === i).map(receiptHash));
        if (!bytesEqual(s.receiptRoot, sent)) throw new StoreCorruptError(`stored receipts in flight from chain ${i} do not match block ${tip.height}`);
      });
    }
    return ledger;
  }

  async block(height: number): Promise<Block | undefined> {
    return (await this.committedBlock(height))?.block;
  }

  /**
   * A block with the certificate that committed it, checked against itself (committedBlockError):
   * a block damaged on disk is fetched again through `repair` when there is one, else it throws
   * StoreCorruptError rather than reach a client or a peer.
   */
  async committedBlock(height: number): Promise<CommittedBlock | undefined> {
    return (await this.readBlock(height))?.block;
  }

  /**
   * The stored encoding of a committed block, checked as committedBlock is. With `waitForRepair`
   * false (a peer asking: it can ask another) a damaged block throws at once and its repair goes on
   * in the background, so two nodes holding the same block damaged do not wait on each other.
   */
  async committedBlockBytes(height: number, waitForRepair = true): Promise<Uint8Array | undefined> {
    return (await this.readBlock(height, waitForRepair))?.raw;
  }

  private async readBlock(height: number, waitForRepair = true): Promise<{ raw: Uint8Array; block: CommittedBlock } | undefined> {
    const raw = await this.kv.get(blockKey(height));
    if (!raw) return undefined;
    try {
      return { raw, block: await checkedBlock(raw, height) };
    } catch (e) {
      if (!(e instanceof StoreCorruptError) || !this.repair) throw e;
      let running = this.repairing.get(height);
      if (!running) {
        running = this.refetch(height, this.repair, e).finally(() => this.repairing.delete(height));
        this.repairing.set(height, running);
      }
      if (waitForRepair) return running;
      running.catch(() => undefined);
      throw e;
    }
  }

  /**
   * Replaces damaged block `height` with a copy from elsewhere that hashes to what this store's
   * chain says it is: the hash block height+1 carries as its parent (that block checked, and itself
   * repaired first if it must be), or the tip's hash. A copy that does not match is not written.
   */
  private async refetch(height: number, repair: BlockRepair, damage: StoreCorruptError): Promise<{ raw: Uint8Array; block: CommittedBlock }> {
    const tip = await this.tip();
    let expected: Uint8Array | undefined;
    if (height === tip.height) expected = tip.hash;
    else if (height < tip.height) expected = (await this.committedBlock(height + 1))?.block.header.prevHash;
    if (!expected) throw damage;
    let offered = 0;
    for await (const raw of repair.fetch(height)) {
      offered++;
      let c: CommittedBlock;
      try {
        c = decodeCommittedBlock(raw);
      } catch {
        continue;
      }
      if (committedBlockError(c, height) !== undefined || !bytesEqual(blockHash(c.block.header), expected)) continue;
      await this.kv.write([{ key: blockKey(height), value: raw }], true);
      repair.repaired(height, damage.message);
      return { raw, block: c };
    }
    throw new StoreCorruptError(
      `${damage.message}; ${offered === 0 ? 'no peer could send it' : `none of the ${offered} cop${offered === 1 ? 'y' : 'ies'} peers sent hashes to ${toHex(expected)}`}`,
      { cause: damage },
    );
  }

  async txLocation(hashHex: string): Promise<TxLocation | undefined> {
    const raw = await this.kv.get(`t/${hashHex}`);
    if (!raw) return undefined;
    const l = decode(TxLocationSchema, raw);
    return { height: Number(l.height), chain: l.chain, index: l.index };
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}

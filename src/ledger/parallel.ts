import { sha256Hex, utf8 } from '../crypto/portable.ts';
import type { Block, SegmentHeader } from './block.ts';
import type { MarketEvent } from './context.ts';
import { fail, LedgerError, type LedgerErrorCode } from './errors.ts';
import type { Genesis } from './genesis.ts';
import { checkClaimedSegments, HeightExecution, InvalidBlockError, Ledger, type ChainOutcome, type ExecutedHeight, type KnownTxs } from './ledger.ts';
import { CHAIN_COUNT, MAIN_CHAIN, MAX_BLOCK_TX_BYTES, type LedgerParams } from './params.ts';
import { decodeReceipts, encodeReceipts, receiptTarget, type Receipt } from './receipts.ts';
import { EncodedWrites, type StagedChain } from './state.ts';
import { encodeEntry } from './stores.ts';
import { checkTxSignature, decodeTx, type Tx } from './tx.ts';

// Executing one height's inner chains on several threads. A chain's segment is a pure function of
// its own committed state, the receipts sent to it at the last height, main as committed and the
// block's context (height, time, previous hash, parameters); nothing in it reads another inner
// chain. So the chains split into partitions, each kept by a replica (`ChainPartition`, which a
// host runs on a worker thread) that holds its chains' state and a read-only copy of main. The
// ledger on the calling thread keeps every chain as before (reads, mempool, block building, the
// store) and runs main and its own share of the inner chains meanwhile; a replica sends back
// what its chains wrote, already encoded and hashed (the changed pairs and tree nodes), so the
// ledger adopts the roots without hashing anything again. The result is the same `ExecutedHeight`
// as sequential execution, byte for byte (parallel.test.ts). Only compact bytes cross threads:
// transactions, receipts and state entries in their canonical encodings, packed into one buffer.

/** A height's work for one partition. */
export interface PartitionJob {
  readonly id: number;
  readonly height: number;
  readonly time: number;
  readonly prevHash: Uint8Array;
  readonly params: LedgerParams;
  /** The receipts in flight to this partition's chains, in emission order (encodeReceipts). */
  readonly receipts: Uint8Array;
  /** Each of the partition's chains' transactions, in its order (packSegments). */
  readonly txs: Uint8Array;
}

/** What a failed transaction of a partition's chain came to (the block is invalid). */
export interface SegmentFailure {
  readonly index: number;
  readonly code: LedgerErrorCode;
  readonly message: string;
}

/** One chain's outcome, as a replica sends it back. */
export interface ChainReply {
  readonly segment: SegmentHeader;
  /** Encoded receipts it emitted (encodeReceipts). */
  readonly receipts: Uint8Array;
  readonly events: (MarketEvent & { chain: number })[];
  /** What it staged (its root is the segment's state root). */
  readonly staged: PackedStaged;
  /** How many of the segment's transactions it decoded (all, or up to the failure). */
  readonly decoded: number;
  readonly failure?: SegmentFailure;
}

export interface PartitionReply {
  readonly id: number;
  readonly chains: ChainReply[];
  /** How many of its transactions it had decoded ahead (see ChainPartition.admit). */
  readonly decodedAhead: number;
}

/** A chain's staged writes in transit: encoded, with what the tree took of them (see packStaged). */
export interface PackedStaged {
  /** Each write's bucket, key, value hash and encoding (deleted: no hash, no encoding). */
  readonly writes: Uint8Array;
  /** The state tree nodes the writes changed. */
  readonly nodes: Uint8Array;
  readonly root: Uint8Array;
}

/**
 * How a replica follows the committed chain (sent after each commit, before the next job). Either
 * way nothing is hashed again: the replica adopts the tree changes as the thread that executed made them.
 */
export type FollowMessage =
  /** The height it executed in job `id` was committed: adopt what it staged. `main`: main's change. */
  | { readonly type: 'commit'; readonly id: number; readonly main: PackedStaged }
  /** A height executed elsewhere was committed: its change to each of the partition's chains (in order) and to main. */
  | { readonly type: 'apply'; readonly chains: PackedStaged[]; readonly main: PackedStaged };

/**
 * Where a mempool's speculative execution of the next height starts on a replica: the committed tip
 * (as `followTip` takes it) and the speculative height's time (see `ChainPartition.specBegin`).
 */
export interface SpecTip {
  readonly height: number;
  readonly tipTime: number;
  readonly time: number;
  readonly prevHash: Uint8Array;
  readonly params: LedgerParams;
  /** The receipts in flight to the replica's chains, in emission order (encodeReceipts). */
  readonly receipts: Uint8Array;
}

/** Why a replica's speculative execution refused or dropped a transaction (a LedgerError, as data). */
export interface SpecRefusal {
  readonly code: LedgerErrorCode;
  readonly message: string;
}

/** Runs partitions of inner chains elsewhere (worker threads); the host implements it. */
export interface PartitionExecutor {
  /** The inner chains of each partition: disjoint, never main. */
  readonly partitions: readonly (readonly number[])[];
  execute(partition: number, job: PartitionJob): Promise<PartitionReply>;
}

// ---- packing -------------------------------------------------------------------------------

class Writer {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Length-prefixed bytes. */
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  str(s: string): void {
    const b = utf8(s);
    this.u16(b.length);
    this.raw(b);
  }

  /** The bytes written, in a buffer of their own (so that a transfer moves nothing else). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const text = new TextDecoder();

class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    return this.buf[this.pos++];
  }

  u16(): number {
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A view, not a copy: it lives as long as the buffer it came in. */
  raw(n: number): Uint8Array {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  bytes(): Uint8Array {
    return this.raw(this.u32());
  }

  str(): string {
    return text.decode(this.raw(this.u16()));
  }
}

/** Segments of transactions (one list per chain) in one buffer. */
export function packSegments(segments: readonly (readonly Uint8Array[])[]): Uint8Array {
  const w = new Writer();
  for (const txs of segments) {
    w.u32(txs.length);
    for (const t of txs) w.bytes(t);
  }
  return w.finish();
}

export function unpackSegments(buf: Uint8Array, count: number): Uint8Array[][] {
  const r = new Reader(buf);
  return Array.from({ length: count }, () => Array.from({ length: r.u32() }, () => r.bytes()));
}

/** State entries by key in their encodings (null: deleted). */
export function packEntries(entries: Iterable<readonly [string, Uint8Array | null]>): Uint8Array {
  const w = new Writer();
  for (const [key, bytes] of entries) {
    w.str(key);
    if (bytes === null) w.u8(0);
    else {
      w.u8(1);
      w.bytes(bytes);
    }
  }
  return w.finish();
}

export function* unpackEntries(buf: Uint8Array): Generator<[string, Uint8Array | null]> {
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.str();
    yield [key, r.u8() === 0 ? null : r.bytes()];
  }
}

/** A staged chain's writes with what the tree took of each: bucket and value hash. */
/** A staged chain for another thread: its writes with their buckets and value hashes, and the tree nodes they changed. */
export function packStaged(staged: StagedChain): PackedStaged {
  const w = new Writer();
  for (const [bucket, key, hash] of staged.patch.changes) {
    w.u16(bucket);
    w.str(key);
    if (hash === null) w.u8(0);
    else {
      w.u8(1);
      w.raw(hash);
      w.bytes(staged.encoded.get(key)!);
    }
  }
  const n = new Writer();
  staged.patch.levels.forEach((nodes, level) => {
    for (const [i, h] of nodes) {
      n.u8(level);
      n.u16(i);
      n.raw(h);
    }
  });
  // A copy: a hash may be a view into a larger buffer, which a message would copy whole.
  return { writes: w.finish(), nodes: n.finish(), root: staged.root.slice() };
}

/** A staged chain from another thread: entries decoded on first read, the tree change adopted as hashed there. */
export function unpackStaged(p: PackedStaged): StagedChain {
  const encoded = new Map<string, Uint8Array | null>();
  const changes: [number, string, Uint8Array | null][] = [];
  const r = new Reader(p.writes);
  while (!r.done) {
    const bucket = r.u16();
    const key = r.str();
    if (r.u8() === 0) {
      encoded.set(key, null);
      changes.push([bucket, key, null]);
    } else {
      const hash = r.raw(32);
      encoded.set(key, r.bytes());
      changes.push([bucket, key, hash]);
    }
  }
  const levels: Map<number, Uint8Array>[] = [];
  const n = new Reader(p.nodes);
  while (!n.done) {
    const level = n.u8();
    const i = n.u16();
    (levels[level] ??= new Map()).set(i, n.raw(32));
  }
  for (let l = 0; l < levels.length; l++) levels[l] ??= new Map();
  return { writes: new EncodedWrites(encoded), encoded, root: p.root, patch: { changes, levels, root: p.root } };
}

// ---- the replica -----------------------------------------------------------------------------

/**
 * Transactions a replica keeps decoded ahead of their blocks (under 1 KiB each). Those of a height
 * its host executed elsewhere (its own proposal, built on the calling thread) are not dropped at
 * commit, only as the oldest: the bound keeps them to tens of MiB, and ten full blocks ahead.
 */
export const MAX_KNOWN_TXS = 50_000;

/**
 * A replica of some inner chains, with main as committed: it executes their segments of a height
 * and keeps what it staged until told the height was committed. Pure: the host moves messages.
 */
export class ChainPartition {
  private readonly ledger: Ledger;
  readonly chains: readonly number[];
  private readonly only: ReadonlySet<number>;
  /** What each job staged, by chain, until one of them is committed. */
  private readonly pending = new Map<number, StagedChain[]>();
  /**
   * Transactions of its chains decoded ahead of their block, by the hash of their bytes: the host
   * hands over what its mempool admits (see `admit`), as the calling thread's mempool keeps its own
   * decoded copies, so a block's segment is decoded while the transactions wait, not while it runs.
   */
  private readonly known = new Map<string, Tx>();
  /** The hashes each pending job found in `known` (dropped when the job is committed). */
  private readonly used = new Map<number, string[]>();

  constructor(genesis: Genesis, chains: readonly number[]) {
    this.ledger = new Ledger(genesis);
    this.chains = chains;
    this.only = new Set(chains);
  }

  /** Loads committed state of `chain` (one of this partition's, or main). */
  load(chain: number, entries: Uint8Array): void {
    const state = this.ledger.chains[chain];
    for (const [key, bytes] of unpackEntries(entries)) state.put(key, bytes);
  }

  /**
   * Decodes transactions ahead of their block (packed with packSegments, one segment): those of other
   * chains or chain ids, and those that do not decode, are left to the block. At most
   * MAX_KNOWN_TXS are kept, the oldest dropped first.
   */
  admit(packed: Uint8Array): void {
    for (const bytes of unpackSegments(packed, 1)[0]) {
      let tx: Tx;
      try {
        tx = decodeTx(bytes.slice());
      } catch (e) {
        if (e instanceof LedgerError) continue;
        throw e;
      }
      if (!this.only.has(tx.chain) || tx.chainId !== this.ledger.chainId || this.known.has(tx.hashHex)) continue;
      this.known.set(tx.hashHex, tx);
      if (this.known.size > MAX_KNOWN_TXS) this.known.delete(this.known.keys().next().value!);
    }
  }

  execute(job: PartitionJob): PartitionReply {
    this.ledger.followTip({ height: job.height - 1, time: job.time - 1, hash: job.prevHash, inFlight: decodeReceipts(job.receipts), params: job.params });
    const exec = new HeightExecution(this.ledger, job.height, job.time, false, undefined, this.only);
    const segments = unpackSegments(job.txs, this.chains.length);
    const staged: StagedChain[] = [];
    const used: string[] = [];
    const chains = this.chains.map((chain, c): ChainReply => {
      let failure: SegmentFailure | undefined;
      const txs = segments[c];
      let decoded = 0;
      for (let i = 0; i < txs.length && !failure; i++) {
        let err: LedgerError | null;
        try {
          const hashHex = this.known.size > 0 ? sha256Hex(txs[i]) : '';
          const found = this.known.get(hashHex);
          if (found) used.push(hashHex);
          const tx = found ?? decodeTx(txs[i]);
          decoded++;
          // The calling thread refuses such a block with its own words; here it only must not execute.
          if (tx.chain !== chain || tx.chainId !== this.ledger.chainId)
            fail('INVALID_ARGUMENT', `transaction is not for chain ${chain} of ${this.ledger.chainId}`);
          err = exec.tryApply(tx);
        } catch (e) {
          if (!(e instanceof LedgerError)) throw e;
          err = e;
        }
        if (err) failure = { index: i, code: err.code, message: err.message };
      }
      const out = exec.finishChain(chain);
      staged.push(out.staged);
      return {
        // Copies, as in packStaged: a root may be a view into a larger buffer.
        segment: { ...out.segment, txRoot: out.segment.txRoot.slice(), stateRoot: out.segment.stateRoot.slice(), receiptRoot: out.segment.receiptRoot.slice() },
        receipts: encodeReceipts([...out.receipts]),
        events: [...out.events],
        staged: packStaged(out.staged),
        decoded,
        ...(failure ? { failure } : {}),
      };
    });
    this.pending.set(job.id, staged);
    this.used.set(job.id, used);
    return { id: job.id, chains, decodedAhead: used.length };
  }

  // ---- a mempool's speculative execution of its chains (see src/node/mempool.ts) --------------
  //
  // The mempool judges each transaction against a speculative next height: committed state plus
  // everything pending, in arrival order. A chain's judgement needs only its own state, main as
  // committed and the receipts sent to it, as a block's segment does; so the replica keeps that
  // height for its chains, with their pending transactions in the order it admitted them. The
  // calling thread keeps the policy (when to rebuild, what a commit removed): this is only the state.

  private spec: HeightExecution | undefined;
  /** Pending transactions of its chains, in the order they were admitted (a rebuild re-applies them so). */
  private readonly specPending = new Map<string, Tx>();

  /**
   * Starts the speculative height afresh on the committed state and re-applies the pending
   * transactions in order; those that no longer apply are dropped and returned with the reason.
   */
  specBegin(tip: SpecTip): [string, SpecRefusal][] {
    this.ledger.followTip({ height: tip.height - 1, time: tip.tipTime, hash: tip.prevHash, inFlight: decodeReceipts(tip.receipts), params: tip.params });
    this.spec = new HeightExecution(this.ledger, tip.height, tip.time, true, undefined, this.only);
    const dropped: [string, SpecRefusal][] = [];
    for (const [hash, tx] of this.specPending) {
      const err = this.spec.tryApply(tx);
      if (err) dropped.push([hash, { code: err.code, message: err.message }]);
    }
    for (const [hash] of dropped) this.specPending.delete(hash);
    return dropped;
  }

  /**
   * Judges transactions (packSegments, one segment) in order on the speculative height: each one
   * applied is pending from then on (and kept decoded for its block); one refused leaves no trace.
   */
  specApply(packed: Uint8Array): (SpecRefusal | null)[] {
    const spec = this.spec;
    if (!spec) throw new Error('specApply before specBegin: the replica has no speculative height');
    return unpackSegments(packed, 1)[0].map((bytes) => {
      let tx: Tx;
      try {
        tx = decodeTx(bytes.slice());
        if (!this.only.has(tx.chain) || tx.chainId !== this.ledger.chainId)
          fail('INVALID_ARGUMENT', `transaction is not for chains ${this.chains.join(',')} of ${this.ledger.chainId}`);
      } catch (e) {
        if (e instanceof LedgerError) return { code: e.code, message: e.message };
        throw e;
      }
      const err = spec.tryApply(tx);
      if (err) return { code: err.code, message: err.message };
      this.specPending.set(tx.hashHex, tx);
      if (!this.known.has(tx.hashHex)) {
        this.known.set(tx.hashHex, tx);
        if (this.known.size > MAX_KNOWN_TXS) this.known.delete(this.known.keys().next().value!);
      }
      return null;
    });
  }

  /** Pending transactions that are no longer pending (committed, refused by a build, or taken back): a later rebuild leaves them out. */
  specForget(hashes: readonly string[]): void {
    for (const h of hashes) this.specPending.delete(h);
  }

  /** Pending transactions of its chains, in order (tests compare them with the mempool's). */
  specPendingHashes(): string[] {
    return [...this.specPending.keys()];
  }

  follow(m: FollowMessage): void {
    if (m.type === 'commit') {
      const staged = this.pending.get(m.id);
      if (!staged) throw new Error(`job ${m.id} is not pending here: the replica lost track of the chain`);
      this.chains.forEach((chain, c) => this.ledger.chains[chain].commit(staged[c]));
      for (const h of this.used.get(m.id) ?? []) this.known.delete(h);
    } else this.chains.forEach((chain, c) => this.ledger.chains[chain].commit(unpackStaged(m.chains[c])));
    this.pending.clear();
    this.used.clear();
    this.ledger.chains[MAIN_CHAIN].commit(unpackStaged(m.main));
  }
}

/** Everything a replica of `chains` needs to start from `ledger`'s committed state (one load per chain, main last). */
export function partitionSnapshot(ledger: Ledger, chains: readonly number[]): { chain: number; entries: Uint8Array }[] {
  return [...chains, MAIN_CHAIN].map((chain) => ({
    chain,
    entries: packEntries(ledger.chains[chain].pairs().map(([key, value]) => [key, encodeEntry(key, value)] as const)),
  }));
}

/** What each partition must hear after `executed` was committed (in partition order). */
export function followMessages(executed: ExecutedHeight, partitions: readonly (readonly number[])[]): FollowMessage[] {
  const main = packStaged(executed.staged[MAIN_CHAIN]);
  return partitions.map((chains) =>
    executed.job !== undefined
      ? { type: 'commit', id: executed.job, main }
      : { type: 'apply', chains: chains.map((c) => packStaged(executed.staged[c])), main },
  );
}

// ---- the calling side --------------------------------------------------------------------------

// Job ids only tell a replica which of its staged heights was committed; no result depends on them.
let nextJob = 1;

/**
 * `Ledger.executeBlock` with the inner chains of `executor`'s partitions run there, in parallel
 * with main and the remaining chains here. Same checks, same result; a block that fails does so
 * with an InvalidBlockError as well (the first failing transaction in chain order names it).
 */
export async function executeBlockParallel(
  ledger: Ledger,
  block: Block,
  executor: PartitionExecutor,
  verifySignatures = true,
  known: KnownTxs = {},
): Promise<ExecutedHeight> {
  const h = block.header;
  ledger.checkBlockContext(block, verifySignatures);
  // The partitions start first: their transactions go as the block carries them (a replica decodes and
  // routes each itself, and refuses what does not decode), and the checks here run meanwhile.
  const job = nextJob++;
  const replies = executor.partitions.map((chains, p) =>
    executor.execute(p, {
      id: job,
      height: Number(h.height),
      time: Number(h.time),
      prevHash: ledger.lastBlockHash.slice(),
      params: ledger.params,
      receipts: encodeReceipts(ledger.inFlight.filter((r) => chains.includes(receiptTarget(r)))),
      txs: packSegments(chains.map((c) => block.segments[c].txs)),
    }),
  );
  // A check below may refuse the block before the replies are awaited: they are then dropped, not unhandled.
  for (const r of replies) r.catch(() => {});
  const remote = new Set(executor.partitions.flat());
  const local = new Set(Array.from({ length: CHAIN_COUNT }, (_, c) => c).filter((c) => !remote.has(c)));
  const exec = new HeightExecution(ledger, Number(h.height), Number(h.time), false, block.lastCommit, local);
  let bytes = 0;
  for (const seg of block.segments) {
    for (const b of seg.txs) {
      bytes += b.length;
      if (bytes > MAX_BLOCK_TX_BYTES)
        throw new InvalidBlockError(`tx ${sha256Hex(b)} failed: MEMPOOL_FULL: the block is over ${MAX_BLOCK_TX_BYTES} bytes of transactions`);
    }
  }
  // A transaction as this node knows it (a mempool's copy) or decoded now, with the checks that need no state.
  const admit = (b: Uint8Array, chain: number, hashHex?: string): Tx => {
    const tx = known.decoded?.(hashHex ?? sha256Hex(b)) || decodeTx(b);
    if (tx.chainId !== ledger.chainId) throw new InvalidBlockError(`tx ${tx.hashHex} is for chain ${tx.chainId}`);
    if (tx.chain !== chain) throw new InvalidBlockError(`tx ${tx.hashHex} routed to chain ${tx.chain}, found in ${chain}`);
    if (verifySignatures && !known.verified?.(tx.hashHex)) checkTxSignature(tx);
    return tx;
  };
  const txs: Tx[][] = block.segments.map(() => []);
  const outcomes: (ChainOutcome | undefined)[] = new Array(CHAIN_COUNT);
  const failures: (string | undefined)[] = new Array(CHAIN_COUNT);
  for (const chain of local) {
    for (const b of block.segments[chain].txs) {
      const tx = admit(b, chain);
      txs[chain].push(tx);
      const err = exec.tryApply(tx);
      if (err) {
        failures[chain] = `tx ${tx.hashHex} failed: ${err.code}: ${err.message}`;
        break;
      }
    }
    if (!failures[chain]) outcomes[chain] = exec.finishChain(chain);
  }
  // A replica's chains were decoded and executed there: here each of their transactions is found
  // (a mempool's copy) or decoded, and checked as above, while the replicas still run (this thread
  // has the smaller share). A check may still refuse the block (a signature this node had not
  // checked), after the replica ran it for nothing; as in sequential execution, only the
  // transactions up to the segment's first failure count, so a refusal is raised when reached.
  const found = new Map<number, (Tx | Error)[]>();
  for (const chain of remote)
    found.set(
      chain,
      block.segments[chain].txs.map((b) => {
        try {
          return admit(b, chain);
        } catch (e) {
          if (e instanceof Error) return e;
          throw e;
        }
      }),
    );
  for (const [p, reply] of (await Promise.all(replies)).entries()) {
    executor.partitions[p].forEach((chain, c) => {
      const r = reply.chains[c];
      const mine = found.get(chain)!;
      for (let i = 0; i < r.decoded; i++) {
        const tx = mine[i];
        if (tx instanceof Error) throw tx;
        txs[chain].push(tx);
      }
      if (r.failure) {
        const tx = txs[chain][r.failure.index];
        const err = new LedgerError(r.failure.code, r.failure.message);
        if (tx && err.code === 'INTERNAL_ERROR') ledger.onInternalError?.(tx, err);
        failures[chain] = `tx ${tx ? tx.hashHex : `#${r.failure.index} of chain ${chain}`} failed: ${err.code}: ${err.message}`;
        return;
      }
      outcomes[chain] = {
        staged: unpackStaged(r.staged),
        segment: r.segment,
        receipts: decodeReceipts(r.receipts),
        events: r.events,
      };
    });
  }
  const failed = failures.find((f) => f !== undefined);
  if (failed) throw new InvalidBlockError(failed);
  const done = outcomes as ChainOutcome[];
  const executed: ExecutedHeight = {
    height: exec.height,
    time: exec.time,
    txs,
    segments: done.map((o) => o.segment),
    staged: done.map((o) => o.staged),
    receipts: done.flatMap((o) => o.receipts as Receipt[]),
    lastCommit: block.lastCommit,
    events: done.flatMap((o) => o.events),
    job,
  };
  checkClaimedSegments(h, executed);
  return executed;
}

import { mkdirSync } from 'node:fs';
import { encodeAddress, Keystore, sha256Hex, toHex, WrongPassphraseError, type KeyPair } from '../crypto/index.ts';
import {
  blockHash,
  certify,
  decodeTx,
  formatUnits,
  InvalidBlockError,
  TX_KIND_NAMES,
  txSigningBytes,
  Ledger,
  LedgerError,
  ledgerReader,
  type Block,
  type Certificate,
  type ExecutedHeight,
  type Genesis,
  type KnownTxs,
  type LedgerReader,
  type Tx,
  type UpgradeHandlers,
  UpgradeNeededError,
  ZNC_DECIMALS,
} from '../ledger/index.ts';
import { ChainStore, checkLevelTables, FileRecordStore, LevelKvStore, NEW_STORE, StoreCorruptError, type KvStore } from '../store/index.ts';
import { AckedTxJournal } from './ackedTxs.ts';
import { BftProducer, type BftOptions, type ConsensusStatus } from './bftProducer.ts';
import type { HaltAnswer, HealthAnswer, ReadyAnswer, SignerGroupAnswer, StateSyncAnswer, TxEvent } from '../sdk/index.ts';
import { NodeEvents } from './events.ts';
import { homePaths, keyPassphrases, loadKeyWithAny, loadOrCreateNodeKey, readConfig, readGenesis, type NodeConfig } from './home.ts';
import { nodeLogger, type NodeLogger } from './log.ts';
import { GovWatch } from './govEvents.ts';
import { Mempool } from './mempool.ts';
import { ParallelExecutor, type ParallelStats } from './parallelExec.ts';
import { SoloProducer, type BlockProducer } from './producer.ts';
import { SignatureVerifier } from './verifier.ts';

/**
 * The home's bookkeeper key, opened with the passphrases its home allows (see keyPassphrases); a
 * wrong one names the key and says where the passphrase comes from, so that a service that
 * fails to start says why in its log.
 */
function openBookkeeperKey(home: string, name: string, config: NodeConfig, given: string | undefined): KeyPair {
  const passphrases = keyPassphrases(config, given ?? process.env.ZEUS_PASSPHRASE);
  if (passphrases.length === 0) throw new Error(`no passphrase for the bookkeeper key "${name}" of ${home}: set ZEUS_PASSPHRASE`);
  try {
    return loadKeyWithAny(new Keystore(homePaths(home).keys), name, passphrases);
  } catch (e) {
    if (!(e instanceof WrongPassphraseError)) throw e;
    throw new WrongPassphraseError(
      name,
      ` (the bookkeeper key of ${home}): ZEUS_PASSPHRASE (or the passphrase typed) is not the one the key was made with; nothing was started`,
    );
  }
}

export interface SubmitResult {
  hash: string;
  chain: number;
}

const REJECTED_KEPT = 50_000;
/** Hashes of transactions whose signatures this node has checked (bounded, oldest forgotten first). */
const VERIFIED_KEPT = 500_000;
/**
 * Hashes of transactions whose signature failed, so that the same bytes sent again (by a client
 * or by gossip) are refused without checking again: resending them costs the sender nothing, and
 * each check costs the node ~80 µs.
 */
const BAD_SIGNATURES_KEPT = 100_000;

const badSignature = (): LedgerError => new LedgerError('BAD_SIGNATURE', 'signature does not match the sender key and transaction');

/** Adds to a set that forgets its oldest entry beyond `max`. */
function remember(set: Set<string>, hashHex: string, max: number): void {
  if (set.size >= max) set.delete(set.values().next().value!);
  set.add(hashHex);
}

/** Transactions of senders without priority a block built here takes at most (config `blockMaxFreeTxs`). */
export const BLOCK_MAX_FREE_TXS = 2_000;
/** No signed transaction is smaller (header fields, a 32-byte key and a 64-byte signature). */
const MIN_TX_BYTES = 100;

export interface NodeOptions {
  /** Where the node logs (JSON lines); silent when absent. */
  logger?: NodeLogger;
  /**
   * Where the double-sign guard keeps its record, apart from the chain's store (HOME/signer for a
   * node started from its home); the chain's store when absent.
   */
  signerStore?: KvStore;
  /**
   * TEST ONLY: building the block of this height (or a later one) throws, so that tests can show
   * what a node whose consensus stopped tells its operator. No other way exists to stop a node's
   * consensus on purpose once the bugs that did are fixed. Never set on a real node.
   */
  testHaltAt?: number;
  /**
   * Fills an empty chain store some other way than from genesis (state sync, see stateSync.ts);
   * returns false to let the node start from genesis as usual.
   */
  join?: (store: ChainStore, genesis: Genesis) => Promise<boolean>;
  /** The key is a node key, not a bookkeeper key: the node follows and never signs. */
  fullNode?: boolean;
  /**
   * The node's own identity (libp2p peer id, the registry's audience) when it is not `key`: a seat
   * group's member signs with the seat's bookkeeper key, which its other members hold too, and
   * goes by its own node key (node_key.json) everywhere else.
   */
  identity?: KeyPair;
  /** Where the chain store is on disk (named in the "store damaged" message). */
  dataDir?: string;
  /**
   * Told, once, when the node stopped because its chain store failed a read (the error says where
   * it is and what to do). Without it the node only halts in place, as for any other failure.
   * `zeus node start` logs it and exits (code 4), so that whoever supervises the process sees it.
   */
  onStoreDamaged?: (e: StoreCorruptError) => void;
  /**
   * Upgrades this node's software knows (`zeus node start --upgrade-module`): at a planned
   * upgrade's height it runs the handler and goes on; without one it stops there.
   */
  upgrades?: UpgradeHandlers;
  /**
   * Threads that execute a received block (`zeus node start --execution-threads`): above 1, the inner
   * chains are split across worker threads (src/node/parallelExec.ts), which gives the same result as
   * executing them one after another (1, the default).
   */
  executionThreads?: number;
}

/** A block this node built from its mempool, not yet committed. */
export interface BuiltBlock {
  block: Block;
  executed: ExecutedHeight;
  /** Pending transactions the build refused, with why. */
  rejected: Map<string, [Tx, LedgerError]>;
}

/**
 * A store that cannot be opened or read back as written, as the error an operator sees: where it
 * is, that the node will not run on it, and what to do. Undefined for any other error (a store
 * locked by another process is not damaged).
 */
function damaged(dir: string, e: unknown): StoreCorruptError | undefined {
  const err = e as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const level = [err.code, err.cause?.code].some((c) => c === 'LEVEL_CORRUPTION' || c === 'LEVEL_IO_ERROR');
  if (!(e instanceof StoreCorruptError) && !level) return undefined;
  const what = (err.cause?.code?.startsWith('LEVEL_') ? err.cause.message : err.message) ?? String(e);
  return new StoreCorruptError(
    `the chain store in ${dir} is damaged (${what}): this node will not run on it. Move ${dir} away and start the node again: ` +
      'it replays the chain from its peers, or restores a snapshot with --trust-height/--trust-hash (docs/STATE_SYNC.md).',
    { cause: e },
  );
}

/**
 * Whether `e` (or an error it was caused by) is a read of the store that failed: damage, not a
 * failed write (a full disk is no reason to throw the store away).
 */
function readFailure(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    if (x instanceof StoreCorruptError || (x as { code?: string }).code === 'LEVEL_CORRUPTION') return true;
  }
  return false;
}

/**
 * A ZeusNet node: the committed ledger, its store, a mempool and a block producer. All state
 * changes go through `produceBlock`, which persists a height before the ledger adopts it.
 */
export class ZeusNode {
  readonly ledger: Ledger;
  /** What the API and tools read of the committed ledger (never its state keys). */
  readonly reader: LedgerReader;
  readonly store: ChainStore;
  /** Where the double-sign guard keeps its record (see NodeOptions.signerStore). */
  readonly signerStore: KvStore | undefined;
  readonly mempool: Mempool;
  readonly events = new NodeEvents();
  readonly config: NodeConfig;
  /** The key this node signs blocks and votes with: its bookkeeper key (a full node: its node key, never used to sign). */
  private readonly key: KeyPair;
  /** The node's identity (libp2p, registry tokens): `key`, except on a seat group's member (its node key). */
  private readonly identity: KeyPair;
  /** Whether `key` is a bookkeeper key this node signs blocks and votes with (false: a full node). */
  readonly signs: boolean;
  private producer: BlockProducer | undefined;
  private bft: BftProducer | undefined;
  private producing = false;
  private readonly verifier = new SignatureVerifier();
  private readonly rejected = new Map<string, { chain: number; code: string; message: string }>();
  /** Acknowledged to clients, not yet committed or refused: on disk, sent again after a crash. */
  private readonly acked: AckedTxJournal;
  private readonly verified = new Set<string>();
  private readonly badSignatures = new Set<string>();
  /** Told of every transaction a client submitted here and the mempool accepted (for gossip). */
  onLocalTx: ((bytes: Uint8Array) => void) | undefined;
  readonly logger: NodeLogger;
  /** Set once this node's block production has stopped for good (the liveness alarm). */
  halted: HaltAnswer | undefined;
  /**
   * The planned upgrade this node's software lacks, once the next height is its: the node commits
   * nothing more, takes no transactions and keeps serving its API (see checkUpgrade).
   */
  upgradeHalt: UpgradeNeededError | undefined;
  /** Transactions the ledger failed on (INTERNAL_ERROR) since the node started. */
  internalErrors = 0;
  private readonly testHaltAt: number | undefined;
  private readonly dataDir: string | undefined;
  private readonly onStoreDamaged: ((e: StoreCorruptError) => void) | undefined;
  /** Snapshots and how the chain began, for /status and the metrics (set by whoever runs state sync). */
  stateSync: { status(): Promise<StateSyncAnswer> } | undefined;
  /** Turns proposals' changes of status into `gov` events after each commit. */
  private readonly govWatch: GovWatch;

  private constructor(ledger: Ledger, store: ChainStore, config: NodeConfig, key: KeyPair, opts: NodeOptions) {
    this.ledger = ledger;
    this.reader = ledgerReader(ledger);
    this.govWatch = new GovWatch(this.reader);
    this.store = store;
    this.config = config;
    this.key = key;
    this.identity = opts.identity ?? key;
    this.signs = opts.fullNode !== true;
    this.signerStore = opts.signerStore;
    this.logger = opts.logger ?? nodeLogger('silent');
    this.testHaltAt = opts.testHaltAt;
    this.dataDir = opts.dataDir;
    this.onStoreDamaged = opts.onStoreDamaged;
    this.acked = new AckedTxJournal(store.kv, Date.now());
    this.mempool = new Mempool(ledger, {
      maxSize: config.mempoolMax,
      // A staked sender has priority: a stake is locked, while fresh accounts cost nothing to make.
      isPriority: (tx) => this.reader.staked(tx.fromHex) >= this.ledger.params.quotaStakeUnit,
      maxFree: config.mempoolFreeMax ?? Math.floor(config.mempoolMax / 2),
      priorityHint: () => `stake at least ${formatUnits(this.ledger.params.quotaStakeUnit, ZNC_DECIMALS)} ZNC (zeus stake) for priority`,
      now: Date.now,
      onDrop: (tx, err) => this.reject(tx.hashHex, tx.chain, err),
      onHostFailure: (e) =>
        this.logger.error({ err: e.message }, "the execution threads failed; the mempool judges every chain on the node's main thread from now on"),
    });
    // Loudly, with the hash: a bug met by a transaction (it is refused on every node, the chain goes
    // on). Once per transaction: the mempool may judge one twice (kept state, then fresh).
    const reported = new Set<string>();
    ledger.onInternalError = (tx, err) => {
      if (reported.has(tx.hashHex)) return;
      if (reported.size >= 10_000) reported.clear();
      reported.add(tx.hashHex);
      this.internalErrors++;
      this.logger.error(
        { tx: tx.hashHex, chain: tx.chain, kind: TX_KIND_NAMES[tx.kind], from: encodeAddress(tx.from), err: err.cause },
        `the ledger failed on transaction ${tx.hashHex}; it is refused (INTERNAL_ERROR) — a bug in ZeusNet: please report this line`,
      );
    };
    // Started (again) at an upgrade's height without its handler: halted from the start, not in a loop.
    this.checkUpgrade();
  }

  /** Opens (and on first start initializes) the chain store of a node home. */
  static async open(home: string, opts: { passphrase?: string } & NodeOptions = {}): Promise<ZeusNode> {
    const config = readConfig(home);
    const genesis = readGenesis(home);
    let key: KeyPair;
    let identity: KeyPair | undefined;
    if (config.signerGroup) {
      if (config.bookkeeperKey === undefined) throw new Error(`${home} has no bookkeeper key: only a bookkeeper's node can be a member of a signer group`);
      if (!config.p2p) throw new Error(`${home} has no p2p network: a signer group keeps a seat of a bookkeeper network (a solo dev chain has none)`);
      // Each member its own peer id: three processes must not claim one.
      identity = loadOrCreateNodeKey(home);
    }
    if (config.bookkeeperKey === undefined) {
      // A full node follows a network: alone it could never commit a block.
      if (!config.p2p) throw new Error(`${home} has no bookkeeper key and no p2p network: a full node needs p2p.listen and bootstrap peers to follow`);
      key = loadOrCreateNodeKey(home);
    } else {
      key = openBookkeeperKey(home, config.bookkeeperKey, config, opts.passphrase);
    }
    const data = homePaths(home).data;
    mkdirSync(data, { recursive: true });
    const log = opts.logger ?? nodeLogger('silent');
    let kv: LevelKvStore;
    try {
      // Before LevelDB opens it: its compaction of a damaged table can abort the process (levelTables.ts).
      const tables = checkLevelTables(data);
      if (tables.skipped === NEW_STORE) log.debug({ data }, 'a new chain store');
      else if (tables.skipped) log.warn({ data }, `chain store tables not checked: ${tables.skipped} (LevelDB's own open judges the store)`);
      else log.info(tables, `chain store tables checked: ${tables.tables} tables, ${(tables.bytes / 2 ** 20).toFixed(1)} MiB in ${tables.ms} ms`);
      kv = await LevelKvStore.open(data);
    } catch (e) {
      throw damaged(data, e) ?? e;
    }
    try {
      const checked = await kv.check((p) => log.info(p, `checking the chain store: ${p.entries} entries (${(p.bytes / 2 ** 20).toFixed(0)} MiB) read so far`));
      log.info(checked, `chain store checked: ${checked.entries} entries, ${(checked.bytes / 2 ** 20).toFixed(1)} MiB read in ${checked.ms} ms`);
      const signerStore = opts.signerStore ?? new FileRecordStore(homePaths(home).signer);
      const node = await ZeusNode.withStore(kv, genesis, config, key, {
        ...opts,
        signerStore,
        dataDir: data,
        fullNode: config.bookkeeperKey === undefined,
        ...(identity ? { identity } : {}),
      });
      // Any later read the store fails (a client's query as much as a commit) stops the node the same way.
      kv.onReadFailure = (e) => node.halt('the node', e);
      return node;
    } catch (e) {
      const d = damaged(data, e);
      if (!d) throw e;
      await kv.close().catch(() => {});
      throw d;
    }
  }

  static async withStore(kv: KvStore, genesis: Genesis, config: NodeConfig, key: KeyPair, opts: NodeOptions = {}): Promise<ZeusNode> {
    const store = new ChainStore(kv);
    const stored = await store.genesis();
    if (!stored) {
      try {
        if (!(await opts.join?.(store, genesis))) await store.initialize(Ledger.fromGenesis(genesis));
      } catch (e) {
        await kv.close();
        throw e;
      }
    } else if (JSON.stringify(stored) !== JSON.stringify(genesis)) {
      await kv.close();
      throw new Error('the chain store was created from a different genesis');
    }
    const ledger = await store.loadLedger();
    // Before the node (its mempool) executes anything: the upgrades its software knows.
    if (opts.upgrades) ledger.upgrades = opts.upgrades;
    const node = new ZeusNode(ledger, store, config, key, opts);
    if ((opts.executionThreads ?? 1) > 1) {
      node.executor = await ParallelExecutor.start(ledger, opts.executionThreads!);
      node.logger.info(
        { executionThreads: opts.executionThreads, workerChains: node.executor.partitions },
        `received blocks execute on ${opts.executionThreads} threads (inner chains ${node.executor.partitions.map((p) => p.join(',')).join(' | ')} on workers, where the mempool judges their transactions too)`,
      );
      await node.mempool.attach(node.executor);
    }
    return node;
  }

  get chainId(): string {
    return this.ledger.chainId;
  }

  /** The node's identity key (libp2p, the registry): its bookkeeper key, or the node key of a full node or a seat group's member. */
  get publicKey(): Uint8Array {
    return this.identity.publicKey;
  }

  /** The bookkeeper key this node signs with; undefined on a full node. */
  get bookkeeperPublicKey(): Uint8Array | undefined {
    return this.signs ? this.key.publicKey : undefined;
  }

  /** Checks a transaction completely (encoding, chain id, signature, state) and queues it. */
  async submit(bytes: Uint8Array): Promise<SubmitResult> {
    const [r] = await this.submitMany([bytes]);
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * Checks and queues transactions in order; each gets its result or the error that refused it.
   * Signatures are checked together on the verifier threads.
   */
  async submitMany(list: Uint8Array[], opts: { fromPeer?: boolean } = {}): Promise<(SubmitResult | LedgerError)[]> {
    const halt = this.upgradeHalt;
    if (halt) return list.map(() => new LedgerError('UPGRADE_NEEDED', `${halt.message}; this node takes no transactions until then`));
    const out: (SubmitResult | LedgerError)[] = [];
    const admitted: Tx[] = [];
    const decoded: (Tx | undefined)[] = list.map((bytes, i) => {
      try {
        const tx = decodeTx(bytes);
        if (tx.chainId !== this.chainId) {
          throw new LedgerError('WRONG_CHAIN_ID', `transaction is for chain "${tx.chainId}"; this node runs "${this.chainId}"`);
        }
        // Gossip brings a transaction from several peers: refuse a known one before any work.
        if (this.mempool.has(tx.hashHex)) throw new LedgerError('DUPLICATE_TX', `transaction ${tx.hashHex} is already pending`);
        if (this.badSignatures.has(tx.hashHex)) throw badSignature();
        // A used nonce never becomes valid again: refused before the signature check, which
        // replaying old transactions (or making up ones with a used nonce) would cost for free.
        const next = this.reader.nextNonce(tx.chain, tx.fromHex);
        if (tx.nonce < next) throw new LedgerError('NONCE_REPLAYED', `nonce ${tx.nonce} was already used on chain ${tx.chain}; next is ${next}`);
        // A full pool (or its share for senders without priority) would refuse it after the check.
        const noRoom = this.mempool.roomFor(tx);
        if (noRoom) throw noRoom;
        return tx;
      } catch (e) {
        if (!(e instanceof LedgerError)) throw e;
        out[i] = e;
        return undefined;
      }
    });
    const toCheck = decoded.filter((t): t is Tx => t !== undefined && !this.verified.has(t.hashHex));
    const valid = await this.verifier.verify(toCheck.map((t) => ({ pk: t.sender, msg: txSigningBytes(t), sig: t.signature })));
    const ok = new Map(toCheck.map((t, i) => [t, valid[i]]));
    const signed: [Tx, number][] = [];
    decoded.forEach((tx, i) => {
      if (!tx) return;
      if (ok.get(tx) === false) {
        remember(this.badSignatures, tx.hashHex, BAD_SIGNATURES_KEPT);
        out[i] = badSignature();
        return;
      }
      this.rememberVerified(tx.hashHex);
      signed.push([tx, i]);
    });
    const judged = await this.mempool.addMany(signed.map(([tx]) => tx));
    signed.forEach(([tx, i], k) => {
      const err = judged[k];
      if (err) {
        out[i] = err;
        return;
      }
      this.rejected.delete(tx.hashHex);
      this.emitTx({ type: 'tx', hash: tx.hashHex, status: 'pending', chain: tx.chain });
      out[i] = { hash: tx.hashHex, chain: tx.chain };
      admitted.push(tx);
      if (!opts.fromPeer) this.onLocalTx?.(tx.bytes);
    });
    // The client is told "accepted" only once they are on disk: a crash before they reach a peer
    // no longer loses them (see ackedTxs.ts). From peers: their own node answered for them.
    if (!opts.fromPeer) await this.acked.record(admitted);
    return out;
  }

  /**
   * Admits and passes on again what this node acknowledged before it last stopped and did not see
   * committed or refused; returns how many it took back and how many are gone (committed since,
   * or no longer valid). Call once consensus (or solo production) runs, so they are gossiped.
   */
  async resubmitAcked(o: { peerWaitMs?: number } = {}): Promise<{ resubmitted: number; gone: number }> {
    // Halted for an upgrade, they would all be refused and forgotten: kept on disk for the restart that has the handler.
    if (this.upgradeHalt) return { resubmitted: 0, gone: 0 };
    const earlier = await this.acked.load();
    if (earlier.length === 0) return { resubmitted: 0, gone: 0 };
    // They travel by gossip: give the network a moment to connect a peer to pass them to.
    const deadline = Date.now() + (o.peerWaitMs ?? 10_000);
    while (this.bft && !this.bft.status().peers.some((p) => p.connected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const results = await this.submitMany(earlier.map((e) => e.bytes));
    // Those taken back are recorded anew by submitMany; the earlier entries all go.
    this.acked.drop(earlier.map((e) => e.key));
    const resubmitted = results.filter((r) => !(r instanceof LedgerError)).length;
    return { resubmitted, gone: earlier.length - resubmitted };
  }

  private rememberVerified(hashHex: string): void {
    remember(this.verified, hashHex, VERIFIED_KEPT);
  }

  /** Runs received blocks' inner chains on worker threads (`executionThreads` > 1). */
  private executor: ParallelExecutor | undefined;

  /** The execution threads' figures since the node started; none when blocks execute on one thread. */
  get executionStats(): Readonly<ParallelStats> | undefined {
    return this.executor && { ...this.executor.stats };
  }

  /**
   * Executes a received block on the committed ledger, its inner chains on the worker threads when
   * there are some. Should the threads fail (a bug), the node says so and goes on executing
   * sequentially: the committed ledger is untouched by a failed attempt, and the result is the same.
   */
  async executeBlock(block: Block): Promise<ExecutedHeight> {
    const executor = this.executor;
    if (!executor) return this.ledger.executeBlock(block, true, this.knownTxs);
    try {
      return await executor.executeBlock(block, true, this.knownTxs);
    } catch (e) {
      if (e instanceof InvalidBlockError || e instanceof LedgerError) throw e;
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'parallel execution failed; executing blocks sequentially from now on');
      this.executor = undefined;
      await executor.close().catch(() => {});
      return this.ledger.executeBlock(block, true, this.knownTxs);
    }
  }

  /** What this node already did for transactions: pending ones are decoded, checked ones verified. */
  readonly knownTxs: KnownTxs = {
    decoded: (hashHex) => this.mempool.get(hashHex),
    verified: (hashHex) => this.verified.has(hashHex),
  };

  /**
   * Checks, on the verifier threads, the signatures of a block's transactions this node has not
   * seen yet, so that executing the block re-checks none. Invalid ones are simply not
   * remembered: execution then finds them and refuses the block.
   */
  async preverifyBlock(block: Block): Promise<void> {
    const unseen: Tx[] = [];
    for (const seg of block.segments) {
      for (const bytes of seg.txs) {
        // Most transactions of a proposal came by gossip first: look them up before decoding.
        if (this.verified.has(sha256Hex(bytes))) continue;
        try {
          unseen.push(decodeTx(bytes));
        } catch {
          // an undecodable transaction fails the block when it is executed
        }
      }
    }
    if (unseen.length === 0) return;
    const valid = await this.verifier.verify(unseen.map((t) => ({ pk: t.sender, msg: txSigningBytes(t), sig: t.signature })));
    unseen.forEach((t, i) => valid[i] && this.rememberVerified(t.hashHex));
  }

  rejection(hashHex: string): { chain: number; code: string; message: string } | undefined {
    return this.rejected.get(hashHex);
  }

  hasWork(): boolean {
    return this.mempool.size > 0 || this.ledger.hasDueWork(Date.now());
  }

  async produceBlock(): Promise<Block | undefined> {
    if (!this.signs) throw new Error('a full node does not produce blocks');
    if (this.producing) return undefined;
    this.producing = true;
    try {
      const built = this.buildBlock(Date.now());
      // The solo bookkeeper is the whole set: its own precommit is the certificate.
      const certificate = certify(this.chainId, built.block.header.height, 0, blockHash(built.block.header), this.ledger.bookkeepersAt(built.executed.height), [
        this.key,
      ]);
      await this.commitBlock(built.block, certificate, built.executed, built.rejected);
      return built.block;
    } finally {
      this.producing = false;
    }
  }

  /**
   * Executes the mempool on top of the committed ledger as the next height at block time
   * `time` and returns the block this node would propose; nothing is committed.
   */
  buildBlock(time: number): BuiltBlock {
    if (this.testHaltAt !== undefined && this.ledger.height + 1 >= this.testHaltAt) {
      throw new Error(`test fault (--test-halt-at ${this.testHaltAt}): refusing to build height ${this.ledger.height + 1}`);
    }
    if (!this.signs) throw new Error('a full node does not build blocks');
    if (this.upgradeHalt) throw this.upgradeHalt;
    const exec = this.ledger.begin(time);
    const rejected = new Map<string, [Tx, LedgerError]>();
    const { priority, free } = this.mempool.inBlockOrder();
    // Senders with priority go first (see Mempool). One of theirs may depend on a transaction of
    // a sender without (a payment it spends): it fails now, and is tried again after the others.
    const again: Tx[] = [];
    const walk = (txs: readonly Tx[], onError: (tx: Tx, err: LedgerError) => void, most = Number.POSITIVE_INFINITY): void => {
      let taken = 0;
      for (const tx of txs) {
        // A full block ends the walk: under a backlog the mempool holds far more than one block.
        if (exec.blockBytesLeft < MIN_TX_BYTES || taken >= most) return;
        const err = exec.tryApply(tx);
        if (!err) taken++;
        // A full segment leaves the transaction for the next height.
        else if (err.code !== 'MEMPOOL_FULL') onError(tx, err);
      }
    };
    const reject = (tx: Tx, err: LedgerError): void => void rejected.set(tx.hashHex, [tx, err]);
    walk(priority, (tx) => again.push(tx));
    // A flood from fresh accounts would otherwise make every height as long as the pool is deep,
    // for the senders with priority in it too.
    walk(free, reject, this.config.blockMaxFreeTxs ?? BLOCK_MAX_FREE_TXS);
    walk(again, reject);
    const executed = exec.finish();
    return { block: this.ledger.blockFor(executed, this.key.publicKey), executed, rejected };
  }

  /**
   * Persists an executed height with the certificate that committed it, then adopts it:
   * the ledger moves on, the mempool drops what it included, and subscribers hear of it.
   * `rejected` are transactions this node's own build refused (told to their senders).
   */
  async commitBlock(block: Block, certificate: Certificate, executed: ExecutedHeight, rejected = new Map<string, [Tx, LedgerError]>()): Promise<void> {
    const hash = blockHash(block.header);
    await this.store.commit(block, certificate, executed);
    const included = executed.txs.flat().map((t) => t.hashHex);
    // The ledger moves on in the mempool's turn: a judgement still under way on the execution
    // threads ends first, and none sees the new state while the height's transactions still count as pending.
    const dropped = await this.mempool.onCommit(included, rejected.keys(), () => {
      this.ledger.commit(executed, block.header, certificate);
      this.checkUpgrade();
    });
    this.acked.forget(included);
    for (const [h, [tx, err]] of [...rejected, ...dropped]) this.reject(h, tx.chain, err);
    executed.txs.forEach((txs, chain) =>
      txs.forEach((tx, index) => this.emitTx({ type: 'tx', hash: tx.hashHex, status: 'committed', chain, height: executed.height, index })),
    );
    for (const e of executed.events) this.events.emit('event', { type: 'market', height: executed.height, ...e });
    for (const e of this.govWatch.changes(this.reader)) this.events.emit('event', e);
    this.events.emit('event', {
      type: 'block',
      height: executed.height,
      hash: toHex(hash),
      time: executed.time,
      round: certificate.round,
      txCounts: executed.segments.map((s) => s.txCount),
      stateRoots: executed.segments.map((s) => toHex(s.stateRoot)),
    });
  }

  /**
   * Whether the next height is a planned upgrade this node's software lacks (checked at start and
   * after every commit). The first time: the node halts there, as every node does at the same
   * height — one error line in the log, the halt in /status and /health, no more transactions.
   * The process keeps running and serving its API (the state before the upgrade stays readable,
   * and a supervisor that restarts exited processes is not sent into a loop); the operator
   * restarts it with the upgrade's handler (`zeus node start --upgrade-module FILE`).
   */
  checkUpgrade(): UpgradeNeededError | undefined {
    if (this.upgradeHalt) return this.upgradeHalt;
    const needed = this.ledger.upgradeNeeded();
    if (!needed) return undefined;
    this.upgradeHalt = needed;
    this.halted = {
      reason: needed.message,
      height: this.ledger.height,
      since: new Date().toISOString(),
      upgrade: { name: needed.upgrade, height: needed.height, info: needed.info },
    };
    this.logger.error(
      { upgrade: needed.upgrade, height: needed.height, info: needed.info, committed: this.ledger.height },
      `${needed.message}. This node stops committing (consensus, transactions) and keeps serving its API; restart it with --upgrade-module FILE exporting the upgrade's handler`,
    );
    return needed;
  }

  private reject(hash: string, chain: number, err: LedgerError): void {
    if (this.rejected.size >= REJECTED_KEPT) this.rejected.delete(this.rejected.keys().next().value!);
    this.rejected.set(hash, { chain, code: err.code, message: err.message });
    this.acked.forget([hash]);
    this.emitTx({ type: 'tx', hash, status: 'rejected', chain, error: { code: err.code, message: err.message } });
  }

  private emitTx(e: TxEvent): void {
    if (this.events.listenerCount('event') > 0) this.events.emit('event', e);
  }

  /**
   * Block production stopped for good (an error persisting or building a height): the node keeps
   * answering, so it says so everywhere an operator looks — /status, /health, the metrics and an
   * error line in its log — instead of quietly no longer committing.
   */
  halt(what: string, e: unknown): void {
    // A planned upgrade this software lacks is not a failure: it has its own message (checkUpgrade).
    if (e instanceof UpgradeNeededError && this.checkUpgrade()) return;
    if (this.halted) return;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.halted = { reason: `${what} stopped: ${message}`, height: this.ledger.height, since: new Date().toISOString() };
    // A store that fails a read will fail again after a restart in place: the remedy is the
    // operator's (move it away, resync), so the node says so and lets its supervisor act.
    const storeDamage = this.onStoreDamaged && readFailure(e) ? damaged(this.dataDir ?? 'HOME/data', e) : undefined;
    if (storeDamage) {
      this.logger.error({ height: this.ledger.height, err: e }, `${what} stopped after height ${this.ledger.height}: ${storeDamage.message}`);
      this.onStoreDamaged?.(storeDamage);
      return;
    }
    this.logger.error(
      { height: this.ledger.height, err: e },
      `${what} stopped after height ${this.ledger.height}: ${message}; this node no longer commits blocks — restart it, and report this line if it comes back`,
    );
  }

  health(): HealthAnswer {
    return this.halted ? { ok: false, height: this.ledger.height, halted: this.halted } : { ok: true, height: this.ledger.height };
  }

  /**
   * Whether this node is in sync and serves current state (GET /health/ready). A networked node:
   * its height within `maxBehind` of the height its peers show, and at least one peer — unless it
   * is alone in the bookkeeper set, which commits without anyone. A solo dev node: while it
   * produces. Never once block production has halted.
   */
  readiness(maxBehind: number): ReadyAnswer {
    const height = this.ledger.height;
    const answer = (peersHeight: number | null, peers: number, reason?: string): ReadyAnswer => ({
      ready: reason === undefined,
      height,
      peersHeight,
      peers,
      maxBehind,
      ...(reason === undefined ? {} : { reason }),
    });
    if (this.halted) return answer(null, 0, `block production stopped: ${this.halted.reason}`);
    if (!this.producer) return answer(null, 0, 'block production has not started yet');
    const bft = this.bft;
    if (!bft) return answer(null, 0);
    const st = bft.status();
    const peers = st.peers.filter((p) => p.connected && !p.banned).length;
    const peersHeight = bft.peersCommittedHeight();
    const alone = st.validators === 1 && st.self === 0;
    if (peers === 0 && !alone) return answer(peersHeight, peers, 'no connected peer: the node cannot know whether it is in sync');
    if (peersHeight - height > maxBehind) {
      return answer(peersHeight, peers, `syncing: at height ${height}, ${peersHeight - height} blocks behind its peers (ready within ${maxBehind})`);
    }
    return answer(peersHeight, peers);
  }

  startProducing(producer?: BlockProducer): void {
    this.producer = producer ?? new SoloProducer(this, this.config.blockIntervalMs);
    this.producer.start();
  }

  /** Joins the bookkeepers' network and decides blocks with them (or follows, if not elected). */
  async startConsensus(opts: BftOptions): Promise<BftProducer> {
    const bft = new BftProducer(this, { key: this.key, identity: this.identity, signs: this.signs }, opts);
    await bft.open();
    this.bft = bft;
    this.startProducing(bft);
    return bft;
  }

  /**
   * API URLs of the connected p2p peers that announced one (peer exchange): where the DDN fetches
   * images from besides its configured peers.
   */
  networkApiUrls(): string[] {
    return this.bft?.apiUrls() ?? [];
  }

  /** The seat group this node is a member of (its active member signs): undefined when it signs alone or follows. */
  /** Transaction signatures this node has checked since it started (admission, gossip, blocks). */
  get signatureChecks(): number {
    return this.verifier.checked;
  }

  signerGroupStatus(): SignerGroupAnswer | undefined {
    return this.bft?.groupStatus();
  }

  /** Rounds and peers, when this node runs consensus with others. */
  consensusStatus(): ConsensusStatus | undefined {
    return this.bft?.status();
  }

  async close(): Promise<void> {
    await this.producer?.stop();
    await this.executor?.close();
    await this.verifier.close();
    await this.store.close();
  }
}

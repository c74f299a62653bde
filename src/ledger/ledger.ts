import { bytesEqual, merkleRoot, sha256Hex, toHex } from '../crypto/portable.ts';
import { blockHash, certificateHash, GENESIS_COMMIT, type Block, type BlockHeader, type SegmentHeader } from './block.ts';
import { certificateError, type Certificate } from './commit.ts';
import { bookkeeperSetAt, electionWork } from './election.ts';
import { quotaLimit, readAccount, stakedOf, writeAccount, type ExecContext, type MarketEvent } from './context.ts';
import type { Entry } from './entries.ts';
import { fail, LedgerError } from './errors.ts';
import { ledgerParams, reserveAddress, validateGenesis, writeGenesisState, type Genesis } from './genesis.ts';
import { applyStakeDeposit, releaseUnbonded } from './ops/staking.ts';
import { applyTokenReceipt } from './ops/token.ts';
import { marketWork } from './market/due.ts';
import { applyWorkerRecord } from './market/workers.ts';
import { applyOperation, TX_KIND_NAMES } from './ops/index.ts';
import { CHAIN_COUNT, MAIN_CHAIN, MAX_BLOCK_TX_BYTES, type LedgerParams } from './params.ts';
import { ReceiptKind, receiptHash, receiptTarget, type Receipt } from './receipts.ts';
import { ChainState, StateOverlay, type StagedChain } from './state.ts';
import { dueCounts, paramOverrides, unbonding } from './stores.ts';
import { applyGovDeposit, applyGovSubmit, effectiveParams } from './gov/lifecycle.ts';
import { missingUpgrade, type UpgradeNeededError, upgradeWork, type UpgradeHandlers } from './gov/upgrades.ts';
import { checkTxSignature, decodeTx, type Tx } from './tx.ts';
import { credit } from './context.ts';

/** Nonce and zero-fee quota: the checks every transaction passes before its own. */
function admitSender(ctx: ExecContext, tx: Tx): void {
  const acc = readAccount(ctx.state, tx.fromHex);
  if (tx.nonce < acc.nonce) fail('NONCE_REPLAYED', `nonce ${tx.nonce} was already used on chain ${ctx.chain}; next is ${acc.nonce}`);
  if (tx.nonce > acc.nonce) fail('NONCE_GAP', `nonce ${tx.nonce} is ahead; chain ${ctx.chain} expects ${acc.nonce} next`);
  const window = BigInt(Math.floor(ctx.time / ctx.params.quotaWindowMs));
  if (acc.quotaWindow !== window) {
    acc.quotaWindow = window;
    acc.quotaUsed = 0;
  }
  const limit = quotaLimit(ctx.params, stakedOf(ctx.main, tx.fromHex));
  if (acc.quotaUsed >= limit) {
    fail('OVER_QUOTA', `sender used its ${limit} transactions for this ${ctx.params.quotaWindowMs / 1000} s window; wait or stake ZNC to raise the quota`);
  }
  acc.quotaUsed++;
  acc.nonce++;
  writeAccount(ctx.state, tx.fromHex, acc);
}

/** What a node already knows about transactions, by hash (see `Ledger.executeBlock`). */
export interface KnownTxs {
  /** A transaction this node decoded before. */
  decoded?(hashHex: string): Tx | undefined;
  /** Whether this node has already checked the transaction's signature. */
  verified?(hashHex: string): boolean;
}

/** The state transition of one transaction: a pure function of state, block context and tx. */
export function applyTx(ctx: ExecContext, tx: Tx): void {
  if (tx.chain !== ctx.chain) fail('INVALID_ARGUMENT', `transaction belongs to chain ${tx.chain}, not ${ctx.chain}`);
  admitSender(ctx, tx);
  applyOperation(ctx, tx);
}

export function applyReceipt(ctx: ExecContext, r: Receipt): void {
  switch (r.kind) {
    case ReceiptKind.Credit:
      return credit(ctx, r.address, r.token, r.amount);
    case ReceiptKind.StakeDeposit:
      return applyStakeDeposit(ctx, r);
    case ReceiptKind.WorkerRecord:
      return applyWorkerRecord(ctx, r);
    case ReceiptKind.GovSubmit:
      return applyGovSubmit(ctx, r);
    case ReceiptKind.GovDeposit:
      return applyGovDeposit(ctx, r);
    default:
      return applyTokenReceipt(ctx, r);
  }
}

/** The result of executing one height, not yet committed. */
export interface ExecutedHeight {
  readonly height: number;
  readonly time: number;
  readonly txs: Tx[][];
  readonly segments: SegmentHeader[];
  readonly staged: StagedChain[];
  /** Receipts emitted at this height, applied at the next one. */
  readonly receipts: Receipt[];
  readonly lastCommit: Certificate;
  /** Market events of this height, in order (chain by chain). */
  readonly events: (MarketEvent & { chain: number })[];
  /** Set when chains of this height ran on replicas (see parallel.ts): which job, so they adopt it on commit. */
  readonly job?: number;
}

/** What one chain's segment of a height came to (see `HeightExecution.finishChain`). */
export interface ChainOutcome {
  readonly staged: StagedChain;
  readonly segment: SegmentHeader;
  readonly receipts: readonly Receipt[];
  readonly events: readonly (MarketEvent & { chain: number })[];
}

/**
 * Executes one height on top of the committed ledger. Each chain works in its own overlay and
 * reads main only as committed, so the chains are independent and could run in parallel.
 */
export class HeightExecution {
  readonly ledger: Ledger;
  readonly height: number;
  readonly time: number;
  readonly contexts: ExecContext[] = [];
  readonly txs: Tx[][] = [];
  readonly outgoing: Receipt[][] = [];
  /** The hash of each outgoing receipt, made when it was emitted. */
  private readonly outgoingHashes: Uint8Array[][] = [];
  readonly events: (MarketEvent & { chain: number })[][] = [];
  /** A speculative execution (a mempool's view of the next height) is not bound by segment size. */
  readonly speculative: boolean;
  private txBytes = 0;

  /** The certificate of the previous height this block carries. */
  readonly lastCommit: Certificate;

  /**
   * `only`: run just these chains (the others stay untouched and empty): a height split across
   * threads runs each chain's segment where its state lives. A chain's segment depends only on its
   * own state, the receipts sent to it, main as committed and the block's context, so the split
   * changes nothing in the result.
   */
  constructor(ledger: Ledger, height: number, time: number, speculative = false, lastCommit: Certificate = GENESIS_COMMIT, only?: ReadonlySet<number>) {
    this.ledger = ledger;
    this.speculative = speculative;
    this.lastCommit = lastCommit;
    this.height = height;
    this.time = time;
    for (let chain = 0; chain < CHAIN_COUNT; chain++) {
      const out: Receipt[] = [];
      const hashes: Uint8Array[] = [];
      this.outgoing.push(out);
      this.outgoingHashes.push(hashes);
      const events: (MarketEvent & { chain: number })[] = [];
      this.events.push(events);
      this.txs.push([]);
      this.contexts.push({
        chain,
        height,
        time,
        prevHash: ledger.lastBlockHash,
        params: ledger.params,
        reserve: ledger.reserve,
        state: new StateOverlay(ledger.chains[chain]),
        main: ledger.chains[MAIN_CHAIN],
        emit: (r) => {
          const receipt = { ...r, source: chain };
          // Encoded now, like a state write: a receipt that cannot be must fail its own transaction.
          hashes.push(receiptHash(receipt));
          out.push(receipt);
        },
        announce: (e) => events.push({ ...e, chain }),
      });
    }
    this.only = only;
    const runs = (chain: number): boolean => !only || only.has(chain);
    if (runs(MAIN_CHAIN)) {
      // An upgrade due at this height comes before anything else of it (or stops the node here).
      upgradeWork(this.contexts[MAIN_CHAIN], ledger.upgrades);
    }
    // Receipts of the previous height land first, in emission order (source chain, then index).
    for (const r of ledger.inFlight) {
      const target = receiptTarget(r);
      if (runs(target)) applyReceipt(this.contexts[target], r);
    }
    if (runs(MAIN_CHAIN)) {
      releaseUnbonded(this.contexts[MAIN_CHAIN]);
      electionWork(this.contexts[MAIN_CHAIN], ledger.genesis, lastCommit);
    }
    for (const c of this.contexts) if (runs(c.chain)) marketWork(c);
    for (const c of this.contexts) c.state.settle();
  }

  /** The chains this execution runs (undefined: all ten); see `ChainPartition`. */
  readonly only: ReadonlySet<number> | undefined;

  /** Bytes of transactions this height may still take (a block proposer stops when none fit). */
  get blockBytesLeft(): number {
    return MAX_BLOCK_TX_BYTES - this.txBytes;
  }

  /** Applies a transaction, or leaves no trace and returns why not. */
  tryApply(tx: Tx): LedgerError | null {
    const ctx = this.contexts[tx.chain];
    if (!this.speculative && this.txs[tx.chain].length >= this.ledger.params.maxTxsPerSegment) {
      return new LedgerError('MEMPOOL_FULL', `chain ${tx.chain} segment is full at this height`);
    }
    if (!this.speculative && this.txBytes + tx.bytes.length > MAX_BLOCK_TX_BYTES) {
      return new LedgerError('MEMPOOL_FULL', `the block at this height is full (${MAX_BLOCK_TX_BYTES} bytes of transactions)`);
    }
    const cp = ctx.state.checkpoint();
    const outLen = this.outgoing[tx.chain].length;
    const eventsLen = this.events[tx.chain].length;
    try {
      applyTx(ctx, tx);
      ctx.state.seal(cp);
    } catch (e) {
      ctx.state.revert(cp);
      this.outgoing[tx.chain].length = outLen;
      this.outgoingHashes[tx.chain].length = outLen;
      this.events[tx.chain].length = eventsLen;
      if (e instanceof LedgerError) return e;
      // Anything else is a bug met by this transaction. Execution is deterministic, so every node
      // meets it alike and refuses the transaction alike: the chain goes on without it.
      const err = new LedgerError(
        'INTERNAL_ERROR',
        `the ledger failed on transaction ${tx.hashHex} (${TX_KIND_NAMES[tx.kind]}): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}; it is refused on every node — this is a bug in ZeusNet, logged by the node with the transaction's hash`,
        { cause: e },
      );
      this.ledger.onInternalError?.(tx, err);
      return err;
    }
    this.txs[tx.chain].push(tx);
    this.txBytes += tx.bytes.length;
    return null;
  }

  /** One chain's outcome of this height: its staged writes, its segment header, what it sent and announced. */
  finishChain(chain: number): ChainOutcome {
    const staged = this.ledger.chains[chain].stage(this.contexts[chain].state.writes, this.contexts[chain].state.encoded);
    return {
      staged,
      segment: {
        chain,
        txCount: this.txs[chain].length,
        txRoot: merkleRoot(this.txs[chain].map((t) => t.hash)),
        stateRoot: staged.root,
        receiptRoot: merkleRoot(this.outgoingHashes[chain]),
      },
      receipts: this.outgoing[chain],
      events: this.events[chain],
    };
  }

  finish(): ExecutedHeight {
    const staged: StagedChain[] = [];
    const segments: SegmentHeader[] = [];
    for (let chain = 0; chain < CHAIN_COUNT; chain++) {
      const s = this.finishChain(chain);
      staged.push(s.staged);
      segments.push(s.segment);
    }
    return {
      height: this.height,
      time: this.time,
      txs: this.txs,
      segments,
      staged,
      receipts: this.outgoing.flat(),
      lastCommit: this.lastCommit,
      events: this.events.flat(),
    };
  }
}

export class InvalidBlockError extends Error {
  override name = 'InvalidBlockError';
}

/** All ten chains' committed state and what is in flight between them. */
export class Ledger {
  readonly genesis: Genesis;
  /** The parameters at genesis; `params` are those in force (governance may have changed some). */
  readonly genesisParams: LedgerParams;
  /** The development reserve's multisig address (empty: none). */
  readonly reserve: Uint8Array;
  /** The upgrades this node's software knows (see gov/upgrades.ts). */
  upgrades: UpgradeHandlers = new Map();
  readonly chainId: string;
  readonly chains: ChainState[];
  height = 0;
  time: number;
  lastBlockHash: Uint8Array = new Uint8Array(32);
  /** The certificate that committed the last height (carried by the next block). */
  lastCommit: Certificate = GENESIS_COMMIT;
  inFlight: Receipt[] = [];
  /**
   * Told of every transaction the ledger failed on (INTERNAL_ERROR): the host logs it loudly.
   * Speculative, built and received heights alike report here.
   */
  onInternalError: ((tx: Tx, error: LedgerError) => void) | undefined;
  /** Told of every committed height (replicas of chains on other threads follow the ledger through it). */
  onCommit: ((executed: ExecutedHeight) => void) | undefined;
  /**
   * Heights (over all chains) with market work scheduled: deadlines are counted in blocks, so
   * while any is ahead an idle solo bookkeeper must keep making blocks to reach it.
   */
  private scheduledHeights = 0;
  private currentParams: LedgerParams;

  /** The parameters in force for the next height: genesis's with governance's changes committed so far. */
  get params(): LedgerParams {
    return this.currentParams;
  }

  private refreshParams(): void {
    this.currentParams = effectiveParams(this.genesisParams, this.chains[MAIN_CHAIN]);
  }

  constructor(genesis: Genesis) {
    this.genesis = validateGenesis(genesis);
    this.genesisParams = ledgerParams(this.genesis);
    this.currentParams = this.genesisParams;
    this.reserve = reserveAddress(this.genesis);
    this.chainId = this.genesis.chainId;
    this.time = this.genesis.genesisTime;
    this.chains = Array.from({ length: CHAIN_COUNT }, (_, i) => new ChainState(i));
  }

  /** A ledger at height 0 holding the genesis allocations. */
  static fromGenesis(genesis: Genesis): Ledger {
    const ledger = new Ledger(genesis);
    const overlays = ledger.chains.map((c) => new StateOverlay(c));
    writeGenesisState(ledger.genesis, overlays);
    overlays.forEach((o, i) => ledger.chains[i].commit(ledger.chains[i].stage(o.writes, o.encoded)));
    ledger.refreshParams();
    return ledger;
  }

  /**
   * Moves a replica of some chains (see parallel.ts) to the tip the next height executes on: it
   * commits only its own chains' segments, so the rest of the tip comes from the ledger it follows.
   */
  followTip(tip: { height: number; time: number; hash: Uint8Array; inFlight: Receipt[]; params: LedgerParams }): void {
    this.height = tip.height;
    this.time = tip.time;
    this.lastBlockHash = tip.hash;
    this.inFlight = tip.inFlight;
    this.currentParams = tip.params;
  }

  /** Restores a ledger from stored state (the node's start-up path). */
  static restore(
    genesis: Genesis,
    tip: { height: number; time: number; hash: Uint8Array; inFlight: Receipt[]; lastCommit: Certificate },
    entries: Iterable<[number, string, Entry, Uint8Array]>,
  ): Ledger {
    const ledger = new Ledger(genesis);
    for (const [chain, key, value, bytes] of entries) ledger.chains[chain].load(key, value, bytes);
    ledger.height = tip.height;
    ledger.time = tip.time;
    ledger.lastBlockHash = tip.hash;
    ledger.inFlight = tip.inFlight;
    ledger.lastCommit = tip.lastCommit;
    ledger.scheduledHeights = ledger.chains.reduce((n, c) => n + dueCounts.keys(c).length, 0);
    ledger.refreshParams();
    return ledger;
  }

  /**
   * The upgrade this software lacks for the next height, if that height is a planned upgrade's:
   * what `begin` and `executeBlock` would throw, known without executing anything, so that a
   * node stops before the height (every node alike: the plan is committed state).
   */
  upgradeNeeded(): UpgradeNeededError | undefined {
    return missingUpgrade(this.chains[MAIN_CHAIN], this.height + 1, this.upgrades);
  }

  /** Starts executing the next height at block time `time` (at least 1 ms after the last). */
  begin(time: number, speculative = false, lastCommit: Certificate = this.lastCommit): HeightExecution {
    return new HeightExecution(this, this.height + 1, Math.max(time, this.time + 1), speculative, lastCommit);
  }

  /**
   * Whether a height at `time` would do anything even without transactions, or is needed to
   * reach a height with market work scheduled (deadlines count blocks).
   */
  hasDueWork(time: number): boolean {
    if (this.inFlight.length > 0) return true;
    if (this.scheduledHeights > 0) return true;
    const q = unbonding.get(this.chains[MAIN_CHAIN]);
    return !!q && q.entries.length > 0 && q.entries[0].releaseAt <= BigInt(time);
  }

  stateRoots(): Uint8Array[] {
    return this.chains.map((c) => c.root());
  }

  /** The header of a block carrying `executed` on top of the committed chain. */
  headerFor(executed: ExecutedHeight, proposer: Uint8Array): BlockHeader {
    return {
      chainId: this.chainId,
      height: BigInt(executed.height),
      time: BigInt(executed.time),
      prevHash: this.lastBlockHash,
      proposer,
      segments: executed.segments,
      lastCommitHash: certificateHash(executed.lastCommit),
    };
  }

  /** The block that carries `executed` (its transactions and the previous height's certificate). */
  blockFor(executed: ExecutedHeight, proposer: Uint8Array): Block {
    return {
      header: this.headerFor(executed, proposer),
      segments: executed.txs.map((txs) => ({ txs: txs.map((t) => t.bytes) })),
      lastCommit: executed.lastCommit,
    };
  }

  /** Public keys of the bookkeepers that decide `height`, in proposer order. */
  bookkeepersAt(height: number): Uint8Array[] {
    return bookkeeperSetAt(this.chains[MAIN_CHAIN], this.genesis, height);
  }

  /** Makes an executed height the committed state; `certificate` is what committed it. */
  commit(executed: ExecutedHeight, header: BlockHeader, certificate: Certificate): void {
    if (executed.height !== this.height + 1) throw new Error(`cannot commit height ${executed.height} on ${this.height}`);
    executed.staged.forEach((s, i) => {
      // By the encodings: the same keys and deletions as the writes, without decoding what a replica wrote.
      for (const [key, value] of s.encoded) {
        if (!dueCounts.owns(key)) continue;
        const had = this.chains[i].get(key) !== undefined;
        if (value === null && had) this.scheduledHeights--;
        else if (value !== null && !had) this.scheduledHeights++;
      }
      this.chains[i].commit(s);
    });
    this.height = executed.height;
    this.time = executed.time;
    this.lastBlockHash = blockHash(header);
    this.lastCommit = certificate;
    this.inFlight = executed.receipts;
    if (executed.staged[MAIN_CHAIN].encoded.has(paramOverrides.key())) this.refreshParams();
    this.onCommit?.(executed);
  }

  /** Re-executes a block received from elsewhere and checks every root it claims. */
  /**
   * `verifySignatures`: false only for blocks this node verified before (its own store).
   * `known` lets a node reuse what it already did for a transaction: decoding and the signature
   * check are pure functions of the bytes, so a cache by hash changes nothing but time.
   */
  executeBlock(block: Block, verifySignatures = true, known: KnownTxs = {}): ExecutedHeight {
    const h = block.header;
    this.checkBlockContext(block, verifySignatures);
    const exec = new HeightExecution(this, Number(h.height), Number(h.time), false, block.lastCommit);
    block.segments.forEach((seg, chain) => {
      for (const bytes of seg.txs) {
        const tx = known.decoded?.(sha256Hex(bytes)) || decodeTx(bytes);
        if (tx.chainId !== this.chainId) throw new InvalidBlockError(`tx ${tx.hashHex} is for chain ${tx.chainId}`);
        if (tx.chain !== chain) throw new InvalidBlockError(`tx ${tx.hashHex} routed to chain ${tx.chain}, found in ${chain}`);
        if (verifySignatures && !known.verified?.(tx.hashHex)) checkTxSignature(tx);
        const err = exec.tryApply(tx);
        if (err) throw new InvalidBlockError(`tx ${tx.hashHex} failed: ${err.code}: ${err.message}`);
      }
    });
    const executed = exec.finish();
    checkClaimedSegments(h, executed);
    return executed;
  }

  /** What a block must be before any of it executes: of this chain, next on the committed tip, with the previous height's certificate. */
  checkBlockContext(block: Block, verifySignatures: boolean): void {
    const h = block.header;
    if (h.chainId !== this.chainId) throw new InvalidBlockError(`block is for chain ${h.chainId}`);
    if (Number(h.height) !== this.height + 1) throw new InvalidBlockError(`block height ${h.height} does not follow ${this.height}`);
    if (!bytesEqual(h.prevHash, this.lastBlockHash)) throw new InvalidBlockError('block does not extend the committed chain');
    if (Number(h.time) <= this.time) throw new InvalidBlockError('block time must increase');
    if (!bytesEqual(h.lastCommitHash, certificateHash(block.lastCommit))) throw new InvalidBlockError('lastCommitHash does not match the carried certificate');
    if (this.height > 0) {
      if (Number(block.lastCommit.height) !== this.height) throw new InvalidBlockError('carried certificate is not for the previous height');
      const why = verifySignatures ? certificateError(this.chainId, block.lastCommit, this.bookkeepersAt(this.height), this.lastBlockHash) : undefined;
      if (why) throw new InvalidBlockError(`previous height's certificate: ${why}`);
    } else if (block.lastCommit.signers.length > 0) throw new InvalidBlockError('the first block carries no certificate');
  }
}

/** Every root a block's header claims must be the one re-execution reached. */
export function checkClaimedSegments(h: BlockHeader, executed: ExecutedHeight): void {
  executed.segments.forEach((s, i) => {
    const claimed = h.segments[i];
    if (
      claimed.chain !== s.chain ||
      claimed.txCount !== s.txCount ||
      !bytesEqual(claimed.txRoot, s.txRoot) ||
      !bytesEqual(claimed.stateRoot, s.stateRoot) ||
      !bytesEqual(claimed.receiptRoot, s.receiptRoot)
    ) {
      throw new InvalidBlockError(`segment ${i} roots differ from re-execution (state ${toHex(s.stateRoot)})`);
    }
  });
}

import { bytesEqual, toHex, type KeyPair } from '../crypto/portable.ts';
import {
  blockHash,
  certificateError,
  decodeBlock,
  decodeCommittedBlock,
  encodeBlock,
  InvalidBlockError,
  LedgerError,
  signVote,
  verifyVote,
  VoteType,
  type Block,
  type Certificate,
  type ExecutedHeight,
  type SignedVote,
  type VoteBody,
} from '../ledger/index.ts';
import type { KvOp, KvStore } from '../store/index.ts';
import { CatchUp, CATCH_UP_TIMING, type CatchUpTiming, type SyncRequest } from './catchup.ts';
import { gossip, heightRelation, type ConsensusConfig, type ConsensusInput, type ConsensusOutput, type ConsensusState, type TimeoutKind } from './core.ts';
import { CoreDriver } from './driver.ts';
import { openProposal, proposalInput, signProposal, type SignedProposal } from './proposal.ts';
import { RoundHistory } from './rounds.ts';
import { ownVotes, SigningGuard, SigningRefusedError, type SignRecord, type SignStep } from './signer.ts';

// The consensus host: everything between the pure core (core.ts) and the outside world — it
// turns the core's outputs into signatures, messages, timers and commits, validates proposed
// blocks on the ledger, keeps what a restart needs (the signing guard's log and the proposed
// blocks) in a store, re-sends while a height is stuck, and catches up on committed blocks.
// The node (src/node/bftProducer.ts) runs it with libp2p, the wall clock, real timers and LevelDB; the
// simulator (sim/simNode.ts) runs the very same code with a simulated network, clock, timers and a
// disk that loses unsynced writes on a crash (TigerBeetle's VOPR runs production code too).
// Every piece of I/O comes in through HostIo; this module reads no clock and owns no timer.

/** A proposal (with its block) or a vote, as peers exchange them. */
export type ConsensusMessage = { readonly kind: 'proposal'; readonly sp: SignedProposal } | { readonly kind: 'vote'; readonly vote: SignedVote };

/** What the host tells the network layer about a message (the p2p layer's verdicts). */
export type MessageVerdict = 'accept' | 'reject' | 'ignore' | 'later';

export interface Clock {
  /** Milliseconds since the epoch (block times are in these). */
  now(): number;
}

export interface Timers {
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms`; the returned function stops it. */
  every(ms: number, fn: () => void): () => void;
}

/** The bookkeepers' network, as the host uses it. */
export interface ConsensusTransport {
  /** Sends our proposal or vote to every peer (best effort: the host re-sends while stuck). */
  publish(m: ConsensusMessage): void;
  /** Connected peers that may be asked for committed blocks. */
  peers(): string[];
  /**
   * Asks `peer` for the committed blocks (encoded CommittedBlock records) from `from` on; `done`
   * gets them (none if it has none), or the error once the fetch failed or timed out.
   */
  fetchBlocks(peer: string, from: number, count: number, done: (records: Uint8Array[] | Error) => void): void;
  /** A peer served something provably bad. */
  penalize(peer: string, reason: string): void;
}

/** A block this node built on its committed ledger, executed. */
export interface ExecutedBlock {
  readonly block: Block;
  readonly executed: ExecutedHeight;
}

/** The ledger side: the committed chain, and how blocks are built, executed, committed and served. */
export interface HostChain<B extends ExecutedBlock = ExecutedBlock> {
  readonly height: number;
  /** Time of the last committed block. */
  readonly time: number;
  bookkeepersAt(height: number): Uint8Array[];
  /** Builds the next height at block time `time` (nothing is committed). */
  build(time: number): B;
  /**
   * Executes a block on the committed ledger; throws (or rejects with) InvalidBlockError or LedgerError if
   * it is invalid. It may answer later (the inner chains on worker threads): the host waits, under its lock.
   */
  execute(block: Block): ExecutedHeight | Promise<ExecutedHeight>;
  /** Prepares for executing a received block (e.g. checks its signatures on other threads). */
  preverify(block: Block): Promise<void>;
  /** Persists and adopts a decided block (`built` when it is the one this node built). */
  commit(block: Block, certificate: Certificate, executed: ExecutedHeight, built?: B): Promise<void>;
  /** The encoded committed block (block and certificate) of a height, to serve to a peer. */
  committedBlock(height: number): Promise<Uint8Array | undefined>;
  /** Two conflicting votes of one bookkeeper were seen (called once per offence). */
  reportEvidence(first: SignedVote, second: SignedVote): void;
  /**
   * Why this software cannot take part in the next height at all (a planned upgrade it lacks),
   * else undefined. Asked before each height starts: the host stops there, without proposing or
   * voting, and reports the error to onFatal. It keeps serving committed blocks to peers.
   */
  cannotContinue?(): Error | undefined;
}

/**
 * What the host asks before it signs anything: the double-sign guard (signer.ts), or a seat group
 * wrapping it (src/node/signerGroup.ts). A SigningRefusedError means "do not sign this": the host
 * logs it and carries on; any other error stops the host.
 */
export interface Signer {
  authorize(height: number, round: number, step: SignStep, blockHash: Uint8Array): Promise<void>;
  signedAt(height: number): readonly SignRecord[];
}

/** The part of a pino logger the round log uses. */
export interface RoundLogger {
  debug(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** The host's inside, as a test-only misbehaviour sees it. */
export interface HostInternals {
  readonly state: ConsensusState;
  readonly key: KeyPair;
  readonly chainId: string;
  /** Hex hashes of the blocks held for the current height. */
  heldBlocks(): string[];
  /** Holds a block built here (executed, valid) for the current height. */
  hold(built: ExecutedBlock): void;
  /** Records a proposal signed here, so that it is re-sent while the height is stuck. */
  proposed(sp: SignedProposal): void;
  feed(input: ConsensusInput): Promise<void>;
  publish(m: ConsensusMessage): void;
  log(msg: string): void;
}

/**
 * Deliberate faults, only for showing that the network and the tests catch them (the node's
 * --test-* flags, the simulator's byzantine bookkeepers). A real node has none.
 */
export interface Misbehavior {
  /** Never build or propose a block: rounds with us as proposer time out. */
  readonly withholdProposals?: boolean;
  /** Our turn to propose in `round`: done here instead (e.g. two different blocks to two halves). */
  propose?(host: HostInternals, round: number): Promise<void>;
  /** Sends our signed vote here instead of publishing it (e.g. with a conflicting one). */
  publishVote?(host: HostInternals, vote: SignedVote): void;
}

export interface HostIo<B extends ExecutedBlock = ExecutedBlock> {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly transport: ConsensusTransport;
  /** Where the signing guard's log and the proposed blocks a restart needs are kept. */
  readonly store: KvStore;
  /**
   * Where the signing guard's log is kept instead, if given: apart from `store`, so that the loss
   * of the store's last write cannot take it (a record found only in `store` is carried over).
   */
  readonly signerStore?: KvStore;
  readonly chain: HostChain<B>;
  /** The double-sign guard; by default the one kept in `store`. */
  readonly signer?: Signer;
  /** Checks a vote's signature (the simulator passes one that remembers results across its nodes). */
  readonly verifyVote?: (v: SignedVote) => boolean;
}

export interface HostOptions {
  readonly config: ConsensusConfig;
  /**
   * The bookkeeper key this host signs with while it is in the set. Without one (a full node) the
   * host only follows: it verifies, executes and commits what the set decides, and never signs.
   */
  readonly key?: KeyPair;
  /** The pause after a commit before the next height starts: the block interval. */
  readonly commitDelayMs: number;
  /** How often to re-send while stuck and consider catching up (hostTickMs of the block interval). */
  readonly tickMs: number;
  readonly catchUpTiming?: CatchUpTiming;
  readonly misbehavior?: Misbehavior;
  readonly log?: (msg: string) => void;
  /** Structured log for rounds: each round and step change at debug, slow heights as warnings. */
  readonly logger?: RoundLogger;
  /**
   * With no commit for this long, the round state is logged as a warning (again every as long
   * while it lasts): a height that starts no rounds logs nothing else. Default: 20 block
   * intervals, at least 10 s.
   */
  readonly stallReportMs?: number;
  /** A failure to persist or an internal contradiction: the host has stopped. */
  readonly onFatal: (e: unknown) => void;
}

/** How far ahead of our clock a proposed block's time may be. */
const MAX_CLOCK_DRIFT_MS = 5_000;
export const PENDING_PREFIX = 'consensus/pending/';
const MAX_BUFFER = 4_000;
const SYNC_BATCH = 64;

interface BlockEntry<B> {
  readonly block: Block;
  readonly bytes: Uint8Array;
  built?: B;
  executed?: ExecutedHeight;
  valid?: boolean;
  /** Written to the pending blocks (so that a restart still holds it). */
  kept?: boolean;
}

export class ConsensusHost<B extends ExecutedBlock = ExecutedBlock> {
  private readonly io: HostIo<B>;
  private readonly opts: HostOptions;
  private readonly config: ConsensusConfig;
  private readonly key: KeyPair | undefined;
  private readonly chain: HostChain<B>;
  private readonly verify: (v: SignedVote) => boolean;
  private signer: Signer | undefined;
  private readonly core: CoreDriver;
  private blocks = new Map<string, BlockEntry<B>>();
  private proposals = new Map<string, SignedProposal>();
  private seen = new Set<string>();
  private buffer: ConsensusMessage[] = [];
  /** Serializes everything that touches the core, the ledger or the store. */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly timeouts = new Set<() => void>();
  private stopTicker: (() => void) | undefined;
  private stopped = false;
  private lastProgress = '';
  private stuckTicks = 0;
  /** When and from whom to fetch committed blocks. */
  private readonly catchUp: CatchUp;
  private synced = 0;
  private lastCommitRound = 0;
  private readonly evidenceSent = new Set<string>();
  /** Store keys of the proposed blocks persisted at this height (removed once it commits). */
  private readonly pendingKeys = new Set<string>();
  private readonly rounds = new RoundHistory();
  /** When the last height was committed (or the host started), and when a stall was last reported. */
  private lastCommitAt = 0;
  private lastStallReport = 0;
  /** The work holding the lock, and since when: a stall report names it. */
  private busy: { what: string; since: number } | undefined;

  constructor(io: HostIo<B>, opts: HostOptions) {
    this.io = io;
    this.opts = opts;
    this.config = opts.config;
    this.key = opts.key;
    this.chain = io.chain;
    this.verify = io.verifyVote ?? verifyVote;
    this.signer = io.signer;
    this.catchUp = new CatchUp(opts.catchUpTiming ?? CATCH_UP_TIMING);
    this.core = new CoreDriver(this.config, {
      act: (o) => this.act(o),
      started: async () => {
        for (const m of this.buffer.splice(0)) await this.receive(m);
      },
      running: () => !this.stopped,
    });
  }

  get state(): ConsensusState {
    return this.core.state;
  }

  /** Heights committed from peers' certified blocks rather than by taking part. */
  get syncedHeights(): number {
    return this.synced;
  }

  /**
   * The highest height committed by the network as its connected peers show it (the height of
   * their latest consensus messages, less one), 0 while none has shown one: what a node compares
   * its own height with to say whether it is in sync (GET /health/ready).
   */
  get peersCommittedHeight(): number {
    return Math.max(0, this.catchUp.highestShown(this.io.transport.peers()) - 1);
  }

  get lastRound(): number {
    return this.lastCommitRound;
  }

  /** Loads the signing guard's log (unless one was given). */
  async open(): Promise<void> {
    this.signer ??= this.io.signerStore ? await SigningGuard.open(this.io.signerStore, undefined, this.io.store) : await SigningGuard.open(this.io.store);
  }

  /** Joins consensus at the next height (restoring what was signed there before a restart) and starts ticking. */
  start(): void {
    this.lastCommitAt = this.io.clock.now();
    void this.run(() => this.startHeight(true), 'start');
    this.stopTicker = this.io.timers.every(this.opts.tickMs, () => this.tick());
  }

  /** Stops taking part; resolves once the work under way is done. */
  async stop(): Promise<void> {
    this.halt();
    await this.lock.catch(() => undefined);
  }

  /** Resolves once the work started so far (by messages, timers and fetches) is done. */
  async settled(): Promise<void> {
    for (let l = this.lock; ; l = this.lock) {
      await l;
      if (l === this.lock) return;
    }
  }

  private halt(): void {
    this.stopped = true;
    this.stopTicker?.();
    for (const cancel of this.timeouts) cancel();
    this.timeouts.clear();
  }

  private run<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const next = this.lock.then(async () => {
      if (this.stopped) return undefined as T;
      this.busy = { what, since: this.io.clock.now() };
      try {
        return await fn();
      } finally {
        this.busy = undefined;
      }
    });
    this.lock = next.catch((e: unknown) => this.fatal(e));
    return next;
  }

  /** A failure to persist or an internal contradiction: stop rather than diverge from disk. */
  private fatal(e: unknown): void {
    this.halt();
    this.opts.onFatal(e);
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** A signature refused: news, unless it is the signer's normal state (a standby member of a seat group). */
  private refused(what: SignStep, e: SigningRefusedError): void {
    const msg = `signing guard refused a ${what}: ${e.message}`;
    if (e.routine) this.opts.logger?.debug({ refused: what, reason: e.name }, msg);
    else this.log(msg);
  }

  // ---- heights ----

  private async startHeight(restoring = false): Promise<void> {
    const blocked = this.chain.cannotContinue?.();
    if (blocked) throw blocked;
    const height = this.chain.height + 1;
    const validators = this.chain.bookkeepersAt(height);
    this.blocks = new Map();
    this.proposals = new Map();
    this.seen = new Set();
    this.stuckTicks = 0;
    // After a restart, a block we proposed before the crash: needed to re-send the proposal we signed.
    if (restoring) await this.loadPendingBlocks(height);
    // Looked up at every height: a key the election puts in the set (or takes out) starts (or stops)
    // signing at the epoch boundary without a restart; a full node is never in the set.
    const key = this.key;
    const self = key ? validators.findIndex((v) => bytesEqual(v, key.publicKey)) : -1;
    await this.feed({ kind: 'start', height, validators, self });
    if (restoring) await this.restoreOwnMessages(height);
  }

  /**
   * Reads the proposed blocks persisted before a crash: those of `height` are kept (and tracked
   * for removal at the next commit), older leftovers are removed. Only a restart needs this: a
   * running node knows what it wrote.
   */
  private async loadPendingBlocks(height: number): Promise<void> {
    const stale: KvOp[] = [];
    for await (const [key, bytes] of this.io.store.entries(PENDING_PREFIX)) {
      try {
        const block = decodeBlock(bytes);
        if (Number(block.header.height) === height) {
          this.blocks.set(toHex(blockHash(block.header)), { block, bytes, kept: true });
          this.pendingKeys.add(key);
          continue;
        }
      } catch {
        // an unreadable leftover is simply removed
      }
      stale.push({ key, value: null });
    }
    if (stale.length > 0) await this.io.store.write(stale, false);
  }

  /** After a restart: re-create what we signed at this height and feed it to the core and peers. */
  private async restoreOwnMessages(height: number): Promise<void> {
    const key = this.key;
    if (!key) return;
    const signed = this.signer!.signedAt(height);
    for (const e of signed) {
      if (e.step !== 'proposal') continue;
      const entry = this.blocks.get(toHex(e.blockHash));
      if (!entry || !bytesEqual(entry.block.header.proposer, key.publicKey)) continue;
      // The valid round of the original is not in the log; -1 is what a fresh block had.
      await this.sendProposal(e.round, e.blockHash, -1, entry);
    }
    for (const vote of ownVotes(signed, this.config.chainId, height, key.publicKey)) {
      const sv = signVote(key, vote);
      this.io.transport.publish({ kind: 'vote', vote: sv });
      await this.feed({ kind: 'vote', vote: sv });
    }
  }

  // ---- the core ----

  private feed(input: ConsensusInput): Promise<void> {
    return this.core.feed(input);
  }

  private async act(o: ConsensusOutput): Promise<void> {
    const logger = this.opts.logger;
    if (logger) for (const r of this.rounds.observe(o, this.io.clock.now())) logger[r.level](r.fields, r.msg);
    const misbehavior = this.opts.misbehavior;
    switch (o.kind) {
      case 'buildBlock': {
        if (misbehavior?.withholdProposals) return;
        // Proposed in this round before a restart: only that block may be proposed again (the
        // guard refuses any other), so it is not built anew.
        const signed = this.signer?.signedAt(o.height).find((r) => r.step === 'proposal' && r.round === o.round);
        if (signed) {
          if (this.blocks.has(toHex(signed.blockHash))) this.core.queue({ kind: 'blockReady', height: o.height, round: o.round, blockHash: signed.blockHash });
          else this.log(`round ${o.round} of height ${o.height}: proposed before a restart, but the block is lost; no proposal from this node in this round`);
          return;
        }
        const built = this.chain.build(Math.max(this.io.clock.now(), this.chain.time + 1));
        const hash = this.holdBuilt(built, built);
        this.core.queue({ kind: 'blockReady', height: o.height, round: o.round, blockHash: hash });
        return;
      }
      case 'propose': {
        if (misbehavior?.withholdProposals) return;
        if (misbehavior?.propose) {
          await misbehavior.propose(this.internals(), o.round);
          return;
        }
        const entry = this.blocks.get(toHex(o.blockHash));
        if (!entry) {
          // Every block we vote for is kept (see keepBlock), so this should not happen; if it
          // does, this round has no proposal from us and times out, which is safe.
          this.log(`cannot propose block ${toHex(o.blockHash).slice(0, 12)} in round ${o.round}: this node does not hold it`);
          return;
        }
        await this.sendProposal(o.round, o.blockHash, o.validRound, entry);
        return;
      }
      case 'castVote':
        await this.castVote(o.vote);
        return;
      case 'schedule':
        this.after(o.delayMs, () => this.feed({ kind: 'timeout', step: o.timeout as TimeoutKind, height: o.height, round: o.round }), `timeout ${o.timeout}`);
        return;
      case 'decide': {
        const entry = this.blocks.get(toHex(o.blockHash));
        if (!entry?.executed) throw new Error(`decided block ${toHex(o.blockHash)} that this node has not executed`);
        await this.commit(entry.block, o.certificate, entry.executed, entry.built);
        this.core.clear();
        this.after(this.opts.commitDelayMs, () => this.next(), 'next height');
        return;
      }
      case 'evidence':
        this.submitEvidence(o.first, o.second);
        return;
    }
  }

  /** Holds a block built here for the current height; `own` when it is the host's own build (committed with it). */
  private holdBuilt(built: ExecutedBlock, own?: B): Uint8Array {
    const hash = blockHash(built.block.header);
    this.blocks.set(toHex(hash), { block: built.block, bytes: encodeBlock(built.block), built: own, executed: built.executed, valid: true });
    return hash;
  }

  private internals(): HostInternals {
    const core = this.core;
    return {
      get state() {
        return core.state;
      },
      key: this.signingKey(),
      chainId: this.config.chainId,
      heldBlocks: () => [...this.blocks.keys()],
      hold: (built) => void this.holdBuilt(built),
      proposed: (sp) => {
        this.proposals.set(`${sp.proposal.round}/${toHex(sp.proposal.blockHash)}`, sp);
        this.seen.add(toHex(sp.signature));
      },
      feed: (input) => this.feed(input),
      publish: (m) => this.io.transport.publish(m),
      log: (msg) => this.log(msg),
    };
  }

  /** The core asks for a signature only when `self` ≥ 0, which needs a key: anything else is a bug. */
  private signingKey(): KeyPair {
    if (!this.key) throw new Error('a host without a bookkeeper key was asked to sign');
    return this.key;
  }

  private after(ms: number, fn: () => Promise<void>, what: string): void {
    const cancel = this.io.timers.after(ms, () => {
      this.timeouts.delete(cancel);
      void this.run(fn, what);
    });
    this.timeouts.add(cancel);
  }

  private async next(): Promise<void> {
    if (this.state.height !== this.chain.height + 1 || this.state.status !== 'running') await this.startHeight();
  }

  private async sendProposal(round: number, hash: Uint8Array, validRound: number, entry: BlockEntry<B>): Promise<void> {
    const height = this.state.height;
    const hex = toHex(hash);
    // The block must survive a crash once we sign for it: synced, since the guard's own synced
    // write may go to another store (HOME/signer) and flush nothing here.
    const key = `${PENDING_PREFIX}${hex}`;
    await this.io.store.write([{ key, value: entry.bytes }], true);
    this.pendingKeys.add(key);
    try {
      await this.signer!.authorize(height, round, 'proposal', hash);
    } catch (e) {
      if (!(e instanceof SigningRefusedError)) throw e;
      this.refused('proposal', e);
      return;
    }
    const signing = this.signingKey();
    const p = { chainId: this.config.chainId, height: BigInt(height), round, blockHash: hash, validRound, proposer: signing.publicKey };
    const sp = signProposal(signing, p, entry.bytes);
    entry.kept = true;
    this.proposals.set(`${round}/${hex}`, sp);
    this.seen.add(toHex(sp.signature));
    this.io.transport.publish({ kind: 'proposal', sp });
    await this.feed({ kind: 'proposal', proposal: proposalInput(p, await this.validate(hex)) });
  }

  private async castVote(vote: VoteBody): Promise<void> {
    const kind = vote.type === VoteType.Prevote ? 'prevote' : 'precommit';
    try {
      await this.signer!.authorize(Number(vote.height), vote.round, kind, vote.blockHash);
    } catch (e) {
      if (!(e instanceof SigningRefusedError)) throw e;
      this.refused(kind, e);
      return;
    }
    const sv = signVote(this.signingKey(), vote);
    this.seen.add(toHex(sv.signature));
    const misbehavior = this.opts.misbehavior;
    if (misbehavior?.publishVote) misbehavior.publishVote(this.internals(), sv);
    else this.io.transport.publish({ kind: 'vote', vote: sv });
    await this.feed({ kind: 'vote', vote: sv });
  }

  private async commit(block: Block, certificate: Certificate, executed: ExecutedHeight, built?: B): Promise<void> {
    await this.chain.commit(block, certificate, executed, built);
    this.lastCommitRound = certificate.round;
    this.lastCommitAt = this.io.clock.now();
    if (this.pendingKeys.size > 0) {
      await this.io.store.write(
        [...this.pendingKeys].map((key) => ({ key, value: null })),
        false,
      );
      this.pendingKeys.clear();
    }
  }

  /** valid(v): whether our ledger executes the block, and its time is not from the future. */
  private async validate(hash: string): Promise<boolean> {
    const e = this.blocks.get(hash)!;
    if (e.valid === undefined) {
      const now = this.io.clock.now();
      if (Number(e.block.header.time) > now + MAX_CLOCK_DRIFT_MS) {
        this.log(`block ${hash.slice(0, 12)} is timed ${Number(e.block.header.time) - now} ms in the future: prevoting nil`);
        e.valid = false;
        return false;
      }
      try {
        e.executed = await this.chain.execute(e.block);
        e.valid = true;
      } catch (err) {
        if (!(err instanceof InvalidBlockError || err instanceof LedgerError)) throw err;
        this.log(`invalid block ${hash.slice(0, 12)} proposed: ${err.message}`);
        e.valid = false;
      }
    }
    return e.valid;
  }

  // ---- network ----

  /** Something arrived from `peer` (it is alive), other than a proposal or vote. */
  heard(peer: string): void {
    this.catchUp.heard(peer, this.io.clock.now());
  }

  /** A peer's connection closed: what we knew of it is stale. */
  peerGone(peer: string): void {
    this.catchUp.gone(peer);
  }

  /** A proposal or vote from `peer`, decoded; 'later' asks the network layer to hand a copy sent again over again. */
  onMessage(m: ConsensusMessage, from: string): Promise<MessageVerdict> {
    return this.run(() => this.handle(m, from), m.kind);
  }

  private async handle(m: ConsensusMessage, from: string): Promise<MessageVerdict> {
    const height = m.kind === 'proposal' ? m.sp.proposal.height : m.vote.vote.height;
    const chainId = m.kind === 'proposal' ? m.sp.proposal.chainId : m.vote.vote.chainId;
    if (chainId !== this.config.chainId) return 'reject';
    this.catchUp.showed(from, Number(height), this.io.clock.now());
    const rel = heightRelation(this.state, height);
    if (rel === 'past') return 'ignore';
    // A height we cannot decide yet: when we get there, a copy its peers re-send must reach us
    // (the p2p layer would drop it as already seen).
    if (rel === 'ahead') {
      this.catchUp.dropped(Number(height));
      return 'later';
    }
    if (m.kind === 'vote' && !this.verify(m.vote)) return 'reject';
    if (rel === 'next' || this.state.status !== 'running') {
      if (this.buffer.length >= MAX_BUFFER) return 'later';
      this.buffer.push(m);
      return 'accept';
    }
    return this.receive(m);
  }

  /** A signature-checked message of the current height (or one buffered for it). */
  private async receive(m: ConsensusMessage): Promise<MessageVerdict> {
    if (m.kind === 'vote') {
      const sig = toHex(m.vote.signature);
      if (this.seen.has(sig)) return 'ignore';
      if (heightRelation(this.state, m.vote.vote.height) !== 'current') return 'ignore';
      if (!this.state.validators.some((v) => bytesEqual(v, m.vote.vote.validator))) return 'reject';
      this.seen.add(sig);
      await this.feed({ kind: 'vote', vote: m.vote });
      return 'accept';
    }
    const sig = toHex(m.sp.signature);
    if (this.seen.has(sig)) return 'ignore';
    if (heightRelation(this.state, m.sp.proposal.height) !== 'current') return 'ignore';
    const opened = openProposal(m.sp, this.config.chainId);
    if (typeof opened === 'string') {
      this.log(`refused a proposal: ${opened}`);
      return 'reject';
    }
    this.seen.add(sig);
    const hash = toHex(opened.proposal.blockHash);
    this.proposals.set(`${opened.proposal.round}/${hash}`, m.sp);
    if (!this.blocks.has(hash)) {
      this.blocks.set(hash, { block: opened.block, bytes: m.sp.block });
      await this.chain.preverify(opened.block);
    }
    const valid = await this.validate(hash);
    if (valid) await this.keepBlock(hash);
    await this.feed({ kind: 'proposal', proposal: proposalInput(opened.proposal, valid) });
    return 'accept';
  }

  /**
   * A bookkeeper may vote for this block, lock on it, and after a restart have to propose it
   * again: the core recovers the lock from the signing log, the block must come from disk. Synced
   * before any vote for it is signed (the guard's record may live in another store).
   */
  private async keepBlock(hash: string): Promise<void> {
    const e = this.blocks.get(hash)!;
    if (e.kept || this.state.self < 0) return;
    const key = `${PENDING_PREFIX}${hash}`;
    await this.io.store.write([{ key, value: e.bytes }], true);
    this.pendingKeys.add(key);
    e.kept = true;
  }

  /** Periodically: re-send what peers may have missed while stuck, and catch up when behind. */
  private tick(): void {
    if (this.stopped) return;
    const s = this.state;
    const progress = `${s.height}/${s.round}/${s.step}/${s.status}`;
    if (progress === this.lastProgress && s.status === 'running') {
      this.stuckTicks++;
      const g = gossip(s);
      for (const p of g.proposals) {
        const sp = this.proposals.get(`${p.round}/${toHex(p.blockHash)}`);
        if (sp) this.io.transport.publish({ kind: 'proposal', sp });
      }
      for (const vote of g.votes) this.io.transport.publish({ kind: 'vote', vote });
    } else this.stuckTicks = 0;
    this.lastProgress = progress;
    const req = this.catchUp.plan({ ledgerHeight: this.chain.height, stuckTicks: this.stuckTicks, peers: this.io.transport.peers(), now: this.io.clock.now() });
    if (req) this.sync(req);
    this.reportStall();
  }

  /** With no commit for stallReportMs: what this height is waiting for, as one warning. */
  private reportStall(): void {
    const logger = this.opts.logger;
    if (!logger) return;
    const now = this.io.clock.now();
    const every = this.opts.stallReportMs ?? Math.max(10_000, 20 * this.opts.commitDelayMs);
    if (now - this.lastCommitAt < every || now - this.lastStallReport < every) return;
    this.lastStallReport = now;
    logger.warn(
      stallFields(this.state, {
        since: now - this.lastCommitAt,
        busy: this.busy && `${this.busy.what} for ${now - this.busy.since} ms`,
        buffered: this.buffer.length,
        blocks: this.blocks.size,
        peers: this.io.transport.peers(),
        shown: this.catchUp.highestShown(this.io.transport.peers()),
        stuckTicks: this.stuckTicks,
        path: this.rounds.summary(),
      }),
      `no commit for ${Math.round((now - this.lastCommitAt) / 1000)} s: height ${this.state.height} round ${this.state.round} ${this.state.step} (${this.state.status})`,
    );
  }

  private sync(req: SyncRequest): void {
    this.io.transport.fetchBlocks(req.peer, req.from, SYNC_BATCH, (records) => {
      if (records instanceof Error) {
        this.log(`block sync from ${req.peer} failed: ${records.message}`);
        this.catchUp.finished(req, 'failed', this.io.clock.now());
        return;
      }
      if (records.length === 0) {
        this.catchUp.finished(req, 'empty', this.io.clock.now());
        return;
      }
      void this.run(async () => {
        // A peer that served a block we refuse is no better than one that does not answer.
        const ok = await this.applySync(records, req.peer);
        this.catchUp.finished(req, ok ? 'blocks' : 'failed', this.io.clock.now());
      }, 'synced blocks');
    });
  }

  /** Verifies and commits certified blocks a peer sent: each needs a valid certificate and must execute. False if one did not. */
  private async applySync(records: Uint8Array[], peer: string): Promise<boolean> {
    const before = this.chain.height;
    let ok = true;
    for (const bytes of records) {
      let cb;
      try {
        cb = decodeCommittedBlock(bytes);
      } catch {
        this.io.transport.penalize(peer, 'undecodable synced block');
        ok = false;
        break;
      }
      const height = Number(cb.block.header.height);
      if (height <= this.chain.height) continue;
      if (height !== this.chain.height + 1) break;
      const why =
        Number(cb.certificate.height) !== height
          ? 'certificate is for another height'
          : certificateError(this.config.chainId, cb.certificate, this.chain.bookkeepersAt(height), blockHash(cb.block.header));
      let executed: ExecutedHeight | undefined;
      let failure = why;
      if (!failure) {
        try {
          await this.chain.preverify(cb.block);
          executed = await this.chain.execute(cb.block);
        } catch (e) {
          if (!(e instanceof InvalidBlockError || e instanceof LedgerError)) throw e;
          failure = e.message;
        }
      }
      if (failure || !executed) {
        this.log(`refused synced block ${height} from ${peer}: ${failure}`);
        this.io.transport.penalize(peer, `bad synced block: ${failure}`);
        ok = false;
        break;
      }
      await this.commit(cb.block, cb.certificate, executed);
      this.synced++;
    }
    if (this.chain.height > before) {
      this.log(`caught up from height ${before} to ${this.chain.height} with blocks from ${peer}`);
      this.core.clear();
      // Blocks that came by sync are old: start the next height at once.
      await this.startHeight();
    }
    return ok;
  }

  /** What a peer that catches up gets from us: up to `count` committed blocks from `from` on. */
  async serveBlocks(from: number, count: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const last = Math.min(this.chain.height, from + count - 1);
    for (let h = Math.max(1, from); h <= last; h++) {
      const bytes = await this.chain.committedBlock(h);
      if (!bytes) break;
      out.push(bytes);
    }
    return out;
  }

  /** Any account may report equivocation; a node that sees it reports it once. */
  private submitEvidence(first: SignedVote, second: SignedVote): void {
    const id = `${toHex(first.vote.validator)}/${first.vote.height}/${first.vote.round}/${first.vote.type}`;
    if (this.evidenceSent.has(id)) return;
    this.evidenceSent.add(id);
    this.chain.reportEvidence(first, second);
  }
}

/**
 * A stalled height as log fields: per round, how many proposals, prevotes and precommits this
 * node holds (of how many bookkeepers) and whether it voted; its lock; what it is busy with; its
 * peers. Enough to tell "no messages arrive" from "messages arrive but do not add up".
 */
function stallFields(
  s: ConsensusState,
  o: { since: number; busy: string | undefined; buffered: number; blocks: number; peers: readonly string[]; shown: number; stuckTicks: number; path: string },
): Record<string, string | number | boolean> {
  const rounds = [...s.rounds.entries()]
    .sort(([a], [b]) => a - b)
    .slice(-6)
    .map(
      ([r, rs]) =>
        `r${r}: ${rs.proposals.size} proposal(s), ${rs.prevotes.first.size} prevote(s)${rs.votedPrevote ? ' incl. ours' : ''}, ${rs.precommits.first.size} precommit(s)${rs.votedPrecommit ? ' incl. ours' : ''}`,
    )
    .join('; ');
  const future = [...s.future.entries()].map(([r, who]) => `r${r}: ${who.length}`).join(', ');
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    status: s.status,
    self: s.self,
    bookkeepers: s.validators.length,
    lockedRound: s.lockedRound,
    validRound: s.validRound,
    awaitingBlock: s.awaitingBlock,
    rounds,
    future,
    path: o.path,
    msSinceCommit: o.since,
    busy: o.busy ?? 'idle',
    buffered: o.buffered,
    blocksHeld: o.blocks,
    peers: o.peers.length,
    peerIds: o.peers.map((p) => p.slice(-8)).join(','),
    peersShowHeight: o.shown,
    stuckTicks: o.stuckTicks,
  };
}

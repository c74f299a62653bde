import {
  CatchUp,
  decodeSignedProposal,
  DEVNET_TIMEOUTS,
  DoubleSignError,
  encodeSignedProposal,
  gossip,
  heightRelation,
  hostTickMs,
  CoreDriver,
  openProposal,
  ownVotes,
  RoundHistory,
  proposalInput,
  signProposal,
  SigningGuard,
  SYNC_FETCH_TIMEOUT_MS,
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
  type SignedProposal,
  type SyncRequest,
  type TimeoutKind,
} from '../consensus/index.ts';
import { randomBytes } from 'node:crypto';
import { addressFromPublicKey, bytesEqual, toHex, type KeyPair } from '../crypto/index.ts';
import {
  blockHash,
  certificateError,
  decodeBlock,
  decodeCommittedBlock,
  decodeSignedVote,
  encodeBlock,
  encodeSignedVote,
  InvalidBlockError,
  LedgerError,
  routeTx,
  signTx,
  signVote,
  TxKind,
  verifyVote,
  VoteType,
  type Block,
  type Certificate,
  type ExecutedHeight,
  type SignedVote,
  type Tx,
  type VoteBody,
} from '../ledger/index.ts';
import { createP2PNode, MAX_SYNC_COUNT, peerIdFromEd25519PublicKey, type P2PNode, type PeerInfo, type Verdict } from '../p2p/index.ts';
import { decode, encode } from '../codec/index.ts';
import type { KvOp } from '../store/index.ts';
import type { BuiltBlock, ZeusNode } from './node.ts';
import type { BlockProducer } from './producer.ts';

// The elected bookkeepers' block production: the consensus core (a pure state machine) hosted
// on a real node, with libp2p for proposals, votes and transactions, the node's ledger for
// validity, its store for commits and for serving blocks to peers that catch up, and the
// double-sign guard on the same store. sim/node.ts hosts the same core in the simulator.

export interface BftOptions {
  /** libp2p listen multiaddr, e.g. /ip4/127.0.0.1/tcp/26656. */
  listen: string;
  /** Multiaddrs (ending in /p2p/<peer id>) of the peers to dial and keep dialing. */
  bootstrap: string[];
  /** The pause after a commit before the next height starts: the block interval. */
  commitDelayMs: number;
  timeouts?: ConsensusConfig['timeouts'];
  /**
   * Test only: with every prevote also sign and send a conflicting one, so that the network's
   * evidence handling can be shown against a real process. Never set on a real node.
   */
  equivocate?: boolean;
  /**
   * Test only: never propose, so that rounds fail while every node runs and votes (to show the
   * slow-height warning against real processes). Never set on a real node.
   */
  withholdProposals?: boolean;
  log?: (msg: string) => void;
  /** Structured log for rounds: each round and step change at debug, slow heights as warnings. */
  logger?: RoundLogger;
}

/** The part of a pino logger the round log uses. */
export interface RoundLogger {
  debug(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface ConsensusStatus {
  height: number;
  round: number;
  step: string;
  /** 'running' while deciding a height; 'decided' during the pause after a commit. */
  status: string;
  validators: number;
  /** This node's index in the bookkeeper set of the height, or -1 when it only follows. */
  self: number;
  peerId: string;
  listen: string[];
  peers: PeerInfo[];
  /** Heights committed from peers' certified blocks rather than by taking part. */
  synced: number;
  lastCommitRound: number;
}

// In the consensus part, so that the simulator runs with them too.
export { DEVNET_TIMEOUTS };

/** How far ahead of our clock a proposed block's time may be. */
const MAX_CLOCK_DRIFT_MS = 5_000;
const PENDING_PREFIX = 'consensus/pending/';
const MAX_BUFFER = 4_000;
const SYNC_BATCH = 64;
const TX_BATCH_MS = 50;
const TX_BATCH_MAX = 512;
/** Refusals that make a transaction invalid anywhere, at any time. */
const INVALID_TX = new Set(['BAD_ENCODING', 'TX_TOO_LARGE', 'BAD_SIGNATURE', 'WRONG_CHAIN_ID', 'UNKNOWN_TX_KIND']);
const TxBatchSchema = { $id: 'TxBatch', fields: { txs: { id: 1, type: { array: 'bytes', max: TX_BATCH_MAX } } } } as const;

interface BlockEntry {
  readonly block: Block;
  readonly bytes: Uint8Array;
  built?: BuiltBlock;
  executed?: ExecutedHeight;
  valid?: boolean;
  /** Written to the pending blocks (so that a restart still holds it). */
  kept?: boolean;
}

type Message = { kind: 'proposal'; sp: SignedProposal } | { kind: 'vote'; vote: SignedVote };

export class BftProducer implements BlockProducer {
  private readonly node: ZeusNode;
  private readonly key: KeyPair;
  private readonly opts: BftOptions;
  private readonly config: ConsensusConfig;
  private p2p: P2PNode | undefined;
  private guard: SigningGuard | undefined;
  private readonly core: CoreDriver;
  private blocks = new Map<string, BlockEntry>();
  private proposals = new Map<string, SignedProposal>();
  private seen = new Set<string>();
  private buffer: Message[] = [];
  /** Serializes everything that touches the core, the ledger or the store. */
  private lock: Promise<unknown> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastProgress = '';
  private stuckTicks = 0;
  /** When and from whom to fetch committed blocks (shared with the simulator). */
  private readonly catchUp = new CatchUp();
  private synced = 0;
  private lastCommitRound = 0;
  private readonly evidenceSent = new Set<string>();
  private txBatch: Uint8Array[] = [];
  /** Store keys of the proposed blocks persisted at this height (removed once it commits). */
  private readonly pendingKeys = new Set<string>();
  private peersOfSet: { key: string; ids: Set<string> } = { key: '', ids: new Set() };
  private txFlush: NodeJS.Timeout | undefined;
  private readonly rounds = new RoundHistory();

  constructor(node: ZeusNode, key: KeyPair, opts: BftOptions) {
    this.node = node;
    this.key = key;
    this.opts = opts;
    this.config = { chainId: node.chainId, timeouts: opts.timeouts ?? DEVNET_TIMEOUTS };
    this.core = new CoreDriver(this.config, {
      act: (o) => this.act(o),
      started: async () => {
        for (const m of this.buffer.splice(0)) await this.receive(m);
      },
      running: () => !this.stopped,
    });
  }

  private get state(): ConsensusState {
    return this.core.state;
  }

  /** Opens the signing guard and the network, and joins consensus at the next height. */
  async open(): Promise<void> {
    this.guard = await SigningGuard.open(this.node.store.kv);
    this.p2p = await createP2PNode({
      listen: this.opts.listen,
      bootstrap: this.opts.bootstrap,
      privateKey: this.key.secretKey,
      chainId: this.node.chainId,
      fetchTimeoutMs: SYNC_FETCH_TIMEOUT_MS,
      serveBlocks: (from, count) => this.serveBlocks(from, count),
    });
    this.p2p.subscribe('txs', (data, from) => this.onTxBatch(data, from));
    this.p2p.subscribe('proposals', (data, from) => this.run(() => this.onMessage(data, from, 'proposal')));
    this.p2p.subscribe('votes', (data, from) => this.run(() => this.onMessage(data, from, 'vote')));
    this.node.onLocalTx = (bytes) => this.queueTx(bytes);
    await this.p2p.start();
  }

  start(): void {
    void this.run(() => this.startHeight(true));
    this.ticker = setInterval(() => void this.tick(), hostTickMs(this.opts.commitDelayMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.node.onLocalTx = undefined;
    this.flushTxs();
    await this.lock.catch(() => undefined);
    await this.p2p?.stop();
  }

  status(): ConsensusStatus {
    const s = this.state;
    return {
      height: s.height,
      round: s.round,
      step: s.step,
      status: s.status,
      validators: s.validators.length,
      self: s.self,
      peerId: this.p2p?.peerId ?? '',
      listen: this.p2p?.addresses() ?? [],
      peers: this.p2p?.peers() ?? [],
      synced: this.synced,
      lastCommitRound: this.lastCommitRound,
    };
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(() => (this.stopped ? (undefined as T) : fn()));
    this.lock = next.catch((e: unknown) => this.fatal(e));
    return next;
  }

  /** A failure to persist or an internal contradiction: stop rather than diverge from disk. */
  private fatal(e: unknown): void {
    this.node.halt('consensus', e);
    process.exitCode = 1;
    this.stopped = true;
    clearInterval(this.ticker);
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  // ---- heights ----

  private async startHeight(restoring = false): Promise<void> {
    const ledger = this.node.ledger;
    const height = ledger.height + 1;
    const validators = ledger.bookkeepersAt(height);
    this.blocks = new Map();
    this.proposals = new Map();
    this.seen = new Set();
    this.stuckTicks = 0;
    // After a restart, a block we proposed before the crash: needed to re-send the proposal we signed.
    if (restoring) await this.loadPendingBlocks(height);
    const self = validators.findIndex((v) => bytesEqual(v, this.key.publicKey));
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
    for await (const [key, bytes] of this.node.store.kv.entries(PENDING_PREFIX)) {
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
    if (stale.length > 0) await this.node.store.kv.write(stale, false);
  }

  /** After a restart: re-create what we signed at this height and feed it to the core and peers. */
  private async restoreOwnMessages(height: number): Promise<void> {
    const signed = this.guard!.signedAt(height);
    for (const e of signed) {
      if (e.step !== 'proposal') continue;
      const entry = this.blocks.get(toHex(e.blockHash));
      if (!entry || !bytesEqual(entry.block.header.proposer, this.key.publicKey)) continue;
      // The valid round of the original is not in the log; -1 is what a fresh block had.
      await this.sendProposal(e.round, e.blockHash, -1, entry);
    }
    for (const vote of ownVotes(signed, this.config.chainId, height, this.key.publicKey)) {
      const sv = signVote(this.key, vote);
      this.publish({ kind: 'vote', vote: sv });
      await this.feed({ kind: 'vote', vote: sv });
    }
  }

  // ---- the core ----

  private feed(input: ConsensusInput): Promise<void> {
    return this.core.feed(input);
  }

  private async act(o: ConsensusOutput): Promise<void> {
    if (this.opts.logger) for (const r of this.rounds.observe(o, Date.now())) this.opts.logger[r.level](r.fields, r.msg);
    switch (o.kind) {
      case 'buildBlock': {
        if (this.opts.withholdProposals) return;
        const built = this.node.buildBlock(Math.max(Date.now(), this.node.ledger.time + 1));
        const hash = blockHash(built.block.header);
        this.blocks.set(toHex(hash), { block: built.block, bytes: encodeBlock(built.block), built, executed: built.executed, valid: true });
        this.core.queue({ kind: 'blockReady', height: o.height, round: o.round, blockHash: hash });
        return;
      }
      case 'propose': {
        if (this.opts.withholdProposals) return;
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
        this.after(o.delayMs, () => this.feed({ kind: 'timeout', step: o.timeout as TimeoutKind, height: o.height, round: o.round }));
        return;
      case 'decide': {
        const entry = this.blocks.get(toHex(o.blockHash));
        if (!entry?.executed) throw new Error(`decided block ${toHex(o.blockHash)} that this node has not executed`);
        await this.commit(entry.block, o.certificate, entry.executed, entry.built);
        this.core.clear();
        this.after(this.opts.commitDelayMs, () => this.next());
        return;
      }
      case 'evidence':
        this.submitEvidence(o.first, o.second);
        return;
    }
  }

  private after(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.run(fn);
    }, ms);
    this.timers.add(t);
  }

  private async next(): Promise<void> {
    if (this.state.height !== this.node.ledger.height + 1 || this.state.status !== 'running') await this.startHeight();
  }

  private async sendProposal(round: number, hash: Uint8Array, validRound: number, entry: BlockEntry): Promise<void> {
    const height = this.state.height;
    const hex = toHex(hash);
    // The block must survive a crash once we sign for it; the guard's synced write flushes this one.
    const key = `${PENDING_PREFIX}${hex}`;
    await this.node.store.kv.write([{ key, value: entry.bytes }], false);
    this.pendingKeys.add(key);
    try {
      await this.guard!.authorize(height, round, 'proposal', hash);
    } catch (e) {
      if (!(e instanceof DoubleSignError)) throw e;
      this.log(`signing guard refused a proposal: ${e.message}`);
      return;
    }
    const p = { chainId: this.config.chainId, height: BigInt(height), round, blockHash: hash, validRound, proposer: this.key.publicKey };
    const sp = signProposal(this.key, p, entry.bytes);
    entry.kept = true;
    this.proposals.set(`${round}/${hex}`, sp);
    this.seen.add(toHex(sp.signature));
    this.publish({ kind: 'proposal', sp });
    await this.feed({ kind: 'proposal', proposal: proposalInput(p, this.validate(hex)) });
  }

  private async castVote(vote: VoteBody): Promise<void> {
    const kind = vote.type === VoteType.Prevote ? 'prevote' : 'precommit';
    try {
      await this.guard!.authorize(Number(vote.height), vote.round, kind, vote.blockHash);
    } catch (e) {
      if (!(e instanceof DoubleSignError)) throw e;
      this.log(`signing guard refused a ${kind}: ${e.message}`);
      return;
    }
    const sv = signVote(this.key, vote);
    this.seen.add(toHex(sv.signature));
    this.publish({ kind: 'vote', vote: sv });
    if (this.opts.equivocate && vote.type === VoteType.Prevote) {
      // Deliberately bypasses the guard: this is the fault the test wants the network to catch.
      const other = vote.blockHash.length > 0 ? new Uint8Array(0) : new Uint8Array(randomBytes(32));
      this.publish({ kind: 'vote', vote: signVote(this.key, { ...vote, blockHash: other }) });
      this.log(`equivocated: a second prevote at height ${vote.height} round ${vote.round}`);
    }
    await this.feed({ kind: 'vote', vote: sv });
  }

  private async commit(block: Block, certificate: Certificate, executed: ExecutedHeight, built?: BuiltBlock): Promise<void> {
    await this.node.commitBlock(block, certificate, executed, built?.rejected);
    this.lastCommitRound = certificate.round;
    if (this.pendingKeys.size > 0) {
      await this.node.store.kv.write([...this.pendingKeys].map((key) => ({ key, value: null })), false);
      this.pendingKeys.clear();
    }
  }

  /** valid(v): whether our ledger executes the block, and its time is not from the future. */
  private validate(hash: string): boolean {
    const e = this.blocks.get(hash)!;
    if (e.valid === undefined) {
      if (Number(e.block.header.time) > Date.now() + MAX_CLOCK_DRIFT_MS) {
        this.log(`block ${hash.slice(0, 12)} is timed ${Number(e.block.header.time) - Date.now()} ms in the future: prevoting nil`);
        e.valid = false;
        return false;
      }
      try {
        e.executed = this.node.ledger.executeBlock(e.block, true, this.node.knownTxs);
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

  private bookkeeperPeers(): Set<string> {
    const key = this.state.validators.map(toHex).join();
    if (key !== this.peersOfSet.key) this.peersOfSet = { key, ids: new Set(this.state.validators.map(peerIdFromEd25519PublicKey)) };
    return this.peersOfSet.ids;
  }

  private publish(m: Message): void {
    const p2p = this.p2p;
    if (!p2p) return;
    const send = m.kind === 'proposal' ? p2p.publish('proposals', encodeSignedProposal(m.sp)) : p2p.publish('votes', encodeSignedVote(m.vote));
    send.catch((e: unknown) => this.log(`could not publish a ${m.kind}: ${(e as Error).message}`));
  }

  /**
   * Transactions travel in batches: one gossip message per few milliseconds instead of one per
   * transaction, because each message costs an encryption, a frame and a hash per peer.
   */
  private queueTx(bytes: Uint8Array): void {
    this.txBatch.push(bytes);
    if (this.txBatch.length >= TX_BATCH_MAX) this.flushTxs();
    else this.txFlush ??= setTimeout(() => this.flushTxs(), TX_BATCH_MS);
  }

  private flushTxs(): void {
    clearTimeout(this.txFlush);
    this.txFlush = undefined;
    if (this.txBatch.length === 0 || !this.p2p) return;
    const txs = this.txBatch;
    this.txBatch = [];
    this.p2p.publish('txs', encode(TxBatchSchema, { txs })).catch((e: unknown) => this.log(`could not gossip transactions: ${(e as Error).message}`));
  }

  private async onTxBatch(data: Uint8Array, from: string): Promise<Verdict> {
    this.catchUp.heard(from, Date.now());
    let txs: Uint8Array[];
    try {
      txs = decode(TxBatchSchema, data).txs;
    } catch {
      return 'reject';
    }
    if (txs.length === 0) return 'reject';
    const results = await this.node.submitMany(txs, { fromPeer: true });
    let accepted = false;
    for (const r of results) {
      if (!(r instanceof LedgerError)) accepted = true;
      // Invalid in itself: scores the sender down (an honest node checked it before gossiping).
      else if (INVALID_TX.has(r.code)) return 'reject';
    }
    // Already known or not valid on our state (yet): nothing to pass on, nothing to blame.
    if (!accepted) return 'ignore';
    // Bookkeepers dial each other directly: what one of them gossips has reached the others, so
    // relaying it would only multiply traffic. What comes from other peers is passed on.
    return this.bookkeeperPeers().has(from) ? 'keep' : 'accept';
  }

  private async onMessage(data: Uint8Array, from: string, kind: Message['kind']): Promise<Verdict> {
    let m: Message;
    let height: bigint;
    let chainId: string;
    try {
      if (kind === 'proposal') {
        const sp = decodeSignedProposal(data);
        m = { kind, sp };
        height = sp.proposal.height;
        chainId = sp.proposal.chainId;
      } else {
        const vote = decodeSignedVote(data);
        m = { kind, vote };
        height = vote.vote.height;
        chainId = vote.vote.chainId;
      }
    } catch {
      return 'reject';
    }
    if (chainId !== this.config.chainId) return 'reject';
    this.catchUp.showed(from, Number(height), Date.now());
    const rel = heightRelation(this.state, height);
    if (rel === 'past') return 'ignore';
    // A height we cannot decide yet: when we get there, a copy its peers re-send must reach us
    // (the p2p layer would drop it as already seen).
    if (rel === 'ahead') {
      this.catchUp.dropped(Number(height));
      return 'later';
    }
    if (m.kind === 'vote' && !verifyVote(m.vote)) return 'reject';
    if (rel === 'next' || this.state.status !== 'running') {
      if (this.buffer.length >= MAX_BUFFER) return 'later';
      this.buffer.push(m);
      return 'accept';
    }
    return this.receive(m);
  }

  /** A signature-checked message of the current height (or one buffered for it). */
  private async receive(m: Message): Promise<Verdict> {
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
      await this.node.preverifyBlock(opened.block);
    }
    const valid = this.validate(hash);
    if (valid) await this.keepBlock(hash);
    await this.feed({ kind: 'proposal', proposal: proposalInput(opened.proposal, valid) });
    return 'accept';
  }

  /**
   * A bookkeeper may vote for this block, lock on it, and after a restart have to propose it
   * again: the core recovers the lock from the signing log, the block must come from disk. The
   * write is not synced; the signing guard's synced write before any vote makes it durable.
   */
  private async keepBlock(hash: string): Promise<void> {
    const e = this.blocks.get(hash)!;
    if (e.kept || this.state.self < 0) return;
    const key = `${PENDING_PREFIX}${hash}`;
    await this.node.store.kv.write([{ key, value: e.bytes }], false);
    this.pendingKeys.add(key);
    e.kept = true;
  }

  /** Periodically: re-send what peers may have missed while stuck, and catch up when behind. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const s = this.state;
    const progress = `${s.height}/${s.round}/${s.step}/${s.status}`;
    if (progress === this.lastProgress && s.status === 'running') {
      this.stuckTicks++;
      const g = gossip(s);
      for (const p of g.proposals) {
        const sp = this.proposals.get(`${p.round}/${toHex(p.blockHash)}`);
        if (sp) this.publish({ kind: 'proposal', sp });
      }
      for (const vote of g.votes) this.publish({ kind: 'vote', vote });
    } else this.stuckTicks = 0;
    this.lastProgress = progress;
    const p2p = this.p2p;
    if (!p2p) return;
    const peers = p2p.peers().filter((p) => p.connected && !p.banned).map((p) => p.id);
    const req = this.catchUp.plan({ ledgerHeight: this.node.ledger.height, stuckTicks: this.stuckTicks, peers, now: Date.now() });
    if (req) await this.sync(p2p, req);
  }

  private async sync(p2p: P2PNode, req: SyncRequest): Promise<void> {
    let outcome: 'blocks' | 'empty' | 'failed' = 'failed';
    try {
      const records = await p2p.fetchBlocks(req.peer, req.from, SYNC_BATCH);
      // A peer that served a block we refuse is no better than one that does not answer.
      const refused = records.length > 0 && !(await this.run(() => this.applySync(records, req.peer)));
      outcome = refused ? 'failed' : records.length > 0 ? 'blocks' : 'empty';
    } catch (e) {
      this.log(`block sync from ${req.peer} failed: ${(e as Error).message}`);
    } finally {
      this.catchUp.finished(req, outcome, Date.now());
    }
  }

  /** Verifies and commits certified blocks a peer sent: each needs a valid certificate and must execute. False if one did not. */
  private async applySync(records: Uint8Array[], peer: string): Promise<boolean> {
    const ledger = this.node.ledger;
    const before = ledger.height;
    let ok = true;
    for (const bytes of records) {
      let cb;
      try {
        cb = decodeCommittedBlock(bytes);
      } catch {
        this.p2p?.penalize(peer, 'undecodable synced block');
        ok = false;
        break;
      }
      const height = Number(cb.block.header.height);
      if (height <= ledger.height) continue;
      if (height !== ledger.height + 1) break;
      const why =
        Number(cb.certificate.height) !== height
          ? 'certificate is for another height'
          : certificateError(this.config.chainId, cb.certificate, ledger.bookkeepersAt(height), blockHash(cb.block.header));
      let executed: ExecutedHeight | undefined;
      let failure = why;
      if (!failure) {
        try {
          await this.node.preverifyBlock(cb.block);
          executed = ledger.executeBlock(cb.block, true, this.node.knownTxs);
        } catch (e) {
          if (!(e instanceof InvalidBlockError || e instanceof LedgerError)) throw e;
          failure = e.message;
        }
      }
      if (failure || !executed) {
        this.log(`refused synced block ${height} from ${peer}: ${failure}`);
        this.p2p?.penalize(peer, `bad synced block: ${failure}`);
        ok = false;
        break;
      }
      await this.commit(cb.block, cb.certificate, executed);
      this.synced++;
    }
    if (ledger.height > before) {
      this.log(`caught up from height ${before} to ${ledger.height} with blocks from ${peer}`);
      this.core.clear();
      // Blocks that came by sync are old: start the next height at once.
      await this.startHeight();
    }
    return ok;
  }

  private async serveBlocks(from: number, count: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const last = Math.min(this.node.ledger.height, from + Math.min(count, MAX_SYNC_COUNT) - 1);
    for (let h = Math.max(1, from); h <= last; h++) {
      const bytes = await this.node.store.committedBlockBytes(h);
      if (!bytes) break;
      out.push(bytes);
    }
    return out;
  }

  /** Any account may report equivocation; a node that sees it reports it with its own key. */
  private submitEvidence(first: SignedVote, second: SignedVote): void {
    const id = `${toHex(first.vote.validator)}/${first.vote.height}/${first.vote.round}/${first.vote.type}`;
    if (this.evidenceSent.has(id)) return;
    this.evidenceSent.add(id);
    const from = addressFromPublicKey(this.key.publicKey);
    const hex = toHex(from);
    const chain = routeTx(TxKind.SubmitEvidence, from);
    const pending = this.node.mempool.list().filter((t: Tx) => t.fromHex === hex && t.chain === chain).length;
    const nonce = this.node.reader.nextNonce(chain, hex) + BigInt(pending);
    const bytes = signTx(this.key, {
      chainId: this.config.chainId,
      kind: TxKind.SubmitEvidence,
      nonce,
      payload: { first: encodeSignedVote(first), second: encodeSignedVote(second) },
    });
    this.log(`equivocation by ${toHex(first.vote.validator).slice(0, 12)} at height ${first.vote.height} round ${first.vote.round}: submitting evidence`);
    this.node.submit(bytes).catch((e: unknown) => this.log(`evidence not accepted: ${(e as Error).message}`));
  }
}


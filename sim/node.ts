import { addressFromPublicKey, bytesEqual, toHex, type KeyPair } from '../src/crypto/index.ts';
import {
  CatchUp,
  DoubleSignError,
  heightRelation,
  gossip,
  proposerIndex,
  CoreDriver,
  RoundHistory,
  openProposal,
  ownVotes,
  proposalInput,
  signProposal,
  SigningGuard,
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusOutput,
  type CatchUpTiming,
  type ConsensusState,
  type SignedProposal,
  type SyncOutcome,
  type SyncRequest,
} from '../src/consensus/index.ts';
import {
  blockHash,
  certificateError,
  decodeBlock,
  decodeCommittedBlock,
  decodeTx,
  encodeBlock,
  encodeCommittedBlock,
  homeChain,
  InvalidBlockError,
  Ledger,
  LedgerError,
  readAccount,
  signTx,
  signVote,
  TxKind,
  VoteType,
  ZNC,
  type Block,
  type Certificate,
  type ExecutedHeight,
  type Genesis,
  type SignedVote,
  type VoteBody,
} from '../src/ledger/index.ts';
import type { KvOp } from '../src/store/kv.ts';
import type { SimDisk } from './disk.ts';
import type { Rng } from './prng.ts';

// One simulated node: a host around the consensus core, as the real node will be. It owns the
// ledger, the double-sign guard and the disk, turns core outputs into messages, timers and
// commits, gossips while a height is stuck, and syncs committed blocks from peers when behind.

export type Behavior = 'honest' | 'silent' | 'equivocate' | 'amnesia';

export type TimerInput = ConsensusInput | 'tick' | 'next' | { readonly kind: 'syncTimeout'; readonly id: number };

export type SimMessage =
  | { readonly kind: 'proposal'; readonly sp: SignedProposal }
  | { readonly kind: 'vote'; readonly vote: SignedVote }
  | { readonly kind: 'getBlocks'; readonly id: number; readonly from: number; readonly count: number }
  | { readonly kind: 'blocks'; readonly id: number; readonly items: readonly Uint8Array[] };

/** What a node needs from the simulated world. */
export interface World {
  readonly now: number;
  readonly genesis: Genesis;
  readonly n: number;
  readonly tickMs: number;
  /** Pause between committing a height and starting the next (the block interval; CometBFT's timeout_commit). */
  readonly commitDelayMs: number;
  /** How long a block fetch may take before the node gives up on it (the p2p layer's fetch timeout). */
  readonly fetchTimeoutMs: number;
  readonly catchUpTiming: CatchUpTiming;
  /** Names and keys of the funded accounts that proposers draw transfers from. */
  readonly wallets: readonly KeyPair[];
  send(from: number, to: number, msg: SimMessage): void;
  /** The peers `node` has a connection to: those whose process runs (a paused one included). */
  connected(node: number): number[];
  setTimer(node: number, epoch: number, delayMs: number, input: TimerInput): void;
  /** The transaction load a block built now by `node` carries (0 without load); recorded with `loaded`. */
  takeLoad(node: SimNode): number;
  /** Records the (simulated) number of transactions in a block. */
  loaded(hash: string, txs: number): void;
  /** The simulated number of transactions in a block (what it costs to send and execute). */
  loadOf(hash: string): number;
  /** CPU time to execute a block of `txs` transactions. */
  execMs(txs: number): number;
  /** Checked before a node commits; throws a SafetyViolation when something is wrong. */
  beforeCommit(node: SimNode, block: Block, certificate: Certificate): void;
  afterCommit(node: SimNode, block: Block): void;
  onEvidence(node: SimNode, first: SignedVote, second: SignedVote): void;
  verifyVote(v: SignedVote): boolean;
  /** The simulation's node index of a bookkeeper key (-1 if none). */
  indexOf(publicKey: Uint8Array): number;
  log(node: number, what: string): void;
}

interface BlockEntry {
  readonly block: Block;
  readonly bytes: Uint8Array;
  executed?: ExecutedHeight;
  valid?: boolean;
}

const blockKey = (h: number): string => `block/${String(h).padStart(12, '0')}`;
const pendingKey = (hash: string): string => `pending/${hash}`;
const MAX_BUFFER = 2000;
const SYNC_BATCH = 64;

export class SimNode {
  readonly index: number;
  readonly key: KeyPair;
  readonly behavior: Behavior;
  readonly disk: SimDisk;
  readonly config: ConsensusConfig;
  private readonly world: World;
  private readonly rng: Rng;

  up = false;
  epoch = 0;
  ledger!: Ledger;
  private readonly core: CoreDriver;
  private guard: SigningGuard | undefined;
  /** Encoded committed blocks (block + certificate) by height − 1: what this node serves to syncing peers. */
  committed: Uint8Array[] = [];
  private blocks = new Map<string, BlockEntry>();
  private proposals = new Map<string, SignedProposal>();
  private buffer: { from: number; msg: SimMessage }[] = [];
  private seen = new Set<string>();
  private catchUp: CatchUp;
  private fetches = new Map<number, SyncRequest>();
  private nextFetch = 0;
  private stuckTicks = 0;
  private lastProgress = '';
  private rounds = new RoundHistory();
  /** CPU time spent in the event being handled: later sends and timers start after it. */
  cpuMs = 0;
  /** Transactions (simulated) in the blocks this node committed. */
  committedTxs = 0;
  /** Rounds (of the current height) in which this node decided, for statistics. */
  decisions: { height: number; round: number; time: number }[] = [];
  guardRefusals = 0;
  rejectedSyncs = 0;

  constructor(index: number, key: KeyPair, behavior: Behavior, disk: SimDisk, config: ConsensusConfig, world: World, rng: Rng) {
    this.index = index;
    this.key = key;
    this.behavior = behavior;
    this.disk = disk;
    this.config = behavior === 'amnesia' ? { ...config, faults: { ...config.faults, ignoreLocks: true } } : config;
    this.world = world;
    this.rng = rng;
    this.catchUp = new CatchUp(world.catchUpTiming);
    this.core = new CoreDriver(this.config, {
      act: (o) => this.act(o),
      started: async () => {
        for (const m of this.buffer.splice(0)) await this.receiveConsensus(m.from, m.msg);
      },
      running: () => this.up,
    });
  }

  get state(): ConsensusState {
    return this.core.state;
  }

  get honest(): boolean {
    return this.behavior === 'honest';
  }

  /** Starts (or restarts) the process from what its disk holds. */
  async boot(): Promise<void> {
    this.up = true;
    this.epoch++;
    this.ledger = Ledger.fromGenesis(this.world.genesis);
    this.committed = [];
    this.committedTxs = 0;
    for (const [, bytes] of this.disk.entriesSync('block/')) {
      const cb = decodeCommittedBlock(bytes);
      this.committedTxs += this.world.loadOf(toHex(blockHash(cb.block.header)));
      // Our own synced blocks, verified before they were written: replay without re-checking signatures.
      const executed = this.ledger.executeBlock(cb.block, false);
      this.world.beforeCommit(this, cb.block, cb.certificate);
      this.ledger.commit(executed, cb.block.header, cb.certificate);
      this.committed.push(bytes);
      this.world.afterCommit(this, cb.block);
    }
    this.guard = this.behavior === 'honest' ? await SigningGuard.open(this.disk) : undefined;
    this.core.reset();
    this.rounds = new RoundHistory();
    this.buffer = [];
    this.catchUp = new CatchUp(this.world.catchUpTiming);
    this.fetches = new Map();
    this.stuckTicks = 0;
    this.lastProgress = '';
    await this.startHeight(true);
    this.world.setTimer(this.index, this.epoch, this.rng.int(1, this.world.tickMs), 'tick');
  }

  crash(): void {
    this.up = false;
    this.epoch++;
  }

  // ---- heights ----

  private async startHeight(restoring = false): Promise<void> {
    const height = this.ledger.height + 1;
    const validators = this.ledger.bookkeepersAt(height);
    this.blocks = new Map();
    this.proposals = new Map();
    this.seen = new Set();
    const pending: KvOp[] = [];
    for (const [key, bytes] of this.disk.entriesSync('pending/')) {
      const block = decodeBlock(bytes);
      if (Number(block.header.height) === height) this.blocks.set(toHex(blockHash(block.header)), { block, bytes });
      else pending.push({ key, value: null });
    }
    if (pending.length > 0) await this.disk.write(pending, false);
    const self = validators.findIndex((v) => bytesEqual(v, this.key.publicKey));
    await this.feed({ kind: 'start', height, validators, self });
    if (restoring && this.guard) await this.restoreOwnMessages(height);
  }

  /** After a restart: re-create what we signed at this height and feed it to the core (and peers). */
  private async restoreOwnMessages(height: number): Promise<void> {
    const signed = this.guard!.signedAt(height);
    for (const e of signed) {
      if (e.step !== 'proposal') continue;
      const entry = this.blocks.get(toHex(e.blockHash));
      // The validRound of the original proposal is not in the log; -1 is what a fresh block had.
      if (!entry || !bytesEqual(entry.block.header.proposer, this.key.publicKey)) continue;
      await this.sendProposal(e.round, e.blockHash, -1, entry);
    }
    for (const vote of ownVotes(signed, this.config.chainId, height, this.key.publicKey)) {
      const sv = signVote(this.key, vote);
      this.broadcast({ kind: 'vote', vote: sv });
      await this.feed({ kind: 'vote', vote: sv });
    }
  }

  // ---- the core ----

  private feed(input: ConsensusInput): Promise<void> {
    return this.core.feed(input);
  }

  private async act(o: ConsensusOutput): Promise<void> {
    // What the node logs about rounds (round changes with their reasons, slow heights).
    for (const r of this.rounds.observe(o, this.world.now)) {
      if (r.msg !== 'consensus step') this.world.log(this.index, `${r.level === 'warn' ? 'WARN ' : ''}${r.msg} ${JSON.stringify(r.fields)}`);
    }
    switch (o.kind) {
      case 'buildBlock': {
        const hash = blockHash(this.build(0).header);
        this.core.queue({ kind: 'blockReady', height: o.height, round: o.round, blockHash: hash });
        return;
      }
      case 'propose': {
        if (this.behavior === 'equivocate') {
          await this.equivocate(o.round);
          return;
        }
        const entry = this.blocks.get(toHex(o.blockHash));
        if (!entry) {
          this.world.log(this.index, `cannot propose ${toHex(o.blockHash).slice(0, 8)}: block lost`);
          return;
        }
        await this.sendProposal(o.round, o.blockHash, o.validRound, entry);
        return;
      }
      case 'castVote':
        await this.castVote(o.vote);
        return;
      case 'schedule':
        this.world.setTimer(this.index, this.epoch, o.delayMs, { kind: 'timeout', step: o.timeout, height: o.height, round: o.round });
        return;
      case 'decide': {
        const entry = this.blocks.get(toHex(o.blockHash));
        if (!entry?.executed) throw new Error(`node ${this.index} decided block ${toHex(o.blockHash)} it has not executed`);
        this.decisions.push({ height: o.height, round: o.round, time: this.world.now });
        this.world.log(this.index, `decide h=${o.height} r=${o.round} ${toHex(o.blockHash).slice(0, 8)}`);
        await this.commit(entry.block, o.certificate, entry.executed);
        this.core.clear();
        this.world.setTimer(this.index, this.epoch, this.world.commitDelayMs, 'next');
        return;
      }
      case 'evidence':
        this.world.onEvidence(this, o.first, o.second);
        return;
    }
  }

  /** Builds a block with a few transfers on the committed ledger; `variant` makes a different one. */
  private build(variant: number): Block {
    const load = this.world.takeLoad(this);
    this.cpuMs += this.world.execMs(load);
    const exec = this.ledger.begin(this.world.now + variant);
    const nonces = new Map<string, bigint>();
    const count = this.rng.int(0, 3);
    for (let i = 0; i < count; i++) {
      const from = this.rng.pick(this.world.wallets);
      const to = this.rng.pick(this.world.wallets);
      const addr = addressFromPublicKey(from.publicKey);
      const hex = toHex(addr);
      const nonce = nonces.get(hex) ?? readAccount(this.ledger.chains[homeChain(addr)], hex).nonce;
      const tx = decodeTx(
        signTx(from, {
          chainId: this.config.chainId,
          kind: TxKind.Transfer,
          nonce,
          payload: { to: addressFromPublicKey(to.publicKey), token: ZNC, amount: BigInt(this.rng.int(1, 1_000_000)), memo: '' },
        }),
      );
      if (!exec.tryApply(tx)) nonces.set(hex, nonce + 1n);
    }
    const executed = exec.finish();
    const block = this.ledger.blockFor(executed, this.key.publicKey);
    const bytes = encodeBlock(block);
    this.blocks.set(toHex(blockHash(block.header)), { block, bytes, executed, valid: true });
    this.world.loaded(toHex(blockHash(block.header)), load);
    return block;
  }

  /**
   * A faulty proposer's turn: two fresh blocks, whatever the core would re-propose, each signed
   * and sent to half of the peers. This is what locks exist for.
   */
  private async equivocate(round: number): Promise<void> {
    const height = this.state.height;
    const [a, b] = [this.build(0), this.build(1)].map((block) => {
      const p = { chainId: this.config.chainId, height: BigInt(height), round, blockHash: blockHash(block.header), validRound: -1, proposer: this.key.publicKey };
      const sp = signProposal(this.key, p, encodeBlock(block));
      this.proposals.set(`${round}/${toHex(p.blockHash)}`, sp);
      return { p, sp };
    });
    this.world.log(this.index, `equivocating proposals h=${height} r=${round}`);
    // The classic attack on locking: the next round's proposer sees another block, so it will
    // have no valid value and propose a fresh one, while the others may lock on ours.
    const next = this.nextProposer();
    this.split({ kind: 'proposal', sp: a.sp }, { kind: 'proposal', sp: b.sp }, (to) => to !== next);
    await this.feed({ kind: 'proposal', proposal: proposalInput(a.p, true) });
  }

  private async sendProposal(round: number, hash: Uint8Array, validRound: number, entry: BlockEntry): Promise<void> {
    const height = this.state.height;
    const hex = toHex(hash);
    if (this.guard) {
      // The block must survive a crash if we sign for it: the guard's synced write flushes this one.
      await this.disk.write([{ key: pendingKey(hex), value: entry.bytes }], false);
      try {
        await this.guard.authorize(height, round, 'proposal', hash);
      } catch (e) {
        if (!(e instanceof DoubleSignError)) throw e;
        this.guardRefusals++;
        return;
      }
    }
    const p = { chainId: this.config.chainId, height: BigInt(height), round, blockHash: hash, validRound, proposer: this.key.publicKey };
    this.world.log(this.index, `propose h=${height} r=${round} ${hex.slice(0, 8)} vr=${validRound}`);
    const sp = signProposal(this.key, p, entry.bytes);
    this.proposals.set(`${round}/${hex}`, sp);
    this.broadcast({ kind: 'proposal', sp });
    this.seen.add(toHex(sp.signature));
    await this.feed({ kind: 'proposal', proposal: proposalInput(p, this.validate(hex)) });
  }

  private async castVote(vote: VoteBody): Promise<void> {
    if (this.guard) {
      const step = vote.type === VoteType.Prevote ? 'prevote' : 'precommit';
      try {
        await this.guard.authorize(Number(vote.height), vote.round, step, vote.blockHash);
      } catch (e) {
        if (!(e instanceof DoubleSignError)) throw e;
        this.guardRefusals++;
        this.world.log(this.index, `guard refused ${step} r=${vote.round}: ${e.message}`);
        return;
      }
    }
    const sv = signVote(this.key, vote);
    this.world.log(this.index, `${vote.type === VoteType.Prevote ? 'prevote' : 'precommit'} h=${vote.height} r=${vote.round} ${toHex(vote.blockHash).slice(0, 8) || 'nil'}`);
    this.seen.add(toHex(sv.signature));
    if (this.behavior === 'equivocate') {
      // A conflicting vote too: nil instead of a block, another block instead of nil. A prevote
      // for a block goes to all but the next proposer; a precommit for a block to one victim only
      // (which may then decide alone while the others move on), or to a random half.
      const others = [...this.blocks.keys()].filter((h) => h !== toHex(vote.blockHash));
      const alt = vote.blockHash.length > 0 ? new Uint8Array(0) : others.length > 0 ? Buffer.from(this.rng.pick(others), 'hex') : new Uint8Array(32).fill(this.rng.int(0, 255));
      const altVote: SimMessage = { kind: 'vote', vote: signVote(this.key, { ...vote, blockHash: new Uint8Array(alt) }) };
      const next = this.nextProposer();
      const victim = this.rng.int(0, this.world.n - 1);
      const mode = this.rng.int(0, 2);
      const real = (to: number): boolean =>
        mode === 0 ? this.rng.chance(0.5) : vote.type === VoteType.Prevote ? to !== next : vote.blockHash.length === 0 || to === victim;
      this.split({ kind: 'vote', vote: sv }, altVote, real);
    } else this.broadcast({ kind: 'vote', vote: sv });
    await this.feed({ kind: 'vote', vote: sv });
  }

  private async commit(block: Block, certificate: Certificate, executed: ExecutedHeight): Promise<void> {
    this.world.beforeCommit(this, block, certificate);
    const height = Number(block.header.height);
    const bytes = encodeCommittedBlock({ block, certificate });
    const ops: KvOp[] = [{ key: blockKey(height), value: bytes }];
    for (const [key] of this.disk.entriesSync('pending/')) ops.push({ key, value: null });
    await this.disk.write(ops, true);
    this.ledger.commit(executed, block.header, certificate);
    this.committed.push(bytes);
    this.committedTxs += this.world.loadOf(toHex(blockHash(block.header)));
    this.world.afterCommit(this, block);
  }

  /** valid(v): whether our ledger executes the block (computed once per block). */
  private validate(hash: string): boolean {
    const e = this.blocks.get(hash)!;
    if (e.valid === undefined) {
      this.cpuMs += this.world.execMs(this.world.loadOf(hash));
      try {
        e.executed = this.ledger.executeBlock(e.block);
        e.valid = true;
      } catch (err) {
        if (!(err instanceof InvalidBlockError || err instanceof LedgerError)) throw err;
        e.valid = false;
      }
    }
    return e.valid;
  }

  // ---- network ----

  private broadcast(msg: SimMessage): void {
    if (this.behavior === 'silent') return;
    for (let to = 0; to < this.world.n; to++) if (to !== this.index) this.world.send(this.index, to, msg);
  }

  /** An equivocator's two versions of one message: `a` to the peers `toA` picks, `b` to the others. */
  private split(a: SimMessage, b: SimMessage, toA: (to: number) => boolean): void {
    for (let to = 0; to < this.world.n; to++) if (to !== this.index) this.world.send(this.index, to, toA(to) ? a : b);
  }

  private nextProposer(): number {
    const s = this.state;
    const key = s.validators[proposerIndex(s.height, s.round + 1, s.validators.length)];
    return this.world.indexOf(key);
  }

  /** Handles a message; 'later' tells the network layer to hand a copy sent again over again. */
  async receive(from: number, msg: SimMessage): Promise<'later' | undefined> {
    if (!this.up) return undefined;
    this.catchUp.heard(String(from), this.world.now);
    switch (msg.kind) {
      case 'getBlocks': {
        if (this.behavior === 'silent') return undefined;
        let items = this.committed.slice(msg.from - 1, msg.from - 1 + msg.count);
        if (this.behavior === 'equivocate') items = items.map((b, i) => (i === 0 ? this.forge(b) : b));
        // An empty answer too, as the p2p layer closes the stream with no records.
        this.world.send(this.index, from, { kind: 'blocks', id: msg.id, items });
        return undefined;
      }
      case 'blocks': {
        const req = this.fetches.get(msg.id);
        if (!req) return undefined; // timed out already
        this.fetches.delete(msg.id);
        const refused = msg.items.length > 0 && !(await this.applySync(msg.items));
        this.finishFetch(req, refused ? 'failed' : msg.items.length > 0 ? 'blocks' : 'empty');
        return undefined;
      }
      default:
        return this.receiveConsensus(from, msg);
    }
  }

  /** A faulty peer's attempt to feed a syncing node a block it cannot verify. */
  private forge(bytes: Uint8Array): Uint8Array {
    const cb = decodeCommittedBlock(bytes);
    const header = { ...cb.block.header, time: cb.block.header.time + 1n };
    return encodeCommittedBlock({ block: { ...cb.block, header }, certificate: cb.certificate });
  }

  private async receiveConsensus(from: number, msg: SimMessage): Promise<'later' | undefined> {
    if (msg.kind !== 'proposal' && msg.kind !== 'vote') return undefined;
    const height = msg.kind === 'proposal' ? msg.sp.proposal.height : msg.vote.vote.height;
    // As the node does (src/node/bft.ts onMessage): a later height is a hint to catch up.
    this.catchUp.showed(String(from), Number(height), this.world.now);
    const rel = heightRelation(this.state, height);
    if (rel === 'past') return undefined;
    if (rel === 'ahead') {
      this.catchUp.dropped(Number(height));
      return 'later';
    }
    if (rel === 'next' || this.state.status !== 'running') {
      if (this.buffer.length >= MAX_BUFFER) return 'later';
      this.buffer.push({ from, msg });
      return undefined;
    }
    const sig = toHex(msg.kind === 'proposal' ? msg.sp.signature : msg.vote.signature);
    if (this.seen.has(sig)) return undefined;
    if (msg.kind === 'vote') {
      this.seen.add(sig);
      if (msg.vote.vote.chainId !== this.config.chainId || !this.world.verifyVote(msg.vote)) return undefined;
      await this.feed({ kind: 'vote', vote: msg.vote });
      return undefined;
    }
    // A relay could pair a signed proposal with the wrong block bytes: only a usable one counts as seen.
    const opened = openProposal(msg.sp, this.config.chainId);
    if (typeof opened === 'string') return undefined;
    this.seen.add(sig);
    const hash = toHex(opened.proposal.blockHash);
    this.proposals.set(`${opened.proposal.round}/${hash}`, msg.sp);
    if (!this.blocks.has(hash)) {
      this.blocks.set(hash, { block: opened.block, bytes: msg.sp.block });
      if (this.guard) await this.disk.write([{ key: pendingKey(hash), value: msg.sp.block }], false);
    }
    await this.feed({ kind: 'proposal', proposal: proposalInput(opened.proposal, this.validate(hash)) });
    return undefined;
  }

  async onTimer(input: TimerInput): Promise<void> {
    if (!this.up) return;
    if (input === 'next') {
      // Start the height after the committed one, unless that already happened.
      if (this.state.height !== this.ledger.height + 1 || this.state.status !== 'running') await this.startHeight();
      return;
    }
    if (typeof input === 'object' && input.kind === 'syncTimeout') {
      const req = this.fetches.get(input.id);
      if (!req) return;
      this.fetches.delete(input.id);
      this.world.log(this.index, `block fetch from node ${req.peer} timed out`);
      this.finishFetch(req, 'failed');
      return;
    }
    if (input !== 'tick') {
      await this.feed(input);
      return;
    }
    this.world.setTimer(this.index, this.epoch, this.world.tickMs, 'tick');
    const s = this.state;
    const progress = `${s.height}/${s.round}/${s.step}/${s.status}`;
    if (progress === this.lastProgress && s.status === 'running') {
      // Stuck: re-send what peers may have missed.
      this.stuckTicks++;
      const g = gossip(s);
      for (const p of g.proposals) {
        const sp = this.proposals.get(`${p.round}/${toHex(p.blockHash)}`);
        if (sp) this.broadcast({ kind: 'proposal', sp });
      }
      for (const vote of g.votes) this.broadcast({ kind: 'vote', vote });
    } else this.stuckTicks = 0;
    this.lastProgress = progress;
    // Catch up as the node does: the shared plan says when and from whom.
    const peers = this.world.connected(this.index).map(String);
    const req = this.catchUp.plan({ ledgerHeight: this.ledger.height, stuckTicks: this.stuckTicks, peers, now: this.world.now });
    if (!req) return;
    const id = ++this.nextFetch;
    this.fetches.set(id, req);
    this.world.log(this.index, `fetch blocks from ${req.from} of node ${req.peer}${req.hinted ? ' (hinted)' : ''}`);
    this.world.send(this.index, Number(req.peer), { kind: 'getBlocks', id, from: req.from, count: SYNC_BATCH });
    this.world.setTimer(this.index, this.epoch, this.world.fetchTimeoutMs, { kind: 'syncTimeout', id });
  }

  /** A peer's process died: its connection closes, and fetches from it fail at once (as in the node). */
  peerDown(peer: number): void {
    for (const [id, req] of this.fetches) {
      if (req.peer !== String(peer)) continue;
      this.fetches.delete(id);
      this.finishFetch(req, 'failed');
    }
    this.catchUp.gone(String(peer));
  }

  private finishFetch(req: SyncRequest, outcome: SyncOutcome): void {
    this.catchUp.finished(req, outcome, this.world.now);
  }

  /** Verifies and commits blocks a peer sent: each needs a valid certificate and must execute. False if one did not. */
  private async applySync(items: readonly Uint8Array[]): Promise<boolean> {
    const before = this.ledger.height;
    let ok = true;
    for (const bytes of items) {
      let cb;
      try {
        cb = decodeCommittedBlock(bytes);
      } catch {
        this.rejectedSyncs++;
        ok = false;
        break;
      }
      const height = Number(cb.block.header.height);
      if (height <= this.ledger.height) continue;
      if (height !== this.ledger.height + 1) break;
      const why = certificateError(this.config.chainId, cb.certificate, this.ledger.bookkeepersAt(height), blockHash(cb.block.header));
      if (why || Number(cb.certificate.height) !== height) {
        this.rejectedSyncs++;
        this.world.log(this.index, `rejected synced block ${height}: ${why ?? 'certificate height'}`);
        ok = false;
        break;
      }
      let executed: ExecutedHeight;
      this.cpuMs += this.world.execMs(this.world.loadOf(toHex(blockHash(cb.block.header))));
      try {
        executed = this.ledger.executeBlock(cb.block);
      } catch (e) {
        if (!(e instanceof InvalidBlockError || e instanceof LedgerError)) throw e;
        this.rejectedSyncs++;
        ok = false;
        break;
      }
      this.world.log(this.index, `synced block ${height}`);
      await this.commit(cb.block, cb.certificate, executed);
    }
    if (this.ledger.height > before) {
      this.core.clear();
      // Blocks that came by sync are old: start the next height at once (no block interval to wait).
      await this.startHeight();
    }
    return ok;
  }
}

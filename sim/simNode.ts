import { addressFromPublicKey, toHex, type KeyPair } from '../src/crypto/index.ts';
import {
  ConsensusHost,
  DoubleSignError,
  proposerIndex,
  proposalInput,
  signProposal,
  SigningGuard,
  type CatchUpTiming,
  type ConsensusConfig,
  type ConsensusMessage,
  type ConsensusState,
  type ExecutedBlock,
  type HostInternals,
  type Misbehavior,
  type Signer,
} from '../src/consensus/index.ts';
import {
  blockHash,
  decodeCommittedBlock,
  decodeTx,
  encodeBlock,
  encodeCommittedBlock,
  homeChain,
  Ledger,
  readAccount,
  signTx,
  signVote,
  TxKind,
  VoteType,
  ZNC,
  type Block,
  type Certificate,
  type Genesis,
  type SignedVote,
} from '../src/ledger/index.ts';
import type { SimDisk } from './disk.ts';
import type { Rng } from './prng.ts';

// One simulated bookkeeper: the production consensus host (src/consensus/host.ts) given a
// simulated clock, timers, network and disk, a ledger rebuilt from that disk at every (re)start,
// blocks of random transfers, and the faults of a byzantine bookkeeper. Everything here is I/O
// and fault injection; what the node does with messages, timers and commits is the host's.

export type Behavior = 'honest' | 'silent' | 'equivocate' | 'amnesia';

export type SimMessage =
  | ConsensusMessage
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
  /** Calls `fire` after `delayMs` unless the node's process (`epoch`) ended; returns a cancel function. */
  setTimer(node: number, epoch: number, delayMs: number, label: string, fire: () => void): () => void;
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

const blockKey = (h: number): string => `block/${String(h).padStart(12, '0')}`;

/** A byzantine bookkeeper signs whatever it likes: no guard. */
const ANYTHING_GOES: Signer = { authorize: async () => undefined, signedAt: () => [] };

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
  private host!: ConsensusHost;
  /** Encoded committed blocks (block + certificate) by height − 1: what this node serves to syncing peers. */
  private committed: Uint8Array[] = [];
  /** Block fetches in flight: to whom, and where the answer goes. */
  private fetches = new Map<number, { peer: string; done: (records: Uint8Array[] | Error) => void }>();
  private nextFetch = 0;
  /** Signatures of the messages this process logged as sent. */
  private sent = new Set<string>();
  /** What stopped the host (a SafetyViolation thrown by the world's checks, or a bug). */
  private failure: unknown;
  /** CPU time spent in the event being handled: later sends and timers start after it. */
  cpuMs = 0;
  /** Transactions (simulated) in the blocks this node committed. */
  committedTxs = 0;
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
  }

  get state(): ConsensusState {
    return this.host.state;
  }

  get honest(): boolean {
    return this.behavior === 'honest';
  }

  /** Starts (or restarts) the process from what its disk holds. */
  async boot(): Promise<void> {
    this.up = true;
    this.epoch++;
    this.failure = undefined;
    this.ledger = Ledger.fromGenesis(this.world.genesis);
    this.committed = [];
    this.committedTxs = 0;
    this.fetches = new Map();
    this.sent = new Set();
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
    this.host = this.makeHost(this.behavior === 'honest' ? this.countRefusals(await SigningGuard.open(this.disk)) : ANYTHING_GOES);
    await this.host.open();
    this.host.start();
    await this.settle();
  }

  /** The process dies: its timers and connections go with it (the world drops what was meant for this epoch). */
  crash(): void {
    this.up = false;
    this.epoch++;
    void this.host.stop();
  }

  /** Waits until the host has handled what it was given; rethrows what stopped it. */
  private async settle(): Promise<void> {
    await this.host.settled();
    if (this.failure !== undefined) throw this.failure;
  }

  private makeHost(signer: Signer): ConsensusHost {
    const world = this.world;
    const epoch = this.epoch;
    const i = this.index;
    const ledger = (): Ledger => this.ledger;
    return new ConsensusHost(
      {
        clock: { now: () => world.now },
        timers: {
          after: (ms, fn) => world.setTimer(i, epoch, ms, 'timer', fn),
          every: (ms, fn) => {
            // The first tick at a random moment: processes do not start in step.
            let cancel = world.setTimer(i, epoch, this.rng.int(1, ms), 'tick', function fire() {
              cancel = world.setTimer(i, epoch, ms, 'tick', fire);
              fn();
            });
            return () => cancel();
          },
        },
        transport: {
          publish: (m) => this.broadcast(m),
          peers: () => world.connected(i).map(String),
          fetchBlocks: (peer, from, count, done) => {
            const id = ++this.nextFetch;
            this.fetches.set(id, { peer, done });
            world.log(i, `fetch blocks from ${from} of node ${peer}`);
            world.send(i, Number(peer), { kind: 'getBlocks', id, from, count });
            world.setTimer(i, epoch, world.fetchTimeoutMs, 'syncTimeout', () => this.failFetch(id, 'timed out'));
          },
          penalize: (peer, reason) => {
            this.rejectedSyncs++;
            world.log(i, `penalized node ${peer}: ${reason}`);
          },
        },
        store: this.disk,
        chain: {
          get height() {
            return ledger().height;
          },
          get time() {
            return ledger().time;
          },
          bookkeepersAt: (height) => this.ledger.bookkeepersAt(height),
          build: (time) => this.build(time),
          execute: (block) => {
            this.cpuMs += world.execMs(world.loadOf(toHex(blockHash(block.header))));
            return this.ledger.executeBlock(block);
          },
          preverify: async () => undefined,
          commit: (block, certificate, executed) => this.commit(block, certificate, executed),
          committedBlock: async (height) => this.committed[height - 1],
          reportEvidence: (first, second) => world.onEvidence(this, first, second),
        },
        signer,
        verifyVote: (v) => world.verifyVote(v),
      },
      {
        config: this.config,
        key: this.key,
        commitDelayMs: world.commitDelayMs,
        tickMs: world.tickMs,
        catchUpTiming: world.catchUpTiming,
        misbehavior: this.behavior === 'equivocate' ? this.equivocation() : undefined,
        log: (msg) => world.log(i, msg),
        // What the node logs about rounds (round changes with their reasons, slow heights).
        logger: {
          debug: (fields, msg) => msg !== 'consensus step' && world.log(i, `${msg} ${JSON.stringify(fields)}`),
          warn: (fields, msg) => world.log(i, `WARN ${msg} ${JSON.stringify(fields)}`),
        },
        onFatal: (e) => {
          this.failure ??= e;
        },
      },
    );
  }

  private countRefusals(guard: SigningGuard): Signer {
    return {
      authorize: (height, round, step, hash) =>
        guard.authorize(height, round, step, hash).catch((e: unknown) => {
          if (e instanceof DoubleSignError) this.guardRefusals++;
          throw e;
        }),
      signedAt: (height) => guard.signedAt(height),
    };
  }

  private async commit(block: Block, certificate: Certificate, executed: ReturnType<Ledger['executeBlock']>): Promise<void> {
    this.world.beforeCommit(this, block, certificate);
    const height = Number(block.header.height);
    const bytes = encodeCommittedBlock({ block, certificate });
    await this.disk.write([{ key: blockKey(height), value: bytes }], true);
    this.ledger.commit(executed, block.header, certificate);
    this.committed.push(bytes);
    this.committedTxs += this.world.loadOf(toHex(blockHash(block.header)));
    this.world.log(this.index, `commit h=${height} r=${certificate.round} ${toHex(blockHash(block.header)).slice(0, 8)}`);
    this.world.afterCommit(this, block);
  }

  /** Builds a block with a few random transfers on the committed ledger. */
  private build(time: number): ExecutedBlock {
    const load = this.world.takeLoad(this);
    this.cpuMs += this.world.execMs(load);
    const exec = this.ledger.begin(time);
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
    this.world.loaded(toHex(blockHash(block.header)), load);
    return { block, executed };
  }

  // ---- network ----

  private broadcast(msg: SimMessage): void {
    if (this.behavior === 'silent') return;
    // What this node signed, once (not each copy it re-sends while stuck).
    const sig = msg.kind === 'proposal' ? toHex(msg.sp.signature) : msg.kind === 'vote' ? toHex(msg.vote.signature) : '';
    if (!this.sent.has(sig)) {
      this.sent.add(sig);
      this.world.log(this.index, `send ${describe(msg)}`);
    }
    for (let to = 0; to < this.world.n; to++) if (to !== this.index) this.world.send(this.index, to, msg);
  }

  /** An equivocator's two versions of one message: `a` to the peers `toA` picks, `b` to the others. */
  private split(a: SimMessage, b: SimMessage, toA: (to: number) => boolean): void {
    for (let to = 0; to < this.world.n; to++) if (to !== this.index) this.world.send(this.index, to, toA(to) ? a : b);
  }

  private nextProposer(s: ConsensusState): number {
    return this.world.indexOf(s.validators[proposerIndex(s.height, s.round + 1, s.validators.length)]);
  }

  /** Handles a message; 'later' tells the network layer to hand a copy sent again over again. */
  async receive(from: number, msg: SimMessage): Promise<'later' | undefined> {
    if (!this.up) return undefined;
    switch (msg.kind) {
      case 'getBlocks': {
        this.host.heard(String(from));
        if (this.behavior === 'silent') return undefined;
        let items = await this.host.serveBlocks(msg.from, msg.count);
        if (this.behavior === 'equivocate') items = items.map((b, i) => (i === 0 ? forge(b) : b));
        // An empty answer too, as the p2p layer closes the stream with no records.
        this.world.send(this.index, from, { kind: 'blocks', id: msg.id, items });
        return undefined;
      }
      case 'blocks': {
        this.host.heard(String(from));
        const f = this.fetches.get(msg.id);
        if (!f) return undefined; // timed out already
        this.fetches.delete(msg.id);
        f.done([...msg.items]);
        await this.settle();
        return undefined;
      }
      default: {
        const verdict = await this.host.onMessage(msg, String(from));
        await this.settle();
        return verdict === 'later' ? 'later' : undefined;
      }
    }
  }

  /** One of this node's timers went off: `fire` is what the host asked for. */
  async onTimer(fire: () => void): Promise<void> {
    if (!this.up) return;
    fire();
    await this.settle();
  }

  private failFetch(id: number, why: string): void {
    const f = this.fetches.get(id);
    if (!f) return;
    this.fetches.delete(id);
    this.world.log(this.index, `block fetch from node ${f.peer} ${why}`);
    f.done(new Error(why));
  }

  /** A peer's process died: its connection closes, and fetches from it fail at once (as in the node). */
  peerDown(peer: number): void {
    for (const [id, f] of this.fetches) if (f.peer === String(peer)) this.failFetch(id, 'failed: connection closed');
    this.host.peerGone(String(peer));
  }

  /**
   * A byzantine proposer and voter. Its turn to propose: two fresh blocks, whatever the core would
   * re-propose, each signed and sent to half of the peers (this is what locks exist for). Its
   * votes: a conflicting one too, nil instead of a block, another block instead of nil.
   */
  private equivocation(): Misbehavior {
    return {
      propose: async (host: HostInternals, round: number) => {
        const height = host.state.height;
        const time = Math.max(this.world.now, this.ledger.time + 1);
        const [a, b] = [0, 1].map((variant) => {
          const built = this.build(time + variant);
          host.hold(built);
          const p = {
            chainId: this.config.chainId,
            height: BigInt(height),
            round,
            blockHash: blockHash(built.block.header),
            validRound: -1,
            proposer: this.key.publicKey,
          };
          const sp = signProposal(this.key, p, encodeBlock(built.block));
          host.proposed(sp);
          return { p, sp };
        });
        this.world.log(this.index, `equivocating proposals h=${height} r=${round}`);
        // The classic attack on locking: the next round's proposer sees another block, so it will
        // have no valid value and propose a fresh one, while the others may lock on ours.
        const next = this.nextProposer(host.state);
        this.split({ kind: 'proposal', sp: a.sp }, { kind: 'proposal', sp: b.sp }, (to) => to !== next);
        await host.feed({ kind: 'proposal', proposal: proposalInput(a.p, true) });
      },
      publishVote: (host: HostInternals, sv: SignedVote) => {
        // A prevote for a block goes to all but the next proposer; a precommit for a block to one
        // victim only (which may then decide alone while the others move on), or to a random half.
        const vote = sv.vote;
        const others = host.heldBlocks().filter((h) => h !== toHex(vote.blockHash));
        const alt =
          vote.blockHash.length > 0
            ? new Uint8Array(0)
            : others.length > 0
              ? Buffer.from(this.rng.pick(others), 'hex')
              : new Uint8Array(32).fill(this.rng.int(0, 255));
        const altVote: SimMessage = { kind: 'vote', vote: signVote(this.key, { ...vote, blockHash: new Uint8Array(alt) }) };
        const next = this.nextProposer(host.state);
        const victim = this.rng.int(0, this.world.n - 1);
        const mode = this.rng.int(0, 2);
        const real = (to: number): boolean =>
          mode === 0 ? this.rng.chance(0.5) : vote.type === VoteType.Prevote ? to !== next : vote.blockHash.length === 0 || to === victim;
        this.split({ kind: 'vote', vote: sv }, altVote, real);
      },
    };
  }
}

/** A faulty peer's attempt to feed a syncing node a block it cannot verify. */
function forge(bytes: Uint8Array): Uint8Array {
  const cb = decodeCommittedBlock(bytes);
  const header = { ...cb.block.header, time: cb.block.header.time + 1n };
  return encodeCommittedBlock({ block: { ...cb.block, header }, certificate: cb.certificate });
}

function describe(m: SimMessage): string {
  switch (m.kind) {
    case 'proposal':
      return `proposal h=${m.sp.proposal.height} r=${m.sp.proposal.round} ${toHex(m.sp.proposal.blockHash).slice(0, 8)} vr=${m.sp.proposal.validRoundPlusOne - 1}`;
    case 'vote':
      return `${m.vote.vote.type === VoteType.Prevote ? 'prevote' : 'precommit'} h=${m.vote.vote.height} r=${m.vote.vote.round} ${toHex(m.vote.vote.blockHash).slice(0, 8) || 'nil'}`;
    default:
      return m.kind;
  }
}

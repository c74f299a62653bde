import {
  ConsensusHost,
  decodeSignedProposal,
  DEVNET_TIMEOUTS,
  encodeSignedProposal,
  hostTickMs,
  SYNC_FETCH_TIMEOUT_MS,
  type Clock,
  type ConsensusConfig,
  type ConsensusMessage,
  type ConsensusTransport,
  type HostChain,
  type Misbehavior,
  type RoundLogger,
  type Signer,
  SigningGuard,
  type SignStep,
  type Timers,
} from '../consensus/index.ts';
import { randomBytes } from 'node:crypto';
import { addressFromPublicKey, toHex, type KeyPair } from '../crypto/index.ts';
import {
  decodeSignedVote,
  encodeSignedVote,
  LedgerError,
  routeTx,
  signTx,
  signVote,
  TxKind,
  UpgradeNeededError,
  VoteType,
  type SignedVote,
  type Tx,
} from '../ledger/index.ts';
import { createP2PNode, MAX_SYNC_COUNT, peerIdFromEd25519PublicKey, type P2PNode, type RequestProtocol, type Verdict } from '../p2p/index.ts';
import { decode, encode } from '../codec/index.ts';
import type { BuiltBlock, ZeusNode } from './zeusNode.ts';
import type { BlockProducer } from './producer.ts';
import type { ConsensusAnswer, GroupSignatureAnswer, SignerGroupAnswer } from '../sdk/index.ts';
import type { SignerGroup } from './signerGroup.ts';
import { FailureBudget, failuresOf, REFUSALS_PER_WINDOW } from './failureBudget.ts';
import { StoreCorruptError } from '../store/index.ts';

// The elected bookkeepers' block production on a real node: the consensus host
// (src/consensus/host.ts, the same one the simulator runs) wired to the wall clock, real timers,
// libp2p for proposals, votes and committed blocks, the node's ledger and chain store, and the
// node's store for the double-sign guard and proposed blocks. Transactions travel here too, in
// batches on their own gossip topic.

export interface BftOptions {
  /** libp2p listen multiaddr (bound), e.g. /ip4/127.0.0.1/tcp/26656. */
  listen: string;
  /** Multiaddrs other nodes should dial (advertised instead of the bound ones); none: the bound ones. */
  announce?: string[];
  /** Multiaddrs (ending in /p2p/<peer id>) of the peers to dial and keep dialing. */
  bootstrap: string[];
  /** This node's API URL, told to peers (their DDN fetches from it). */
  apiUrl?: string;
  /** Peers learned by peer exchange to keep connected besides the bookkeepers (default 16). */
  targetPeers?: number;
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
  /** Request-response protocols of other parts served on the node's connections (state sync's snapshots). */
  protocols?: RequestProtocol[];
  log?: (msg: string) => void;
  /** Structured log for rounds: each round and step change at debug, slow heights as warnings. */
  logger?: RoundLogger;
  /**
   * The seat group this node is a member of (src/node/signerGroup.ts): every signature is first
   * confirmed by the group in etcd, then by the local guard; only the group's active member signs.
   */
  signerGroup?: GroupMembership;
}

/** A joined seat group, with what its member was configured with. */
export interface GroupMembership {
  readonly group: SignerGroup;
  /** The group's name. */
  readonly name: string;
  readonly endpoints: string[];
}

/** The keys of a node: what it signs with, and what it goes by on the network. */
export interface NodeKeys {
  /** The bookkeeper key (a full node: its node key, which never signs). */
  key: KeyPair;
  /** libp2p identity: `key`, or a seat group member's own node key. */
  identity: KeyPair;
  /** Whether `key` is a bookkeeper key (signs while in the set). */
  signs: boolean;
}

/** What `/status` shows of consensus: the wire contract's answer, so the node and the SDK cannot drift apart. */
export type ConsensusStatus = ConsensusAnswer;

// In the consensus part, so that the simulator runs with them too.
export { DEVNET_TIMEOUTS };

const TX_BATCH_MS = 50;
const TX_BATCH_MAX = 512;
/** Peers asked, one after another, for a copy of a block this node holds damaged. */
const REPAIR_PEERS = 4;
/** Refusals that make a transaction invalid anywhere, at any time. */
const INVALID_TX = new Set(['BAD_ENCODING', 'TX_TOO_LARGE', 'BAD_SIGNATURE', 'WRONG_CHAIN_ID', 'UNKNOWN_TX_KIND']);
const TxBatchSchema = { $id: 'TxBatch', fields: { txs: { id: 1, type: { array: 'bytes', max: TX_BATCH_MAX } } } } as const;

const wallClock: Clock = { now: () => Date.now() };

const realTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/** --test-equivocate: every prevote goes out with a conflicting one, bypassing the guard. */
const equivocatePrevotes = (key: KeyPair): Misbehavior => ({
  publishVote(host, sv) {
    host.publish({ kind: 'vote', vote: sv });
    const vote = sv.vote;
    if (vote.type !== VoteType.Prevote) return;
    // Deliberately bypasses the guard: this is the fault the test wants the network to catch.
    const other = vote.blockHash.length > 0 ? new Uint8Array(0) : new Uint8Array(randomBytes(32));
    host.publish({ kind: 'vote', vote: signVote(key, { ...vote, blockHash: other }) });
    host.log(`equivocated: a second prevote at height ${vote.height} round ${vote.round}`);
  },
});

export class BftProducer implements BlockProducer {
  private readonly node: ZeusNode;
  /** The signing key when `signs` (and the evidence transactions' sender). */
  private readonly key: KeyPair;
  /** The libp2p key: `key`, except on a seat group's member. */
  private readonly identity: KeyPair;
  private readonly signs: boolean;
  private readonly membership: GroupMembership | undefined;
  /** The local double-sign guard under a seat group's check (opened in open()). */
  private guard: SigningGuard | undefined;
  private groupSigned: { activeSince: string | null; first: GroupSignatureAnswer | null; last: GroupSignatureAnswer | null } = {
    activeSince: null,
    first: null,
    last: null,
  };
  private readonly opts: BftOptions;
  private readonly host: ConsensusHost<BuiltBlock>;
  /**
   * Transactions each peer handed over that were refused after their signature check: each cost
   * a check and a dry run, as from an API client (failureBudget.ts). Past the budget a peer's
   * transactions are left unchecked for the rest of its window; a block brings any that commit.
   */
  private readonly peerRefusals = new FailureBudget(Date.now, REFUSALS_PER_WINDOW);
  private p2p: P2PNode | undefined;
  private txBatch: Uint8Array[] = [];
  private txFlush: NodeJS.Timeout | undefined;
  private peersOfSet: { key: string; ids: Set<string> } = { key: '', ids: new Set() };

  /** `keys.signs`: `keys.key` is a bookkeeper key (signs while in the set); false on a full node, which only follows. */
  constructor(node: ZeusNode, keys: NodeKeys, opts: BftOptions) {
    const { key, signs } = keys;
    this.node = node;
    this.key = key;
    this.identity = keys.identity;
    this.signs = signs;
    if (!signs && (opts.equivocate || opts.withholdProposals)) throw new Error('the --test-* consensus faults need a bookkeeper key');
    if (!signs && opts.signerGroup) throw new Error('a signer group keeps a bookkeeper seat: this node has no bookkeeper key');
    this.opts = opts;
    this.membership = opts.signerGroup;
    const transport: ConsensusTransport = {
      publish: (m) => this.publish(m),
      peers: () => (this.p2p?.peers() ?? []).filter((p) => p.connected && !p.banned).map((p) => p.id),
      fetchBlocks: (peer, from, count, done) => {
        const p2p = this.p2p;
        if (!p2p) return done(new Error('the network is not open'));
        p2p.fetchBlocks(peer, from, count).then(done, (e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
      },
      penalize: (peer, reason) => this.p2p?.penalize(peer, reason),
    };
    const chain: HostChain<BuiltBlock> = {
      get height() {
        return node.ledger.height;
      },
      get time() {
        return node.ledger.time;
      },
      bookkeepersAt: (height) => node.ledger.bookkeepersAt(height),
      build: (time) => node.buildBlock(time),
      execute: (block) => node.executeBlock(block),
      preverify: (block) => node.preverifyBlock(block),
      commit: (block, certificate, executed, built) => node.commitBlock(block, certificate, executed, built?.rejected),
      // A block damaged on our disk is not served: the peer asks another, and we say why here.
      committedBlock: (height) =>
        node.store.committedBlockBytes(height, false).catch((e: unknown) => {
          if (!(e instanceof StoreCorruptError)) throw e;
          this.log(`not serving block ${height}: ${e.message}`);
          return undefined;
        }),
      reportEvidence: (first, second) => this.submitEvidence(first, second),
      cannotContinue: () => node.checkUpgrade(),
    };
    this.host = new ConsensusHost(
      {
        clock: wallClock,
        timers: realTimers,
        transport,
        store: node.store.kv,
        ...(node.signerStore ? { signerStore: node.signerStore } : {}),
        ...(this.membership ? { signer: this.groupSigner(this.membership) } : {}),
        chain,
      },
      {
        config: { chainId: node.chainId, timeouts: opts.timeouts ?? DEVNET_TIMEOUTS },
        ...(signs ? { key } : {}),
        commitDelayMs: opts.commitDelayMs,
        tickMs: hostTickMs(opts.commitDelayMs),
        misbehavior: opts.withholdProposals ? { withholdProposals: true } : opts.equivocate ? equivocatePrevotes(key) : undefined,
        log: opts.log,
        logger: opts.logger,
        onFatal: (e) => this.fatal(e),
      },
    );
  }

  /** Opens the signing guard and the network, and joins consensus at the next height. */
  async open(): Promise<void> {
    // Under a group the host is given the group's signer, which asks this guard last (kept where the host keeps its own).
    if (this.membership) {
      const kv = this.node.store.kv;
      this.guard = this.node.signerStore ? await SigningGuard.open(this.node.signerStore, undefined, kv) : await SigningGuard.open(kv);
    }
    await this.host.open();
    this.p2p = await createP2PNode({
      listen: this.opts.listen,
      announce: this.opts.announce,
      bootstrap: this.opts.bootstrap,
      apiUrl: this.opts.apiUrl,
      targetPeers: this.opts.targetPeers,
      // The consensus needs every bookkeeper of the set directly connected to every other (see onTxBatch).
      keepConnected: () => this.bookkeeperPeers(),
      warn: (msg) => (this.opts.logger ? this.opts.logger.warn({}, msg) : this.log(msg)),
      // A bookkeeper's libp2p identity is its bookkeeper key, so peers know the set's peer ids; a
      // full node's, and a seat group member's, is its node key (node_key.json).
      privateKey: this.identity.secretKey,
      chainId: this.node.chainId,
      fetchTimeoutMs: SYNC_FETCH_TIMEOUT_MS,
      serveBlocks: (from, count) => this.host.serveBlocks(from, Math.min(count, MAX_SYNC_COUNT)),
      protocols: this.opts.protocols,
    });
    this.p2p.subscribe('txs', (data, from) => this.onTxBatch(data, from));
    this.p2p.subscribe('proposals', (data, from) => this.onMessage(data, from, 'proposal'));
    this.p2p.subscribe('votes', (data, from) => this.onMessage(data, from, 'vote'));
    this.node.onLocalTx = (bytes) => this.queueTx(bytes);
    await this.p2p.start();
    this.node.store.repair = {
      fetch: (height) => this.copiesFromPeers(height),
      repaired: (height, damage) => {
        const msg = `stored block ${height} was damaged (${damage}); replaced it with a peer's copy that hashes to what the chain says`;
        if (this.opts.logger) this.opts.logger.warn({ height }, msg);
        else this.log(msg);
      },
    };
  }

  /** Block `height` as a few connected peers hold it, one peer at a time (a peer that fails or lacks it is skipped). */
  private async *copiesFromPeers(height: number): AsyncIterable<Uint8Array> {
    const peers = (this.p2p?.peers() ?? []).filter((p) => p.connected && !p.banned).slice(0, REPAIR_PEERS);
    for (const peer of peers) {
      const p2p = this.p2p;
      if (!p2p) return;
      const [copy] = await p2p.fetchBlocks(peer.id, height, 1).catch(() => []);
      if (copy) yield copy;
    }
  }

  start(): void {
    this.host.start();
  }

  async stop(): Promise<void> {
    this.node.onLocalTx = undefined;
    this.node.store.repair = undefined;
    this.flushTxs();
    await this.host.stop();
    await this.p2p?.stop();
  }

  status(): ConsensusStatus {
    const s = this.host.state;
    return {
      height: s.height,
      round: s.round,
      step: s.step,
      status: s.status,
      validators: s.validators.length,
      self: s.self,
      peerId: this.p2p?.peerId ?? '',
      listen: this.p2p?.addresses() ?? [],
      bind: this.opts.listen,
      ...(this.opts.apiUrl !== undefined ? { api: this.opts.apiUrl } : {}),
      fullNode: !this.signs,
      peers: this.p2p?.peers() ?? [],
      synced: this.host.syncedHeights,
      lastCommitRound: this.host.lastRound,
    };
  }

  /** The seat group as this member sees it; undefined when the node signs alone or follows. */
  groupStatus(): SignerGroupAnswer | undefined {
    const m = this.membership;
    if (!m) return undefined;
    const st = m.group.stats();
    return {
      group: m.name,
      member: m.group.member,
      endpoints: m.endpoints,
      active: st.active,
      leader: st.leader ?? null,
      failovers: st.failovers,
      refusedCas: st.refusedCas,
      refusedInactive: st.refusedInactive,
      casOk: st.casOk,
      activeSince: this.groupSigned.activeSince,
      firstSignedSinceActive: this.groupSigned.first,
      lastSigned: this.groupSigned.last,
    };
  }

  /**
   * The host's signer under a seat group: the group's check in etcd, then the local guard; what
   * was signed is noted (when, and the first one since this member became active), for /status.
   */
  private groupSigner(m: GroupMembership): Signer {
    const group = m.group;
    const local: Signer = {
      authorize: (height, round, step, blockHash) => {
        if (!this.guard) throw new Error('the signing guard is not open');
        return this.guard.authorize(height, round, step, blockHash);
      },
      signedAt: (height) => this.guard?.signedAt(height) ?? [],
    };
    const inner = group.signer(local);
    group.onChange((active) => {
      if (active) this.groupSigned = { ...this.groupSigned, activeSince: new Date().toISOString(), first: null };
      this.log(`signer group ${m.name}: ${group.member} is ${active ? 'now the active member: it signs for the seat' : 'no longer active: it follows'}`);
    });
    return {
      authorize: async (height: number, round: number, step: SignStep, blockHash: Uint8Array) => {
        await inner.authorize(height, round, step, blockHash);
        const signed: GroupSignatureAnswer = { height, round, step, at: new Date().toISOString() };
        const first = this.groupSigned.first === null;
        this.groupSigned = { ...this.groupSigned, first: this.groupSigned.first ?? signed, last: signed };
        if (first)
          this.log(
            `signer group ${m.name}: ${group.member} signs for the seat: its first signature since it became active, a ${step} at height ${height} round ${round}`,
          );
      },
      signedAt: inner.signedAt,
    };
  }

  /** API URLs of the connected peers that told theirs (peer exchange). */
  apiUrls(): string[] {
    return this.p2p?.apiUrls() ?? [];
  }

  /** The height the network has committed as this node's connected peers show it (0 until one has). */
  peersCommittedHeight(): number {
    return this.host.peersCommittedHeight;
  }

  /** A failure to persist or an internal contradiction: the host stopped rather than diverge from disk. */
  private fatal(e: unknown): void {
    this.node.halt('consensus', e);
    // A planned upgrade's halt is the network's decision, not this node's failure.
    if (!(e instanceof UpgradeNeededError)) process.exitCode = 1;
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  // ---- network ----

  private bookkeeperPeers(): Set<string> {
    const validators = this.host.state.validators;
    const key = validators.map(toHex).join();
    if (key !== this.peersOfSet.key) this.peersOfSet = { key, ids: new Set(validators.map(peerIdFromEd25519PublicKey)) };
    return this.peersOfSet.ids;
  }

  private publish(m: ConsensusMessage): void {
    const p2p = this.p2p;
    if (!p2p) return;
    const send = m.kind === 'proposal' ? p2p.publish('proposals', encodeSignedProposal(m.sp)) : p2p.publish('votes', encodeSignedVote(m.vote));
    send.catch((e: unknown) => this.log(`could not publish a ${m.kind}: ${(e as Error).message}`));
  }

  private onMessage(data: Uint8Array, from: string, kind: ConsensusMessage['kind']): Promise<Verdict> | Verdict {
    let m: ConsensusMessage;
    try {
      m = kind === 'proposal' ? { kind, sp: decodeSignedProposal(data) } : { kind, vote: decodeSignedVote(data) };
    } catch {
      return 'reject';
    }
    return this.host.onMessage(m, from);
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
    this.host.heard(from);
    let txs: Uint8Array[];
    try {
      txs = decode(TxBatchSchema, data).txs;
    } catch {
      return 'reject';
    }
    if (txs.length === 0) return 'reject';
    if (this.peerRefusals.waitMs(from) > 0) return 'ignore';
    const results = await this.node.submitMany(txs, { fromPeer: true });
    this.peerRefusals.charge(from, failuresOf(results).refusals);
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

  /** Any account may report equivocation; a node that sees it reports it with its own key. */
  private submitEvidence(first: SignedVote, second: SignedVote): void {
    // Evidence is a transaction paid by its sender: a full node has no account to pay from. In a
    // seat group only the active member reports, so that members do not spend one nonce twice.
    if (!this.signs || (this.membership && !this.membership.group.active)) {
      this.log(`equivocation by ${toHex(first.vote.validator).slice(0, 12)} at height ${first.vote.height}: seen, left to the bookkeepers to report`);
      return;
    }
    const from = addressFromPublicKey(this.key.publicKey);
    const hex = toHex(from);
    const chain = routeTx(TxKind.SubmitEvidence, from);
    const pending = this.node.mempool.list().filter((t: Tx) => t.fromHex === hex && t.chain === chain).length;
    const nonce = this.node.reader.nextNonce(chain, hex) + BigInt(pending);
    const bytes = signTx(this.key, {
      chainId: this.node.chainId,
      kind: TxKind.SubmitEvidence,
      nonce,
      payload: { first: encodeSignedVote(first), second: encodeSignedVote(second) },
    });
    this.log(`equivocation by ${toHex(first.vote.validator).slice(0, 12)} at height ${first.vote.height} round ${first.vote.round}: submitting evidence`);
    this.node.submit(bytes).catch((e: unknown) => this.log(`evidence not accepted: ${(e as Error).message}`));
  }
}

import { addressFromPublicKey, bytesEqual, toHex, type KeyPair } from '../crypto/portable.ts';
import {
  blockHash,
  encodeBlock,
  InvalidBlockError,
  Ledger,
  LedgerError,
  signVote,
  VoteType,
  ZNC,
  type Block,
  type Certificate,
  type ExecutedHeight,
  type SignedVote,
  type Tx,
  type VoteBody,
} from '../ledger/index.ts';
import { makeTx, testChain, type TestChain } from '../ledger/testing.ts';
import { TxKind } from '../ledger/ops/index.ts';
import {
  DEFAULT_TIMEOUTS,
  heightRelation,
  initialState,
  step,
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
} from './core.ts';
import { openProposal, proposalInput, signProposal, type SignedProposal } from './proposal.ts';

// An in-process harness for consensus tests, after Mainsail's functional tests: N hosts, each
// with its own consensus core and a real Ledger from one genesis, wired through an in-memory bus
// that records every delivered message. Delivery is instant and in order; timers fire, earliest
// first, whenever no message is in flight. Filters drop or hold messages to stage faults.

export type BusMessage = { readonly kind: 'proposal'; readonly sp: SignedProposal } | { readonly kind: 'vote'; readonly vote: SignedVote };

export interface Delivery {
  readonly from: number;
  readonly to: number;
  readonly msg: BusMessage;
}

/** A delivered message, as the bus recorded it. */
export interface Delivered {
  readonly from: number;
  readonly to: number;
  readonly type: 'proposal' | 'prevote' | 'precommit';
  readonly height: number;
  readonly round: number;
  /** Hex block hash; '' for a nil vote. */
  readonly hash: string;
}

export interface Decision {
  readonly height: number;
  readonly round: number;
  readonly hash: string;
  readonly certificate: Certificate;
  /** The node's own round when it decided (above `round` for a decision in a past round). */
  readonly atRound: number;
}

export type FilterVerdict = 'deliver' | 'drop' | 'hold';

export interface HarnessOptions {
  readonly n: number;
  readonly config?: Partial<ConsensusConfig>;
  /** Transfers signed into the shared mempool up front (alice → bob, bob → carol, …). */
  readonly transfers?: number;
}

interface BlockEntry {
  readonly block: Block;
  readonly bytes: Uint8Array;
  executed?: ExecutedHeight;
  valid?: boolean;
}

export class HarnessNode {
  readonly index: number;
  readonly key: KeyPair;
  readonly ledger: Ledger;
  state: ConsensusState;
  readonly blocks = new Map<string, BlockEntry>();
  readonly proposals = new Map<string, SignedProposal>();
  readonly buffered: BusMessage[] = [];
  readonly decisions: Decision[] = [];
  readonly evidence: { first: SignedVote; second: SignedVote }[] = [];
  readonly inbox: ConsensusInput[] = [];
  busy = false;

  constructor(index: number, key: KeyPair, ledger: Ledger, config: ConsensusConfig) {
    this.index = index;
    this.key = key;
    this.ledger = ledger;
    this.state = initialState(config);
  }
}

export class Harness {
  readonly chain: TestChain;
  readonly nodes: HarnessNode[];
  readonly delivered: Delivered[] = [];
  readonly mempool: Tx[] = [];
  now: number;
  private readonly queue: Delivery[] = [];
  private readonly held: Delivery[] = [];
  private readonly timers: { at: number; seq: number; node: number; input: ConsensusInput }[] = [];
  private seq = 0;
  /** Decides, per delivery, whether it arrives, is lost, or waits for `release()`. */
  filter: (d: Delivery) => FilterVerdict = () => 'deliver';
  /** Lets a node's proposer tamper with the block it built (to stage an invalid block). */
  tamper: (node: HarnessNode, block: Block) => Block = (_, b) => b;
  /** Extra votes a (faulty) node sends after each vote it casts: an equivocator's second vote. */
  extraVotes: (node: HarnessNode, vote: SignedVote) => VoteBody[] = () => [];

  constructor(o: HarnessOptions) {
    this.chain = testChain({ bookkeepers: o.n });
    const config: ConsensusConfig = { chainId: this.chain.genesis.chainId, timeouts: DEFAULT_TIMEOUTS, ...o.config };
    this.now = this.chain.genesis.genesisTime;
    this.nodes = Array.from({ length: o.n }, (_, i) => new HarnessNode(i, this.chain.keys[`bookkeeper-${i}`], Ledger.fromGenesis(this.chain.genesis), config));
    const people = ['alice', 'bob', 'carol', 'dave'];
    for (let i = 0; i < (o.transfers ?? 0); i++) {
      const from = people[i % people.length];
      const to = addressFromPublicKey(this.chain.keys[people[(i + 1) % people.length]].publicKey);
      this.mempool.push(makeTx(this.chain, from, TxKind.Transfer, { to, token: ZNC, amount: BigInt(1000 + i), memo: `t${i}` }));
    }
  }

  /** Starts every node at the height after its ledger's. */
  start(): void {
    for (const n of this.nodes) this.startNext(n);
  }

  /** Delivers messages and fires timers until `done()` or no event is left; returns the events run. */
  run(done: () => boolean, maxEvents = 100_000): number {
    let events = 0;
    while (!done()) {
      if (events++ >= maxEvents) throw new Error(`harness: no result after ${maxEvents} events`);
      const d = this.queue.shift();
      if (d) {
        this.deliver(d);
        continue;
      }
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = this.timers.shift();
      if (!t) return events;
      this.now = Math.max(this.now, t.at);
      this.feed(this.nodes[t.node], t.input);
    }
    return events;
  }

  /** Runs until every node has committed `height`. */
  runToHeight(height: number): number {
    return this.run(() => this.nodes.every((n) => n.ledger.height >= height));
  }

  /** Delivers held messages next. */
  release(): void {
    this.queue.unshift(...this.held.splice(0));
  }

  count(pred: (d: Delivered) => boolean): number {
    return this.delivered.filter(pred).length;
  }

  private startNext(n: HarnessNode): void {
    const height = n.ledger.height + 1;
    const validators = n.ledger.bookkeepersAt(height);
    n.blocks.clear();
    n.proposals.clear();
    this.feed(n, { kind: 'start', height, validators, self: validators.findIndex((v) => bytesEqual(v, n.key.publicKey)) });
  }

  private broadcast(from: HarnessNode, msg: BusMessage): void {
    for (const to of this.nodes) if (to !== from) this.queue.push({ from: from.index, to: to.index, msg });
  }

  private deliver(d: Delivery): void {
    const verdict = this.filter(d);
    if (verdict === 'drop') return;
    if (verdict === 'hold') {
      this.held.push(d);
      return;
    }
    const m = d.msg;
    if (m.kind === 'proposal') {
      const p = m.sp.proposal;
      this.delivered.push({ from: d.from, to: d.to, type: 'proposal', height: Number(p.height), round: p.round, hash: toHex(p.blockHash) });
    } else {
      const v = m.vote.vote;
      const type = v.type === VoteType.Prevote ? 'prevote' : 'precommit';
      this.delivered.push({ from: d.from, to: d.to, type, height: Number(v.height), round: v.round, hash: toHex(v.blockHash) });
    }
    this.receive(this.nodes[d.to], m);
  }

  private receive(n: HarnessNode, m: BusMessage): void {
    const height = m.kind === 'proposal' ? m.sp.proposal.height : m.vote.vote.height;
    const rel = heightRelation(n.state, height);
    if (rel === 'next') {
      n.buffered.push(m);
      return;
    }
    if (rel !== 'current') return;
    if (m.kind === 'vote') {
      this.feed(n, { kind: 'vote', vote: m.vote });
      return;
    }
    const opened = openProposal(m.sp, this.chain.genesis.chainId);
    if (typeof opened === 'string') return;
    const hash = toHex(opened.proposal.blockHash);
    n.proposals.set(`${opened.proposal.round}/${hash}`, m.sp);
    if (!n.blocks.has(hash)) n.blocks.set(hash, { block: opened.block, bytes: m.sp.block });
    this.feed(n, { kind: 'proposal', proposal: proposalInput(opened.proposal, this.validate(n, hash)) });
  }

  /** valid(v): the node's ledger executes the block (once per block). */
  private validate(n: HarnessNode, hash: string): boolean {
    const e = n.blocks.get(hash)!;
    if (e.valid === undefined) {
      try {
        e.executed = n.ledger.executeBlock(e.block);
        e.valid = true;
      } catch (err) {
        if (!(err instanceof InvalidBlockError || err instanceof LedgerError)) throw err;
        e.valid = false;
      }
    }
    return e.valid;
  }

  /** Steps a node's core with an input and carries out its outputs (which may feed more inputs). */
  feed(n: HarnessNode, input: ConsensusInput): void {
    n.inbox.push(input);
    if (n.busy) return;
    n.busy = true;
    try {
      for (let i = n.inbox.shift(); i; i = n.inbox.shift()) {
        const r = step(n.state, i);
        n.state = r.state;
        for (const o of r.outputs) this.act(n, o);
        // Messages of the new height that arrived early.
        if (i.kind === 'start') for (const m of n.buffered.splice(0)) this.receive(n, m);
      }
    } finally {
      n.busy = false;
    }
  }

  private act(n: HarnessNode, o: ConsensusOutput): void {
    switch (o.kind) {
      case 'buildBlock': {
        const exec = n.ledger.begin(this.now);
        for (const tx of this.mempool) exec.tryApply(tx);
        const executed = exec.finish();
        const block = this.tamper(n, n.ledger.blockFor(executed, n.key.publicKey));
        const hash = toHex(blockHash(block.header));
        n.blocks.set(hash, { block, bytes: encodeBlock(block) });
        n.inbox.push({ kind: 'blockReady', height: o.height, round: o.round, blockHash: blockHash(block.header) });
        return;
      }
      case 'propose': {
        const hash = toHex(o.blockHash);
        const entry = n.blocks.get(hash);
        if (!entry) return; // we no longer hold the block: stay silent this round
        const sp = signProposal(
          n.key,
          {
            chainId: this.chain.genesis.chainId,
            height: BigInt(o.height),
            round: o.round,
            blockHash: o.blockHash,
            validRound: o.validRound,
            proposer: n.key.publicKey,
          },
          entry.bytes,
        );
        n.proposals.set(`${o.round}/${hash}`, sp);
        this.broadcast(n, { kind: 'proposal', sp });
        n.inbox.push({
          kind: 'proposal',
          proposal: {
            height: o.height,
            round: o.round,
            blockHash: o.blockHash,
            validRound: o.validRound,
            proposer: n.key.publicKey,
            valid: this.validate(n, hash),
          },
        });
        return;
      }
      case 'castVote': {
        const vote = signVote(n.key, o.vote);
        this.broadcast(n, { kind: 'vote', vote });
        n.inbox.push({ kind: 'vote', vote });
        for (const extra of this.extraVotes(n, vote)) this.broadcast(n, { kind: 'vote', vote: signVote(n.key, extra) });
        return;
      }
      case 'schedule':
        this.timers.push({
          at: this.now + o.delayMs,
          seq: this.seq++,
          node: n.index,
          input: { kind: 'timeout', step: o.timeout, height: o.height, round: o.round },
        });
        return;
      case 'decide': {
        const hash = toHex(o.blockHash);
        const entry = n.blocks.get(hash);
        if (!entry?.executed) throw new Error(`node ${n.index} decided a block it has not executed`);
        n.decisions.push({ height: o.height, round: o.round, hash, certificate: o.certificate, atRound: n.state.round });
        n.ledger.commit(entry.executed, entry.block.header, o.certificate);
        const committed = new Set(entry.block.segments.flatMap((s) => s.txs.map((b) => toHex(b))));
        for (let i = this.mempool.length - 1; i >= 0; i--) if (committed.has(toHex(this.mempool[i].bytes))) this.mempool.splice(i, 1);
        // The next height starts after this step's outputs are carried out.
        n.inbox.length = 0;
        this.startNext(n);
        return;
      }
      case 'evidence':
        n.evidence.push({ first: o.first, second: o.second });
        return;
    }
  }
}

import { bytesEqual, fromHex, toHex } from '../crypto/portable.ts';
import { quorum, VoteType, type Certificate, type SignedVote, type VoteBody } from '../ledger/index.ts';

// The Tendermint consensus algorithm ("The latest gossip on BFT consensus", Buchman, Kwon and
// Milosevic, 2018, Algorithm 1) as a pure step function: `step(state, input)` returns the next
// state and what the host must do. No clock, network, disk or randomness: the host owns timers
// (it turns `schedule` outputs into `timeout` inputs), signs and broadcasts votes and proposals,
// executes blocks on its ledger and feeds every result back as an input. Comments `L22` etc.
// name the lines of Algorithm 1 a rule implements.
//
// Values are identified by block hash. The host tells the core whether a proposed block is
// valid (its ledger executed it) when it delivers the proposal; the core never sees a block.
//
// Host contract:
// - `start` a height once the previous one is committed (the core stays `decided` until then);
//   validators come from the ledger (`bookkeepersAt(height)`), `self` is our index or -1.
// - Feed every proposal (signature checked, `valid` = the ledger accepted the block) and every
//   signed vote (signature checked) of the current height, including our own after signing them.
//   Messages for `height + 1` should be buffered and fed after the next `start`
//   (`heightRelation` tells which is which); older ones can be dropped.
// - `castVote`: persist the double-sign guard first, then sign, broadcast and feed it back.
//   `propose`: the same for a proposal (sign, broadcast with the block, feed back as valid).
//   `buildBlock`: build a block on the committed ledger, keep it, answer with `blockReady`.
// - After a restart, `start` the height again and feed our own votes of that height from the
//   signing log: the core then never casts a second, different vote for one round and step, and
//   recovers its lock from its own last non-nil precommit.
// - Messages are lost in real networks; re-send `gossip(state)` periodically while the height
//   makes no progress (votes of the current and previous round and of the rounds proposals
//   refer to), so that every correct process eventually receives what it needs.

export type Step = 'propose' | 'prevote' | 'precommit';
export type TimeoutKind = Step;

/** A timeout of round r lasts `baseMs + r × deltaMs`, so rounds get longer until the network keeps up. */
export interface TimeoutParams {
  readonly baseMs: number;
  readonly deltaMs: number;
}

export interface ConsensusConfig {
  readonly chainId: string;
  readonly timeouts: Readonly<Record<TimeoutKind, TimeoutParams>>;
  /**
   * Deliberately broken behaviour, only for showing that the tests and the simulator catch
   * consensus bugs. Never set it anywhere else.
   */
  readonly faults?: { readonly ignoreLocks?: boolean };
}

export const DEFAULT_TIMEOUTS: Readonly<Record<TimeoutKind, TimeoutParams>> = {
  propose: { baseMs: 3000, deltaMs: 500 },
  prevote: { baseMs: 1000, deltaMs: 500 },
  precommit: { baseMs: 1000, deltaMs: 500 },
};

/** Timeouts that suit a devnet on one machine: a silent proposer costs about 1.5 s. */
export const DEVNET_TIMEOUTS: Readonly<Record<TimeoutKind, TimeoutParams>> = {
  propose: { baseMs: 1500, deltaMs: 500 },
  prevote: { baseMs: 500, deltaMs: 250 },
  precommit: { baseMs: 500, deltaMs: 250 },
};

/** A proposal as the host delivers it: signature checked, block executed. */
export interface ProposalInput {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
  /** The round whose +2/3 prevotes justify re-proposing this value, or -1. */
  readonly validRound: number;
  readonly proposer: Uint8Array;
  /** Whether the host's ledger accepted the block (`valid(v)` in the paper). */
  readonly valid: boolean;
}

export type ConsensusInput =
  | { readonly kind: 'start'; readonly height: number; readonly validators: readonly Uint8Array[]; readonly self: number }
  | { readonly kind: 'proposal'; readonly proposal: ProposalInput }
  | { readonly kind: 'vote'; readonly vote: SignedVote }
  | { readonly kind: 'timeout'; readonly step: TimeoutKind; readonly height: number; readonly round: number }
  | { readonly kind: 'blockReady'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array };

export type ConsensusOutput =
  /** We propose in this round and have no valid value: build a block and answer `blockReady`. */
  | { readonly kind: 'buildBlock'; readonly height: number; readonly round: number }
  /** Sign and broadcast a proposal of this block (the host holds it), then feed it back. */
  | { readonly kind: 'propose'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array; readonly validRound: number }
  /** Guard, sign, broadcast and feed back this vote. */
  | { readonly kind: 'castVote'; readonly vote: VoteBody }
  /** Deliver `timeout(step, height, round)` after `delayMs`. */
  | { readonly kind: 'schedule'; readonly timeout: TimeoutKind; readonly height: number; readonly round: number; readonly delayMs: number }
  /** +2/3 precommitted this valid block in `round`: commit it with the certificate, then `start` the next height. */
  | { readonly kind: 'decide'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array; readonly certificate: Certificate }
  /** One validator signed two different votes for one height, round and type. */
  | { readonly kind: 'evidence'; readonly first: SignedVote; readonly second: SignedVote }
  /**
   * We moved to another round or step, and why: nothing for the host to do but log it. A
   * height that goes through rounds tells by these transitions where each round failed.
   */
  | {
      readonly kind: 'transition';
      readonly height: number;
      readonly from: { readonly round: number; readonly step: Step };
      readonly round: number;
      readonly step: Step;
      readonly reason: TransitionReason;
    };

/**
 * Why the core moved on:
 * - `start`: a new height begins at round 0;
 * - `restored`: a restarted host fed a vote we signed before, in a later round;
 * - `timeoutPropose`: no usable proposal in time, we prevoted nil;
 * - `proposal`: we prevoted on the round's proposal (for it, or nil if invalid or locked elsewhere);
 * - `polka`: +2/3 prevoted one block, we locked on it and precommitted it;
 * - `nilPolka`: +2/3 prevoted nil, we precommitted nil;
 * - `timeoutPrevote`: +2/3 prevoted but not for one value in time, we precommitted nil;
 * - `timeoutPrecommit`: +2/3 precommitted but not for one value in time: next round;
 * - `higherRound`: f+1 validators sent messages of a higher round: we join it.
 */
export type TransitionReason =
  | 'start'
  | 'restored'
  | 'timeoutPropose'
  | 'proposal'
  | 'polka'
  | 'nilPolka'
  | 'timeoutPrevote'
  | 'timeoutPrecommit'
  | 'higherRound';

interface ProposalRecord {
  readonly validRound: number;
  readonly valid: boolean;
}

/**
 * The votes of one type in one round. The paper counts messages per value ("2f+1 ⟨PREVOTE, h, r,
 * id(v)⟩"), so an equivocator's votes count for each value it signed: counting only its first
 * vote would let it show a +2/3 majority to some correct processes (which lock on it) and
 * never to the others, and stall the height forever. A second vote for a value nobody proposed
 * in the round is held until such a proposal arrives, which bounds what a validator can store.
 */
interface VoteSet {
  /** Each validator's first vote: "+2/3 of any" counts these. */
  readonly first: ReadonlyMap<number, SignedVote>;
  /** Votes by block hash (hex; '' is nil), at most one per validator and value. */
  readonly byValue: ReadonlyMap<string, ReadonlyMap<number, SignedVote>>;
  /** Conflicting votes for values not proposed (yet) in this round, by validator. */
  readonly held: ReadonlyMap<number, readonly SignedVote[]>;
  /** `index/hash` of conflicting votes already reported as evidence. */
  readonly conflicts: ReadonlySet<string>;
}

function tally(set: VoteSet, hash: string): number {
  return set.byValue.get(hash)?.size ?? 0;
}

function countVote(set: VoteSet, idx: number, hash: string, sv: SignedVote): VoteSet['byValue'] {
  return new Map(set.byValue).set(hash, new Map(set.byValue.get(hash)).set(idx, sv));
}

/** Counts the held votes for a value that has just been proposed. */
function releaseHeld(set: VoteSet, hash: string): VoteSet {
  let next = set;
  for (const [idx, votes] of set.held) {
    const match = votes.filter((v) => toHex(v.vote.blockHash) === hash);
    if (match.length === 0) continue;
    const held = new Map(next.held);
    const rest = votes.filter((v) => toHex(v.vote.blockHash) !== hash);
    if (rest.length > 0) held.set(idx, rest);
    else held.delete(idx);
    next = { ...next, held, byValue: countVote(next, idx, hash, match[0]) };
  }
  return next;
}

interface RoundState {
  /** Proposals from the round's proposer by block hash (more than one only if it equivocates). */
  readonly proposals: ReadonlyMap<string, ProposalRecord>;
  /** The first proposal received: the one the propose step acts on. */
  readonly first: string | undefined;
  readonly prevotes: VoteSet;
  readonly precommits: VoteSet;
  /** Validators with any message in this round (L55). */
  readonly senders: ReadonlySet<number>;
  /** Whether we already voted in this round (in this incarnation or, after a restart, before). */
  readonly votedPrevote: boolean;
  readonly votedPrecommit: boolean;
  /** "for the first time" flags of L34, L36 and L47. */
  readonly prevoteTimeoutScheduled: boolean;
  readonly majorityPrevoteSeen: boolean;
  readonly precommitTimeoutScheduled: boolean;
}

export interface ConsensusState {
  readonly config: ConsensusConfig;
  /** idle before the first start; decided between a decision and the next start. */
  readonly status: 'idle' | 'running' | 'decided';
  readonly height: number;
  readonly validators: readonly Uint8Array[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Our index in `validators`, or -1 when we only follow. */
  readonly self: number;
  readonly round: number;
  readonly step: Step;
  readonly lockedValue: string | undefined;
  readonly lockedRound: number;
  readonly validValue: string | undefined;
  readonly validRound: number;
  readonly rounds: ReadonlyMap<number, RoundState>;
  /** Rounds above `round` in which each validator has messages stored (bounded, see MAX_FUTURE_ROUNDS). */
  readonly future: ReadonlyMap<number, readonly number[]>;
  /** The round whose `buildBlock` is outstanding, or -1. */
  readonly awaitingBlock: number;
  readonly decision: { readonly round: number; readonly blockHash: Uint8Array; readonly certificate: Certificate } | undefined;
}

export interface StepResult {
  readonly state: ConsensusState;
  readonly outputs: ConsensusOutput[];
}

/**
 * Messages are kept for every round up to ours, but each validator may occupy only this many
 * rounds above ours: a faulty one cannot fill memory with far-future rounds, and a correct one,
 * whose rounds only grow, always has its latest messages kept (older future rounds are evicted).
 */
export const MAX_FUTURE_ROUNDS = 3;
/** A faulty proposer may send several proposals for one round; more than this are ignored. */
export const MAX_PROPOSALS_PER_ROUND = 4;

const NIL = '';

const EMPTY_VOTES: VoteSet = { first: new Map(), byValue: new Map(), held: new Map(), conflicts: new Set() };
const EMPTY_ROUND: RoundState = {
  proposals: new Map(),
  first: undefined,
  prevotes: EMPTY_VOTES,
  precommits: EMPTY_VOTES,
  senders: new Set(),
  votedPrevote: false,
  votedPrecommit: false,
  prevoteTimeoutScheduled: false,
  majorityPrevoteSeen: false,
  precommitTimeoutScheduled: false,
};

/** The proposer of (height, round): bookkeepers take turns, and the turn moves on each round. */
export function proposerIndex(height: number, round: number, n: number): number {
  return (height + round) % n;
}

/** Messages from this many distinct validators include at least one correct one (f + 1). */
export function skipThreshold(n: number): number {
  return n - quorum(n) + 1;
}

export function timeoutDelay(config: ConsensusConfig, kind: TimeoutKind, round: number): number {
  const t = config.timeouts[kind];
  return t.baseMs + round * t.deltaMs;
}

export function initialState(config: ConsensusConfig): ConsensusState {
  return {
    config,
    status: 'idle',
    height: 0,
    validators: [],
    indexOf: new Map(),
    self: -1,
    round: 0,
    step: 'propose',
    lockedValue: undefined,
    lockedRound: -1,
    validValue: undefined,
    validRound: -1,
    rounds: new Map(),
    future: new Map(),
    awaitingBlock: -1,
    decision: undefined,
  };
}

/**
 * Where a message of `height` belongs: the height being decided, the next one (buffer it and
 * feed it after the next `start`), one further ahead (we are behind: sync blocks), or the past.
 */
export function heightRelation(state: ConsensusState, height: number | bigint): 'past' | 'current' | 'next' | 'ahead' {
  const h = Number(height);
  if (h < state.height) return 'past';
  if (h === state.height) return 'current';
  return h === state.height + 1 ? 'next' : 'ahead';
}

/**
 * What to re-send while a height makes no progress: the signed votes of the current and previous
 * round and of the rounds that proposals, our lock and our valid value refer to, and the
 * (round, block hash) of the proposals of those rounds (the host holds their signed messages).
 */
export function gossip(state: ConsensusState): { votes: SignedVote[]; proposals: { round: number; blockHash: Uint8Array }[] } {
  const votes: SignedVote[] = [];
  const proposals: { round: number; blockHash: Uint8Array }[] = [];
  if (state.status !== 'running') return { votes, proposals };
  const rounds = new Set<number>([state.round, state.round - 1, state.lockedRound, state.validRound]);
  for (const p of state.rounds.get(state.round)?.proposals.values() ?? []) rounds.add(p.validRound);
  for (const r of [...rounds].sort((a, b) => a - b)) {
    const rs = state.rounds.get(r);
    if (r < 0 || !rs) continue;
    for (const hash of rs.proposals.keys()) proposals.push({ round: r, blockHash: fromHex(hash) });
    for (const set of [rs.prevotes, rs.precommits]) for (const m of set.byValue.values()) votes.push(...m.values());
  }
  return { votes, proposals };
}

/** Advances the consensus state machine by one input. The given state is not modified. */
export function step(state: ConsensusState, input: ConsensusInput): StepResult {
  const m = new Machine(state);
  switch (input.kind) {
    case 'start':
      m.start(input.height, input.validators, input.self);
      break;
    case 'proposal':
      m.onProposal(input.proposal);
      break;
    case 'vote':
      m.onVote(input.vote);
      break;
    case 'timeout':
      m.onTimeout(input.step, input.height, input.round);
      break;
    case 'blockReady':
      m.onBlockReady(input.height, input.round, input.blockHash);
      break;
  }
  return { state: m.result(), outputs: m.out };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One step's working copy: copies maps on write, so earlier states stay valid. */
class Machine {
  readonly s: Mutable<ConsensusState>;
  readonly out: ConsensusOutput[] = [];
  private roundsCopied = false;

  constructor(state: ConsensusState) {
    this.s = { ...state };
  }

  result(): ConsensusState {
    return this.s;
  }

  private get n(): number {
    return this.s.validators.length;
  }

  private get q(): number {
    return quorum(this.n);
  }

  private roundState(r: number): RoundState {
    return this.s.rounds.get(r) ?? EMPTY_ROUND;
  }

  private setRound(r: number, rs: RoundState): void {
    if (!this.roundsCopied) {
      this.s.rounds = new Map(this.s.rounds);
      this.roundsCopied = true;
    }
    (this.s.rounds as Map<number, RoundState>).set(r, rs);
  }

  private isProposer(r: number): boolean {
    return this.s.self >= 0 && proposerIndex(this.s.height, r, this.n) === this.s.self;
  }

  // ---- inputs ----

  start(height: number, validators: readonly Uint8Array[], self: number): void {
    if (!Number.isSafeInteger(height) || height < 1) throw new Error(`consensus height must be a positive integer, got ${height}`);
    if (validators.length === 0) throw new Error('consensus needs at least one validator');
    if (!Number.isInteger(self) || self < -1 || self >= validators.length) throw new Error(`own index ${self} is not in the validator set`);
    const indexOf = new Map<string, number>();
    validators.forEach((v, i) => indexOf.set(toHex(v), i));
    if (indexOf.size !== validators.length) throw new Error('validator set has duplicate keys');
    Object.assign(this.s, {
      ...initialState(this.s.config),
      status: 'running',
      height,
      validators: [...validators],
      indexOf,
      self,
    });
    this.roundsCopied = true; // a fresh map
    this.startRound(0, 'start');
    this.settle();
  }

  onProposal(p: ProposalInput): void {
    const s = this.s;
    if (s.status !== 'running' || p.height !== s.height) return;
    if (!Number.isInteger(p.round) || p.round < 0 || p.blockHash.length !== 32) return;
    if (!Number.isInteger(p.validRound) || p.validRound < -1 || p.validRound >= p.round) return;
    const proposer = proposerIndex(s.height, p.round, this.n);
    if (!bytesEqual(p.proposer, s.validators[proposer])) return;
    if (!this.admitRound(proposer, p.round)) return;
    const hash = toHex(p.blockHash);
    const rs = this.roundState(p.round);
    if (rs.proposals.has(hash) || rs.proposals.size >= MAX_PROPOSALS_PER_ROUND) return;
    const proposals = new Map(rs.proposals).set(hash, { validRound: p.validRound, valid: p.valid });
    const senders = rs.senders.has(proposer) ? rs.senders : new Set(rs.senders).add(proposer);
    const prevotes = releaseHeld(rs.prevotes, hash);
    const precommits = releaseHeld(rs.precommits, hash);
    this.setRound(p.round, { ...rs, proposals, first: rs.first ?? hash, senders, prevotes, precommits });
    if (this.tryDecide(p.round)) return;
    this.trySkip(p.round);
    this.settle();
  }

  onVote(sv: SignedVote): void {
    const s = this.s;
    const v = sv.vote;
    if (s.status !== 'running' || v.chainId !== s.config.chainId || v.height !== BigInt(s.height)) return;
    if (v.type !== VoteType.Prevote && v.type !== VoteType.Precommit) return;
    if (v.blockHash.length !== 0 && v.blockHash.length !== 32) return;
    const idx = s.indexOf.get(toHex(v.validator));
    if (idx === undefined) return;
    if (!this.admitRound(idx, v.round)) return;
    const hash = toHex(v.blockHash);
    const rs = this.roundState(v.round);
    const isPrevote = v.type === VoteType.Prevote;
    const set = isPrevote ? rs.prevotes : rs.precommits;
    if (set.byValue.get(hash)?.has(idx)) return; // duplicate
    const existing = set.first.get(idx);
    let next: VoteSet;
    if (!existing) {
      next = { ...set, first: new Map(set.first).set(idx, sv), byValue: countVote(set, idx, hash, sv) };
    } else {
      const key = `${idx}/${hash}`;
      if (set.conflicts.has(key)) return;
      this.out.push({ kind: 'evidence', first: existing, second: sv });
      const conflicts = new Set(set.conflicts).add(key);
      if (hash === NIL || rs.proposals.has(hash)) next = { ...set, conflicts, byValue: countVote(set, idx, hash, sv) };
      else {
        const held = set.held.get(idx) ?? [];
        const marked: VoteSet = {
          ...set,
          conflicts,
          held: held.length < MAX_PROPOSALS_PER_ROUND ? new Map(set.held).set(idx, [...held, sv]) : set.held,
        };
        this.setRound(v.round, isPrevote ? { ...rs, prevotes: marked } : { ...rs, precommits: marked });
        return;
      }
    }
    const senders = rs.senders.has(idx) ? rs.senders : new Set(rs.senders).add(idx);
    const own = idx === s.self;
    this.setRound(
      v.round,
      isPrevote
        ? { ...rs, prevotes: next, senders, votedPrevote: rs.votedPrevote || own }
        : { ...rs, precommits: next, senders, votedPrecommit: rs.votedPrecommit || own },
    );
    // A restarted host feeds the votes it signed before: rejoin the latest round we voted in (we
    // were there, and we will not vote in it again), and recover our lock from our own non-nil
    // precommit (L36-L41).
    if (own && v.round > s.round) this.startRound(v.round, 'restored');
    if (own && !isPrevote && hash !== NIL && v.round > s.lockedRound) {
      s.lockedRound = v.round;
      s.lockedValue = hash;
      if (v.round > s.validRound) {
        s.validRound = v.round;
        s.validValue = hash;
      }
    }
    if (!isPrevote && this.tryDecide(v.round)) return;
    this.trySkip(v.round);
    this.settle();
  }

  onTimeout(kind: TimeoutKind, height: number, round: number): void {
    const s = this.s;
    if (s.status !== 'running' || height !== s.height || round !== s.round) return;
    if (kind === 'propose') {
      // OnTimeoutPropose
      if (s.step !== 'propose') return;
      this.vote(VoteType.Prevote, NIL);
      this.moveTo('prevote', 'timeoutPropose');
    } else if (kind === 'prevote') {
      // OnTimeoutPrevote
      if (s.step !== 'prevote') return;
      this.vote(VoteType.Precommit, NIL);
      this.moveTo('precommit', 'timeoutPrevote');
    } else {
      // OnTimeoutPrecommit
      this.startRound(s.round + 1, 'timeoutPrecommit');
    }
    this.settle();
  }

  onBlockReady(height: number, round: number, blockHash: Uint8Array): void {
    const s = this.s;
    if (s.status !== 'running' || height !== s.height || round !== s.round || s.awaitingBlock !== round || s.step !== 'propose') return;
    s.awaitingBlock = -1;
    this.out.push({ kind: 'propose', height, round, blockHash, validRound: -1 });
  }

  // ---- rules ----

  /** Admits a message of `round` from validator `idx`, bounding how many future rounds it occupies. */
  private admitRound(idx: number, round: number): boolean {
    const s = this.s;
    if (!Number.isInteger(round) || round < 0) return false;
    if (round <= s.round) return true;
    const held = (s.future.get(idx) ?? []).filter((r) => r > s.round);
    if (held.includes(round)) return true;
    if (held.length >= MAX_FUTURE_ROUNDS) {
      const lowest = held[0];
      if (round < lowest) return false;
      this.evict(idx, lowest);
      held.shift();
    }
    held.push(round);
    held.sort((a, b) => a - b);
    s.future = new Map(s.future).set(idx, held);
    return true;
  }

  /** Forgets validator `idx`'s messages of a future round (to make room for a later one). */
  private evict(idx: number, round: number): void {
    const rs = this.s.rounds.get(round);
    if (!rs) return;
    const drop = (set: VoteSet): VoteSet => {
      if (!set.first.has(idx) && !set.held.has(idx)) return set;
      const first = new Map(set.first);
      first.delete(idx);
      const held = new Map(set.held);
      held.delete(idx);
      const byValue = new Map<string, ReadonlyMap<number, SignedVote>>();
      for (const [hash, m] of set.byValue) {
        const rest = new Map(m);
        rest.delete(idx);
        if (rest.size > 0) byValue.set(hash, rest);
      }
      return { first, byValue, held, conflicts: set.conflicts };
    };
    const senders = new Set(rs.senders);
    senders.delete(idx);
    const isProposer = proposerIndex(this.s.height, round, this.n) === idx;
    this.setRound(round, {
      ...rs,
      prevotes: drop(rs.prevotes),
      precommits: drop(rs.precommits),
      senders,
      ...(isProposer ? { proposals: new Map(), first: undefined } : {}),
    });
  }

  /** Moves to another step of the current round and tells the host why. */
  private moveTo(step: Step, reason: TransitionReason): void {
    const s = this.s;
    this.out.push({ kind: 'transition', height: s.height, from: { round: s.round, step: s.step }, round: s.round, step, reason });
    s.step = step;
  }

  /** StartRound(round) */
  private startRound(round: number, reason: TransitionReason): void {
    const s = this.s;
    this.out.push({ kind: 'transition', height: s.height, from: { round: s.round, step: s.step }, round, step: 'propose', reason });
    s.round = round;
    s.step = 'propose';
    s.awaitingBlock = -1;
    if (this.isProposer(round)) {
      if (s.validValue !== undefined && s.validRound < round) {
        this.out.push({ kind: 'propose', height: s.height, round, blockHash: fromHex(s.validValue), validRound: s.validRound });
      } else {
        s.awaitingBlock = round;
        this.out.push({ kind: 'buildBlock', height: s.height, round });
      }
    }
    // The paper schedules this only when we are not the proposer. We always do: our own proposal
    // depends on the host (building, signing, feeding back), and if that fails we must not wait
    // forever. When our proposal arrives first the timeout is a no-op.
    this.schedule('propose', round);
  }

  private schedule(kind: TimeoutKind, round: number): void {
    this.out.push({ kind: 'schedule', timeout: kind, height: this.s.height, round, delayMs: timeoutDelay(this.s.config, kind, round) });
  }

  private vote(type: VoteType, hash: string): void {
    const s = this.s;
    if (s.self < 0) return;
    const rs = this.roundState(s.round);
    const isPrevote = type === VoteType.Prevote;
    if (isPrevote ? rs.votedPrevote : rs.votedPrecommit) return; // never a second vote for one round and step
    this.setRound(s.round, isPrevote ? { ...rs, votedPrevote: true } : { ...rs, votedPrecommit: true });
    this.out.push({
      kind: 'castVote',
      vote: {
        chainId: s.config.chainId,
        type,
        height: BigInt(s.height),
        round: s.round,
        blockHash: hash === NIL ? new Uint8Array(0) : fromHex(hash),
        validator: s.validators[s.self],
      },
    });
  }

  /** L55: f+1 messages of a higher round make us join it. */
  private trySkip(round: number): void {
    if (this.s.status === 'running' && round > this.s.round && this.roundState(round).senders.size >= skipThreshold(this.n)) {
      this.startRound(round, 'higherRound');
    }
  }

  /** L49: a proposal of `round` and +2/3 precommits for it in that round decide, whatever our round. */
  private tryDecide(round: number): boolean {
    const s = this.s;
    const rs = this.roundState(round);
    for (const [hash, votes] of rs.precommits.byValue) {
      if (hash === NIL || votes.size < this.q || !rs.proposals.get(hash)?.valid) continue;
      const signers = [...votes].sort(([a], [b]) => a - b);
      const blockHash = fromHex(hash);
      const certificate: Certificate = {
        height: BigInt(s.height),
        round,
        blockHash,
        signers: signers.map(([i]) => i),
        signatures: signers.map(([, v]) => v.signature),
      };
      s.status = 'decided';
      s.decision = { round, blockHash, certificate };
      s.awaitingBlock = -1;
      this.out.push({ kind: 'decide', height: s.height, round, blockHash, certificate });
      return true;
    }
    return false;
  }

  private majorityPrevote(rs: RoundState): string | undefined {
    for (const [hash, votes] of rs.prevotes.byValue) if (hash !== NIL && votes.size >= this.q) return hash;
    return undefined;
  }

  /** Applies the rules of the current round until none fires. */
  private settle(): void {
    const s = this.s;
    const ignoreLocks = s.config.faults?.ignoreLocks === true;
    for (;;) {
      if (s.status !== 'running') return;
      const r = s.round;
      const rs = this.roundState(r);
      if (s.step === 'propose' && rs.first !== undefined) {
        const v = rs.first;
        const p = rs.proposals.get(v)!;
        if (p.validRound === -1) {
          // L22
          const ok = p.valid && (ignoreLocks || s.lockedRound === -1 || s.lockedValue === v);
          this.vote(VoteType.Prevote, ok ? v : NIL);
          this.moveTo('prevote', 'proposal');
          continue;
        }
        if (tally(this.roundState(p.validRound).prevotes, v) >= this.q) {
          // L28
          const ok = p.valid && (ignoreLocks || s.lockedRound <= p.validRound || s.lockedValue === v);
          this.vote(VoteType.Prevote, ok ? v : NIL);
          this.moveTo('prevote', 'proposal');
          continue;
        }
      }
      if (s.step === 'prevote' && !rs.prevoteTimeoutScheduled && rs.prevotes.first.size >= this.q) {
        // L34
        this.setRound(r, { ...rs, prevoteTimeoutScheduled: true });
        this.schedule('prevote', r);
        continue;
      }
      if (s.step !== 'propose' && !rs.majorityPrevoteSeen) {
        // L36
        const v = this.majorityPrevote(rs);
        if (v !== undefined && rs.proposals.get(v)?.valid) {
          this.setRound(r, { ...rs, majorityPrevoteSeen: true });
          if (s.step === 'prevote') {
            s.lockedValue = v;
            s.lockedRound = r;
            this.vote(VoteType.Precommit, v);
            this.moveTo('precommit', 'polka');
          }
          s.validValue = v;
          s.validRound = r;
          continue;
        }
      }
      if (s.step === 'prevote' && tally(rs.prevotes, NIL) >= this.q) {
        // L44
        this.vote(VoteType.Precommit, NIL);
        this.moveTo('precommit', 'nilPolka');
        continue;
      }
      if (!rs.precommitTimeoutScheduled && rs.precommits.first.size >= this.q) {
        // L47
        this.setRound(r, { ...rs, precommitTimeoutScheduled: true });
        this.schedule('precommit', r);
        continue;
      }
      return;
    }
  }
}

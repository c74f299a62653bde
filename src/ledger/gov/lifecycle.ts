import * as stores from '../stores.ts';
import { decode } from '../../codec/index.ts';
import { bytesEqual, fromHex, systemAddress, toHex } from '../../crypto/portable.ts';
import { credit, readAccount, writeAccount, type ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import { DueKind } from '../marketEntries.ts';
import { schedule } from '../market/tasks.ts';
import { MAIN_CHAIN, ZNC, type LedgerParams } from '../params.ts';
import type { Receipt } from '../receipts.ts';
import type { StateReader } from '../state.ts';
import { GOV_DEPOSITS, GOVERNANCE_NAME, REWARDS_POOL_NAME } from '../systemAccounts.ts';
import {
  PROPOSAL_TYPE_NAMES,
  ProposalStatus,
  ProposalSubmissionSchema,
  ProposalType,
  VoteOption,
  type GovProposal,
  type GovTally,
  type ParamChange,
  type ProposalContent,
} from './entries.ts';
import { paramValueProblem, withParamChanges } from './params.ts';

// A proposal's life on main, all of it deterministic: it arrives by receipt with its first
// deposit (GovPropose debits the proposer on its home chain), gathers deposits until the minimum
// opens its vote, is counted when the vote ends, and what it asks for is carried out — a parameter
// change after a delay, a reserve payment once the reserve's multisig approves it too, an upgrade
// at its height (./upgrades.ts). Deposits never vanish: returned to their depositors, or moved to
// the rewards pool when the proposal is vetoed. The deadlines ride the ledger's queue of scheduled
// work (the market's `dues`), so an idle network still makes the blocks that reach them.

/** A proposal id as the queue of scheduled work and a deposit receipt carry it. */
export function proposalIdBytes(id: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, id);
  return b;
}

export function proposalIdOf(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new Error(`a proposal id is 8 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}

/**
 * Share of the minimum deposit a proposal must open with (basis points). Deposits come back when
 * a proposal expires short of the minimum, so without a floor anyone could open proposals for a
 * base unit each, at no cost, each kept in every node's state and shown in every voter's list
 * (Cosmos's min_initial_deposit_ratio). Later deposits may be any amount.
 */
export const MIN_INITIAL_DEPOSIT_BP = 2_500n;

/** The least first deposit a proposal opens with under `g` (rounded up). */
export function minInitialDeposit(g: LedgerParams['governance']): bigint {
  return (g.minDeposit * MIN_INITIAL_DEPOSIT_BP + 9_999n) / 10_000n;
}

/** The parameters in force: genesis's, with every change governance made since. */
export function effectiveParams(genesisParams: LedgerParams, main: StateReader): LedgerParams {
  const o = stores.paramOverrides.get(main);
  return o ? withParamChanges(genesisParams, o.changes) : genesisParams;
}

/**
 * Why a proposal's content cannot be submitted (undefined: it can). Checked on the proposer's
 * home chain against main as of the previous height; what could change before the vote ends is
 * checked again when it is carried out.
 */
export function contentProblem(ctx: ExecContext, c: ProposalContent): string | undefined {
  if (c.title.trim().length === 0) return 'a proposal needs a title';
  switch (c.type) {
    case ProposalType.Text:
      break;
    case ProposalType.ParamChange: {
      if (c.changes.length === 0) return 'a param-change proposal names at least one parameter';
      const seen = new Set<string>();
      for (const ch of c.changes) {
        if (seen.has(ch.name)) return `${ch.name} is named twice`;
        seen.add(ch.name);
        const why = paramValueProblem(ch.name, ch.value);
        if (why) return why;
      }
      break;
    }
    case ProposalType.ReserveSpend: {
      if (ctx.reserve.length === 0) return 'this network has no development reserve to spend from';
      if (c.recipient.length === 0) return 'a reserve-spend proposal names who is paid';
      if (bytesEqual(c.recipient, ctx.reserve)) return 'the reserve cannot pay itself';
      if (c.amount === 0n) return 'a reserve-spend proposal pays more than 0';
      break;
    }
    case ProposalType.Upgrade: {
      if (!/^[\w.-]{1,32}$/.test(c.upgradeName)) return 'an upgrade name is 1–32 letters, digits, _ . -';
      // The vote must be able to end before the height, with room for the nodes to be told.
      const earliest = BigInt(ctx.height) + BigInt(ctx.params.governance.votingPeriodBlocks) + 2n;
      if (c.upgradeHeight < earliest) return `the upgrade height must be at least ${earliest} (this height + the voting period + 2)`;
      // A plan is scheduled work: one absurdly far away would keep an idle network making blocks for ever.
      const latest = earliest + BigInt(MAX_UPGRADE_LEAD_BLOCKS);
      if (c.upgradeHeight > latest) return `the upgrade height must be at most ${latest} (${MAX_UPGRADE_LEAD_BLOCKS} blocks after the earliest)`;
      break;
    }
    default:
      return `unknown proposal type ${c.type} (1 text, 2 param-change, 3 reserve-spend, 4 upgrade)`;
  }
  // Fields of another type would be stored and shown but never acted on: refuse them.
  const given = PROPOSAL_TYPE_NAMES[c.type as ProposalType];
  if (c.type !== ProposalType.ParamChange && c.changes.length > 0) return `parameter changes were given to a ${given} proposal`;
  if (c.type !== ProposalType.ReserveSpend && (c.recipient.length > 0 || c.amount > 0n)) return `a payment was given to a ${given} proposal`;
  if (c.type !== ProposalType.Upgrade && (c.upgradeName !== '' || c.upgradeHeight > 0n || c.upgradeInfo !== ''))
    return `upgrade fields were given to a ${given} proposal`;
  return undefined;
}

/** How far past the earliest possible height an upgrade may be planned. */
export const MAX_UPGRADE_LEAD_BLOCKS = 10_000_000;

const depositsAddress = (): Uint8Array => systemAddress(GOV_DEPOSITS);

function readProposal(ctx: ExecContext, id: bigint): GovProposal | undefined {
  const p = stores.govProposals.get(ctx.state, id);
  return p && { ...p };
}

/** Moves ZNC held for deposits on main into or out of the deposits account. */
function holdDeposit(ctx: ExecContext, amount: bigint): void {
  const hex = toHex(depositsAddress());
  const acc = readAccount(ctx.state, hex);
  acc.balances[ZNC] = (acc.balances[ZNC] ?? 0n) + amount;
  writeAccount(ctx.state, hex, acc);
}

function releaseDeposit(ctx: ExecContext, to: Uint8Array, amount: bigint): void {
  if (amount === 0n) return;
  const hex = toHex(depositsAddress());
  const acc = readAccount(ctx.state, hex);
  const held = acc.balances[ZNC] ?? 0n;
  // The deposits account holds exactly the open proposals' deposits: less is a bug, never a user's doing.
  if (held < amount) throw new Error(`governance deposits hold ${held}, cannot release ${amount}`);
  acc.balances[ZNC] = held - amount;
  writeAccount(ctx.state, hex, acc);
  credit(ctx, to, ZNC, amount);
}

function addDeposit(ctx: ExecContext, id: bigint, p: GovProposal, depositor: Uint8Array, amount: bigint): void {
  holdDeposit(ctx, amount);
  const hex = toHex(depositor);
  const had = stores.govDeposits.get(ctx.state, id, hex)?.amount ?? 0n;
  stores.govDeposits.set(ctx.state, id, hex, { amount: had + amount });
  p.deposit += amount;
  if (p.status !== ProposalStatus.Deposit || p.deposit < ctx.params.governance.minDeposit) return;
  // An upgrade whose vote would end at or after its height could only fail when counted (see
  // scheduleUpgrade): nobody is asked to vote on it, and its deposits go back now.
  const end = BigInt(ctx.height + ctx.params.governance.votingPeriodBlocks);
  if (p.type === ProposalType.Upgrade && p.upgradeHeight <= end) {
    p.status = ProposalStatus.Failed;
    p.note = `its upgrade height ${p.upgradeHeight} would come before its vote could end (${end})`;
    settleDeposits(ctx, id, p, false);
    return;
  }
  startVoting(ctx, id, p);
}

function startVoting(ctx: ExecContext, id: bigint, p: GovProposal): void {
  p.status = ProposalStatus.Voting;
  p.votingStart = BigInt(ctx.height);
  p.votingEnd = BigInt(ctx.height + ctx.params.governance.votingPeriodBlocks);
  schedule(ctx, p.votingEnd, DueKind.GovVotingEnd, proposalIdBytes(id));
}

/** Main-chain receipt: a proposal submitted on its proposer's home chain arrives with its first deposit. */
export function applyGovSubmit(ctx: ExecContext, r: Receipt): void {
  const s = decode(ProposalSubmissionSchema, r.data);
  const counter = stores.govCounter.get(ctx.state)?.next ?? 1n;
  const id = counter;
  stores.govCounter.set(ctx.state, { next: id + 1n });
  const p: GovProposal = {
    type: s.type,
    title: s.title,
    description: s.description,
    changes: s.changes,
    recipient: s.recipient,
    amount: s.amount,
    upgradeName: s.upgradeName,
    upgradeHeight: s.upgradeHeight,
    upgradeInfo: s.upgradeInfo,
    proposer: r.address,
    tx: s.tx,
    status: ProposalStatus.Deposit,
    submitHeight: BigInt(ctx.height),
    depositEnd: BigInt(ctx.height + ctx.params.governance.depositPeriodBlocks),
    deposit: 0n,
    votingStart: 0n,
    votingEnd: 0n,
    tally: { yes: 0n, no: 0n, abstain: 0n, veto: 0n, bonded: 0n },
    executeAt: 0n,
    reserveProposal: 0n,
    note: '',
  };
  addDeposit(ctx, id, p, r.address, r.amount);
  if (p.status === ProposalStatus.Deposit) schedule(ctx, p.depositEnd, DueKind.GovDepositEnd, proposalIdBytes(id));
  stores.govProposals.set(ctx.state, id, p);
}

/** Main-chain receipt: a deposit arrives. A proposal no longer taking deposits sends it back. */
export function applyGovDeposit(ctx: ExecContext, r: Receipt): void {
  const id = proposalIdOf(r.data);
  const p = readProposal(ctx, id);
  if (!p || (p.status !== ProposalStatus.Deposit && p.status !== ProposalStatus.Voting)) {
    credit(ctx, r.address, ZNC, r.amount);
    return;
  }
  addDeposit(ctx, id, p, r.address, r.amount);
  stores.govProposals.set(ctx.state, id, p);
}

/** Returns every deposit on a proposal to its depositor, or sends them all to the rewards pool. */
function settleDeposits(ctx: ExecContext, id: bigint, p: GovProposal, toPool: boolean): void {
  for (const [[, hex], d] of stores.govDeposits.scan(ctx.state, id)) {
    stores.govDeposits.delete(ctx.state, id, hex);
    if (toPool) continue;
    releaseDeposit(ctx, fromHex(hex), d.amount);
  }
  if (toPool) releaseDeposit(ctx, systemAddress(REWARDS_POOL_NAME), p.deposit);
}

/** One staker's weight in a vote, and whose vote decided it. */
export interface VoterWeight {
  /** The staker (hex). */
  readonly voter: string;
  readonly weight: bigint;
  readonly option: VoteOption;
  /** The proxy (hex) whose vote the weight followed; undefined when the staker voted itself. */
  readonly via?: string;
}

/**
 * Counts a vote from main-chain state: every bonded stake weighs once, for the staker's own vote,
 * else for its proxy's (one step, as in elections), else not at all. Unbonding stake does not count.
 */
export function tallyVotes(main: StateReader, id: bigint): { tally: GovTally; weights: VoterWeight[] } {
  const tally: GovTally = { yes: 0n, no: 0n, abstain: 0n, veto: 0n, bonded: 0n };
  const weights: VoterWeight[] = [];
  for (const [[hex], s] of stores.stakes.scan(main)) {
    if (s.staked === 0n) continue;
    tally.bonded += s.staked;
    const own = stores.govVotes.get(main, id, hex);
    let option = own?.option;
    let via: string | undefined;
    if (option === undefined) {
      const proxy = stores.votes.get(main, hex)?.proxy;
      if (proxy && proxy.length === 21) {
        const pv = stores.govVotes.get(main, id, toHex(proxy));
        if (pv) {
          option = pv.option;
          via = toHex(proxy);
        }
      }
    }
    if (option === undefined) continue;
    const o = option as VoteOption;
    if (o === VoteOption.Yes) tally.yes += s.staked;
    else if (o === VoteOption.No) tally.no += s.staked;
    else if (o === VoteOption.Abstain) tally.abstain += s.staked;
    else tally.veto += s.staked;
    weights.push(via ? { voter: hex, weight: s.staked, option: o, via } : { voter: hex, weight: s.staked, option: o });
  }
  return { tally, weights };
}

export type VoteOutcome = 'passed' | 'rejected-quorum' | 'rejected' | 'vetoed';

/** What a count decides under the governance parameters (quorum first, then veto, then threshold). */
export function voteOutcome(t: GovTally, g: LedgerParams['governance']): VoteOutcome {
  const voted = t.yes + t.no + t.abstain + t.veto;
  if (t.bonded === 0n || voted * 10_000n < BigInt(g.quorumBp) * t.bonded) return 'rejected-quorum';
  if (t.veto * 10_000n > BigInt(g.vetoBp) * voted) return 'vetoed';
  const decisive = t.yes + t.no + t.veto;
  if (decisive > 0n && t.yes * 10_000n > BigInt(g.thresholdBp) * decisive) return 'passed';
  return 'rejected';
}

/** Start of a main height: governance work the queue scheduled for it. */
export function govDue(ctx: ExecContext, kind: DueKind, idBytes: Uint8Array): void {
  if (ctx.chain !== MAIN_CHAIN) return;
  const id = proposalIdOf(idBytes);
  const p = readProposal(ctx, id);
  if (!p) return;
  switch (kind) {
    case DueKind.GovDepositEnd:
      if (p.status !== ProposalStatus.Deposit) return;
      p.status = ProposalStatus.Expired;
      p.note = `deposit period ended with ${p.deposit} of ${ctx.params.governance.minDeposit} base units`;
      settleDeposits(ctx, id, p, false);
      break;
    case DueKind.GovVotingEnd:
      if (p.status !== ProposalStatus.Voting) return;
      endVote(ctx, id, p);
      break;
    case DueKind.GovExecute:
      if (p.status !== ProposalStatus.Passed || p.type !== ProposalType.ParamChange) return;
      executeParamChange(ctx, p);
      break;
    default:
      return;
  }
  stores.govProposals.set(ctx.state, id, p);
}

function endVote(ctx: ExecContext, id: bigint, p: GovProposal): void {
  const { tally } = tallyVotes(ctx.state, id);
  p.tally = tally;
  const outcome = voteOutcome(tally, ctx.params.governance);
  if (outcome === 'vetoed') {
    p.status = ProposalStatus.Vetoed;
    settleDeposits(ctx, id, p, true);
    return;
  }
  settleDeposits(ctx, id, p, false);
  if (outcome !== 'passed') {
    p.status = ProposalStatus.Rejected;
    p.note = outcome === 'rejected-quorum' ? 'quorum not reached' : 'not enough yes';
    return;
  }
  p.status = ProposalStatus.Passed;
  switch (p.type) {
    case ProposalType.ParamChange:
      p.executeAt = BigInt(ctx.height + ctx.params.governance.executionDelayBlocks);
      schedule(ctx, p.executeAt, DueKind.GovExecute, proposalIdBytes(id));
      break;
    case ProposalType.ReserveSpend:
      openReserveProposal(ctx, id, p);
      break;
    case ProposalType.Upgrade:
      scheduleUpgrade(ctx, id, p);
      break;
  }
}

/** A passed param-change takes effect (from the next height, on every chain). */
function executeParamChange(ctx: ExecContext, p: GovProposal): void {
  const prior = stores.paramOverrides.get(ctx.state)?.changes ?? [];
  const merged = new Map<string, ParamChange>(prior.map((c) => [c.name, c]));
  for (const c of p.changes) {
    const why = paramValueProblem(c.name, c.value);
    if (why) {
      p.status = ProposalStatus.Failed;
      p.note = why.slice(0, 200);
      return;
    }
    merged.set(c.name, { name: c.name, value: c.value });
  }
  const changes = [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  stores.paramOverrides.set(ctx.state, { changes });
  p.status = ProposalStatus.Executed;
}

/**
 * A passed reserve-spend becomes a proposal on the reserve multisig, made in governance's name:
 * it pays only when the multisig's members approve and execute it (ops/multisig.ts), and the
 * multisig cannot propose a payment from the reserve itself.
 */
function openReserveProposal(ctx: ExecContext, id: bigint, p: GovProposal): void {
  const hex = toHex(ctx.reserve);
  const ms = ctx.reserve.length > 0 ? stores.multisigs.get(ctx.state, hex) : undefined;
  if (!ms) {
    p.status = ProposalStatus.Failed;
    p.note = 'this network has no development reserve';
    return;
  }
  const mid = ms.nextProposal;
  stores.multisigs.set(ctx.state, hex, { ...ms, nextProposal: mid + 1n });
  stores.proposals.set(ctx.state, hex, mid, {
    proposer: systemAddress(GOVERNANCE_NAME),
    to: p.recipient,
    token: ZNC,
    amount: p.amount,
    memo: `governance proposal ${id}: ${p.title}`.slice(0, 256),
    approvals: [],
    executed: false,
  });
  p.reserveProposal = mid;
}

function scheduleUpgrade(ctx: ExecContext, id: bigint, p: GovProposal): void {
  if (p.upgradeHeight <= BigInt(ctx.height)) {
    p.status = ProposalStatus.Failed;
    p.note = `its height ${p.upgradeHeight} had passed when the vote ended`;
    return;
  }
  if (stores.upgradesDone.has(ctx.state, p.upgradeName)) {
    p.status = ProposalStatus.Failed;
    p.note = `upgrade ${p.upgradeName} was already carried out`;
    return;
  }
  const prior = stores.upgradePlan.get(ctx.state);
  // One plan at a time: a later passed upgrade replaces an earlier one not yet reached.
  if (prior) {
    const old = stores.govProposals.get(ctx.state, prior.proposal);
    if (old) stores.govProposals.set(ctx.state, prior.proposal, { ...old, status: ProposalStatus.Failed, note: `replaced by proposal ${id}` });
  }
  stores.upgradePlan.set(ctx.state, { name: p.upgradeName, height: p.upgradeHeight, info: p.upgradeInfo, proposal: id });
  schedule(ctx, p.upgradeHeight, DueKind.GovUpgrade, proposalIdBytes(id));
}

/** Refuses a vote or deposit on a proposal that does not take one now. */
export function requireOpen(state: StateReader, id: bigint, what: 'vote' | 'deposit'): GovProposal {
  const p = stores.govProposals.get(state, id);
  if (!p) fail('UNKNOWN_PROPOSAL', `there is no governance proposal ${id}`);
  const open = what === 'vote' ? p.status === ProposalStatus.Voting : p.status === ProposalStatus.Deposit || p.status === ProposalStatus.Voting;
  if (!open) fail('PROPOSAL_CLOSED', `proposal ${id} takes no ${what} now: ${what === 'vote' ? 'its vote is not open' : 'it has ended'}`);
  return p;
}

import { encodeAddress, fromHex, toHex } from '../crypto/index.ts';
import {
  GOVERNABLE_PARAMS,
  PROPOSAL_STATUS_NAMES,
  PROPOSAL_TYPE_NAMES,
  ProposalStatus,
  ProposalType,
  VOTE_OPTION_NAMES,
  paramValue,
  voteOutcome,
  type GovProposal,
  type GovTally,
  type LedgerParams,
  type LedgerReader,
  type ProposalStatus as Status,
  type ProposalType as Type,
  type VoteOption,
  type VoteOutcome,
  type VoterWeight,
} from '../ledger/index.ts';
import type { GovParamAnswer, GovParamsAnswer, GovTallyAnswer, ProposalAnswer, ProposalSummary, ProposalsAnswer } from '../sdk/index.ts';
import { ApiError } from './errors.ts';

// Read-only views of governance for the HTTP API, from main-chain state: proposals with their
// deposits, votes and count (final, or live while the vote is open), and the governable
// parameters with their values now and at genesis.

const orNull = (h: bigint): number | null => (h === 0n ? null : Number(h));
const addressOf = (hex: string): string => encodeAddress(fromHex(hex));
const MAX_U64 = (1n << 64n) - 1n;

/** A proposal id from a URL: a decimal whole number (400 otherwise). */
export function parseProposalId(s: string): bigint {
  if (!/^(0|[1-9]\d{0,19})$/.test(s) || BigInt(s) > MAX_U64)
    throw new ApiError(
      400,
      'INVALID_PROPOSAL_ID',
      `${JSON.stringify(s)} is not a proposal id: ids are whole numbers (1, 2, …) as GET /gov/proposals lists them`,
    );
  return BigInt(s);
}

function summaryView(id: bigint, p: GovProposal): ProposalSummary {
  return {
    id: id.toString(),
    type: PROPOSAL_TYPE_NAMES[p.type as Type] as ProposalSummary['type'],
    title: p.title,
    status: PROPOSAL_STATUS_NAMES[p.status as Status] as ProposalSummary['status'],
    proposer: encodeAddress(p.proposer),
    deposit: p.deposit.toString(),
    submitHeight: Number(p.submitHeight),
    depositEnd: Number(p.depositEnd),
    votingStart: orNull(p.votingStart),
    votingEnd: orNull(p.votingEnd),
    executeAt: orNull(p.executeAt),
    tx: toHex(p.tx),
  };
}

export function proposalsView(reader: LedgerReader): ProposalsAnswer {
  const proposals = reader.govProposals().map(([id, p]) => summaryView(id, p));
  proposals.reverse();
  return { height: reader.height, proposals };
}

/** The outcome an ended vote had, as its status and note recorded it. */
function recordedOutcome(p: GovProposal): VoteOutcome {
  if (p.status === ProposalStatus.Vetoed) return 'vetoed';
  if (p.status === ProposalStatus.Rejected) return p.note === 'quorum not reached' ? 'rejected-quorum' : 'rejected';
  return 'passed';
}

/** Basis points of `part` in `whole`, rounded down (null for an empty whole). */
const shareBp = (part: bigint, whole: bigint): number | null => (whole === 0n ? null : Number((part * 10_000n) / whole));

export function tallyView(t: GovTally, g: LedgerParams['governance'], o: { final: boolean; outcome: VoteOutcome; weights?: VoterWeight[] }): GovTallyAnswer {
  const voted = t.yes + t.no + t.abstain + t.veto;
  const decisive = t.yes + t.no + t.veto;
  // The least weight with voted × 10,000 ≥ quorumBp × bonded.
  const needed = (BigInt(g.quorumBp) * t.bonded + 9_999n) / 10_000n;
  return {
    final: o.final,
    yes: t.yes.toString(),
    no: t.no.toString(),
    abstain: t.abstain.toString(),
    veto: t.veto.toString(),
    bonded: t.bonded.toString(),
    voted: voted.toString(),
    quorum: { bp: g.quorumBp, needed: needed.toString(), reached: t.bonded > 0n && voted * 10_000n >= BigInt(g.quorumBp) * t.bonded },
    threshold: { bp: g.thresholdBp, yesShareBp: shareBp(t.yes, decisive), met: decisive > 0n && t.yes * 10_000n > BigInt(g.thresholdBp) * decisive },
    vetoLine: { bp: g.vetoBp, vetoShareBp: shareBp(t.veto, voted), over: t.veto * 10_000n > BigInt(g.vetoBp) * voted },
    outcome: o.outcome,
    weights: o.weights
      ? o.weights.map((w) => ({
          voter: addressOf(w.voter),
          weight: w.weight.toString(),
          option: VOTE_OPTION_NAMES[w.option],
          ...(w.via ? { via: addressOf(w.via) } : {}),
        }))
      : null,
  };
}

function proposalTally(reader: LedgerReader, id: bigint, p: GovProposal): GovTallyAnswer | null {
  const g = reader.params.governance;
  if (p.status === ProposalStatus.Deposit || p.status === ProposalStatus.Expired) return null;
  if (p.status === ProposalStatus.Voting) {
    const live = reader.govTally(id);
    return tallyView(live.tally, g, { final: false, outcome: voteOutcome(live.tally, g), weights: live.weights });
  }
  return tallyView(p.tally, g, { final: true, outcome: recordedOutcome(p) });
}

/** `reserve`: the development reserve's multisig address (empty: none). */
export function proposalView(reader: LedgerReader, reserve: Uint8Array, idText: string): ProposalAnswer {
  const id = parseProposalId(idText);
  const p = reader.govProposal(id);
  if (!p) throw new ApiError(404, 'UNKNOWN_PROPOSAL', `there is no governance proposal ${id} (GET /gov/proposals lists them)`);
  let reserveProposal: ProposalAnswer['reserveProposal'] = null;
  // Multisig proposal ids start at 1: 0 means the vote has not (or not successfully) opened one.
  if (p.reserveProposal > 0n && reserve.length > 0) {
    const hex = toHex(reserve);
    const ms = reader.multisig(hex);
    const mp = reader.proposals(hex).find(([mid]) => mid === p.reserveProposal)?.[1];
    if (ms && mp)
      reserveProposal = {
        id: p.reserveProposal.toString(),
        multisig: encodeAddress(reserve),
        approvals: mp.approvals.length,
        threshold: ms.threshold,
        executed: mp.executed,
      };
  }
  const params = reader.params;
  return {
    height: reader.height,
    ...summaryView(id, p),
    description: p.description,
    changes: p.changes.map((c) => ({ name: c.name, value: c.value, current: currentValue(params, c.name) })),
    recipient: p.recipient.length > 0 ? encodeAddress(p.recipient) : null,
    amount: p.amount.toString(),
    upgrade: p.type === ProposalType.Upgrade ? { name: p.upgradeName, height: Number(p.upgradeHeight), info: p.upgradeInfo } : null,
    reserveProposal,
    note: p.note,
    deposits: reader.govDeposits(id).map(([hex, amount]) => ({ depositor: addressOf(hex), amount: amount.toString() })),
    votes: reader.govVotes(id).map(([hex, option]) => ({ voter: addressOf(hex), option: VOTE_OPTION_NAMES[option as VoteOption] })),
    tally: proposalTally(reader, id, p),
  };
}

function currentValue(params: LedgerParams, name: string): string {
  return GOVERNABLE_PARAMS.some((s) => s.name === name) ? paramValue(params, name) : '';
}

/**
 * Which executed param-change set each changed parameter's value now: of the executed proposals
 * naming it with that value, the one that took effect last (ties: the higher id). State keeps the
 * values in force, not who set them, so this is derived from the proposals (which state keeps).
 */
function changedBy(reader: LedgerReader): Map<string, bigint> {
  const now = new Map(reader.paramChanges().map((c) => [c.name, c.value]));
  const best = new Map<string, [at: bigint, id: bigint]>();
  for (const [id, p] of reader.govProposals()) {
    if (p.type !== ProposalType.ParamChange || p.status !== ProposalStatus.Executed) continue;
    for (const c of p.changes) {
      if (now.get(c.name) !== c.value) continue;
      const prior = best.get(c.name);
      if (!prior || p.executeAt > prior[0] || (p.executeAt === prior[0] && id > prior[1])) best.set(c.name, [p.executeAt, id]);
    }
  }
  return new Map([...best].map(([name, [, id]]) => [name, id]));
}

/** `genesisParams`: the parameters the chain began with (the ledger's `genesisParams`). */
export function govParamsView(reader: LedgerReader, genesisParams: LedgerParams): GovParamsAnswer {
  const by = changedBy(reader);
  const params = reader.params;
  const list: GovParamAnswer[] = GOVERNABLE_PARAMS.map((s) => ({
    name: s.name,
    type: s.type,
    min: s.min.toString(),
    max: s.max.toString(),
    about: s.about,
    value: paramValue(params, s.name),
    genesis: paramValue(genesisParams, s.name),
    changedBy: by.get(s.name)?.toString() ?? null,
  }));
  const plan = reader.upgradePlan();
  return {
    height: reader.height,
    params: list,
    upgradePlan: plan ? { name: plan.name, height: Number(plan.height), info: plan.info, proposal: plan.proposal.toString() } : null,
    upgradesDone: reader.upgradesDone().map(([name, d]) => ({ name, height: Number(d.height), proposal: d.proposal.toString() })),
  };
}

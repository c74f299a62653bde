import {
  PROPOSAL_STATUS_NAMES,
  PROPOSAL_TYPE_NAMES,
  ProposalStatus,
  ProposalType,
  type GovProposal,
  type LedgerReader,
  type ProposalStatus as Status,
  type ProposalType as Type,
} from '../ledger/index.ts';
import type { GovEventKind, GovNodeEvent, ProposalStatusName, ProposalTypeName } from '../sdk/index.ts';

// Governance events for the node's stream, derived after each commit by comparing the proposals'
// statuses on main with those seen at the previous commit. The ledger records where each proposal
// stands, so nothing has to be announced from inside execution (which stays as it was: no event
// kind of its own, nothing new in executed heights) and every transition is seen, however it
// came about (a receipt, a deposit, a deadline, an upgrade, a later upgrade replacing one).
// Only proposals that can still change are read again: those gathering deposits, voting or
// passed and pending, and the ids issued since (ids count up from 1).

const FINAL: ReadonlySet<number> = new Set([
  ProposalStatus.Rejected,
  ProposalStatus.Vetoed,
  ProposalStatus.Executed,
  ProposalStatus.Failed,
  ProposalStatus.Expired,
]);

export class GovWatch {
  /** Status last seen of every proposal that may still change. */
  private readonly open = new Map<bigint, Status>();
  private nextId = 1n;

  /** Starts from the proposals as `reader` shows them now (a node's state when it opens). */
  constructor(reader: LedgerReader) {
    for (const [id, p] of reader.govProposals()) {
      if (!FINAL.has(p.status)) this.open.set(id, p.status as Status);
      if (id >= this.nextId) this.nextId = id + 1n;
    }
  }

  /** What changed since the last call, as events of the height just committed. */
  changes(reader: LedgerReader): GovNodeEvent[] {
    const out: GovNodeEvent[] = [];
    const height = reader.height;
    for (const [id, before] of [...this.open]) {
      const p = reader.govProposal(id);
      if (!p || p.status === before) continue;
      out.push(...transition(id, p, before, height, reader));
      this.track(id, p);
    }
    for (let p = reader.govProposal(this.nextId); p; p = reader.govProposal(this.nextId)) {
      const id = this.nextId++;
      out.push(event('submitted', id, p, height, `deposit ${p.deposit} base units; deposits until height ${p.depositEnd}`));
      if (p.status !== ProposalStatus.Deposit) out.push(...transition(id, p, ProposalStatus.Deposit, height, reader));
      this.track(id, p);
    }
    return out;
  }

  private track(id: bigint, p: GovProposal): void {
    if (FINAL.has(p.status)) this.open.delete(id);
    else this.open.set(id, p.status as Status);
  }
}

function event(kind: GovEventKind, id: bigint, p: GovProposal, height: number, detail: string, outcome?: ProposalStatusName): GovNodeEvent {
  return {
    type: 'gov',
    kind,
    proposal: id.toString(),
    proposalType: PROPOSAL_TYPE_NAMES[p.type as Type] as ProposalTypeName,
    title: p.title,
    status: PROPOSAL_STATUS_NAMES[p.status as Status] as ProposalStatusName,
    ...(outcome ? { outcome } : {}),
    detail,
    height,
  };
}

/** The events of a proposal moving from `before` to where it is now (possibly several steps in one height). */
function transition(id: bigint, p: GovProposal, before: Status, height: number, reader: LedgerReader): GovNodeEvent[] {
  const out: GovNodeEvent[] = [];
  const status = p.status as Status;
  const name = PROPOSAL_STATUS_NAMES[status] as ProposalStatusName;
  if (status === ProposalStatus.Expired) return [event('expired', id, p, height, p.note)];
  if (before === ProposalStatus.Deposit && status !== ProposalStatus.Deposit)
    out.push(event('vote-opened', id, p, height, `votes commit from height ${p.votingStart}; counted at height ${p.votingEnd}`));
  if (status === ProposalStatus.Voting) return out;
  const t = p.tally;
  const counted = `yes ${t.yes}, no ${t.no}, abstain ${t.abstain}, veto ${t.veto} of ${t.bonded} bonded`;
  if (before !== ProposalStatus.Passed) out.push(event('vote-ended', id, p, height, p.note ? `${counted}: ${p.note}` : counted, name));
  if (status === ProposalStatus.Passed && p.type === ProposalType.Upgrade) {
    const plan = reader.upgradePlan();
    if (plan && plan.proposal === id)
      out.push(event('upgrade-planned', id, p, height, `upgrade ${plan.name} at height ${plan.height}${plan.info ? ` (${plan.info})` : ''}`));
  }
  if (status === ProposalStatus.Executed && p.type === ProposalType.ParamChange)
    out.push(event('param-changed', id, p, height, p.changes.map((c) => `${c.name} = ${c.value}`).join(', ') + ` from height ${height + 1}`));
  if (status === ProposalStatus.Executed && p.type === ProposalType.Upgrade)
    out.push(event('upgrade-done', id, p, height, `upgrade ${p.upgradeName} ran at height ${p.upgradeHeight}`));
  if (status === ProposalStatus.Failed) out.push(event('failed', id, p, height, p.note));
  return out;
}

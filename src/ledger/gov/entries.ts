import type { Infer } from '../../codec/index.ts';
import { address, optionalAddress } from '../fields.ts';

// What governance keeps in main-chain state (keys in ../stores.ts) and what its receipts carry.

/** What a proposal asks for. */
export const ProposalType = {
  /** A statement the holders adopt or not; nothing executes. */
  Text: 1,
  /** New values for named parameters, written `executionDelayBlocks` after the vote ends and in force from the height after. */
  ParamChange: 2,
  /** A payment from the development reserve: needs the reserve multisig's approval as well. */
  ReserveSpend: 3,
  /** Every node stops at a height until it runs software that knows the upgrade's name. */
  Upgrade: 4,
} as const;
export type ProposalType = (typeof ProposalType)[keyof typeof ProposalType];
export const PROPOSAL_TYPE_NAMES: Record<ProposalType, string> = { 1: 'text', 2: 'param-change', 3: 'reserve-spend', 4: 'upgrade' };

/** Where a proposal stands. */
export const ProposalStatus = {
  /** Gathering its deposit. */
  Deposit: 1,
  Voting: 2,
  /** The vote passed; what it asks for is pending (a parameter change's delay, the reserve's approval, the upgrade height). */
  Passed: 3,
  Rejected: 4,
  /** Vetoed: its deposit went to the rewards pool. */
  Vetoed: 5,
  /** Passed and carried out (a parameter change in effect). */
  Executed: 6,
  /**
   * Passed but could not be carried out when its time came, or an upgrade whose deposit completed
   * too late for its vote to end before its height (`note` says why).
   */
  Failed: 7,
  /** Its deposit period ended short of the minimum deposit; deposits were returned. */
  Expired: 8,
} as const;
export type ProposalStatus = (typeof ProposalStatus)[keyof typeof ProposalStatus];
export const PROPOSAL_STATUS_NAMES: Record<ProposalStatus, string> = {
  1: 'deposit',
  2: 'voting',
  3: 'passed',
  4: 'rejected',
  5: 'vetoed',
  6: 'executed',
  7: 'failed',
  8: 'expired',
};

export const VoteOption = { Yes: 1, No: 2, Abstain: 3, Veto: 4 } as const;
export type VoteOption = (typeof VoteOption)[keyof typeof VoteOption];
export const VOTE_OPTION_NAMES: Record<VoteOption, 'yes' | 'no' | 'abstain' | 'veto'> = { 1: 'yes', 2: 'no', 3: 'abstain', 4: 'veto' };

export const ParamChangeSchema = {
  $id: 'ParamChange',
  fields: { name: { id: 1, type: 'string', max: 64 }, value: { id: 2, type: 'string', max: 24 } },
} as const;
export type ParamChange = Infer<typeof ParamChangeSchema>;

/** What a proposer asks for: the payload of GovPropose less its deposit, carried to main by its receipt. */
export const ProposalContentFields = {
  type: { id: 1, type: 'uint32' },
  title: { id: 2, type: 'string', max: 140 },
  description: { id: 3, type: 'string', max: 2_000 },
  /** param-change: the parameters and their new values (decimal strings). */
  changes: { id: 4, type: { array: ParamChangeSchema, max: 16 } },
  /** reserve-spend: who is paid, and how many base units. */
  recipient: { id: 5, ...optionalAddress },
  amount: { id: 6, type: 'uint64' },
  /** upgrade: its name (what the software must know), the height every node stops at, and an info string (where to get it). */
  upgradeName: { id: 7, type: 'string', max: 32 },
  upgradeHeight: { id: 8, type: 'uint64' },
  upgradeInfo: { id: 9, type: 'string', max: 256 },
} as const;

export const ProposalContentSchema = { $id: 'ProposalContent', fields: ProposalContentFields } as const;
export type ProposalContent = Infer<typeof ProposalContentSchema>;

/** The data of a GovSubmit receipt: the content, and the hash of the transaction that submitted it. */
export const ProposalSubmissionSchema = {
  $id: 'ProposalSubmission',
  fields: { ...ProposalContentFields, tx: { id: 20, type: 'bytes', length: 32 } },
} as const;
export type ProposalSubmission = Infer<typeof ProposalSubmissionSchema>;

const TallySchema = {
  $id: 'GovTally',
  fields: {
    yes: { id: 1, type: 'uint64' },
    no: { id: 2, type: 'uint64' },
    abstain: { id: 3, type: 'uint64' },
    veto: { id: 4, type: 'uint64' },
    /** All bonded stake when the vote was counted (quorum is a share of it). */
    bonded: { id: 5, type: 'uint64' },
  },
} as const;
export type GovTally = Infer<typeof TallySchema>;

/** `gprop/<id>`: a proposal and where it stands. */
export const GovProposalSchema = {
  $id: 'GovProposal',
  fields: {
    ...ProposalContentFields,
    proposer: { id: 20, ...address },
    /** Hash of the GovPropose transaction. */
    tx: { id: 21, type: 'bytes', length: 32 },
    status: { id: 22, type: 'uint32' },
    submitHeight: { id: 23, type: 'uint64' },
    /**
     * The height the deposit period ends at: deposits that reach main by then count (sent by the
     * height before); one that lands later goes back to its sender.
     */
    depositEnd: { id: 24, type: 'uint64' },
    /** Deposits held (base units), returned or sent to the pool when the proposal ends. */
    deposit: { id: 25, type: 'uint64' },
    /**
     * The vote takes votes at heights votingStart … votingEnd − 1 and is counted at the start of
     * votingEnd, before that height's transactions (0 before it starts).
     */
    votingStart: { id: 26, type: 'uint64' },
    votingEnd: { id: 27, type: 'uint64' },
    /** The final count (zeros until the vote ends). */
    tally: { id: 28, type: TallySchema },
    /**
     * param-change: the height at whose start the change is written; every chain runs under it
     * from executeAt + 1 (the height executeAt itself ran under the parameters it began with).
     */
    executeAt: { id: 29, type: 'uint64' },
    /** reserve-spend: the id of the reserve multisig proposal the vote created (0: none). */
    reserveProposal: { id: 30, type: 'uint64' },
    /** Why it was rejected or failed, in words. */
    note: { id: 31, type: 'string', max: 200 },
  },
} as const;
export type GovProposal = Infer<typeof GovProposalSchema>;

/** `gdep/<id>/<depositor>`: what one account deposited on a proposal. */
export const GovDepositSchema = { $id: 'GovDeposit', fields: { amount: { id: 1, type: 'uint64' } } } as const;
export type GovDepositEntry = Infer<typeof GovDepositSchema>;

/** `gvote/<id>/<voter>`: a voter's option (the last vote it sent). */
export const GovVoteSchema = { $id: 'GovVote', fields: { option: { id: 1, type: 'uint32' } } } as const;
export type GovVoteEntry = Infer<typeof GovVoteSchema>;

/** `gnext`: the next proposal id. */
export const GovCounterSchema = { $id: 'GovCounter', fields: { next: { id: 1, type: 'uint64' } } } as const;
export type GovCounter = Infer<typeof GovCounterSchema>;

/** `gparams`: every parameter governance has changed, by name, with its value now. */
export const ParamOverridesSchema = { $id: 'ParamOverrides', fields: { changes: { id: 1, type: { array: ParamChangeSchema } } } } as const;
export type ParamOverrides = Infer<typeof ParamOverridesSchema>;

/** `gplan`: the upgrade every node stops for at `height` (one at a time). */
export const UpgradePlanSchema = {
  $id: 'UpgradePlan',
  fields: {
    name: { id: 1, type: 'string', max: 32 },
    height: { id: 2, type: 'uint64' },
    info: { id: 3, type: 'string', max: 256 },
    proposal: { id: 4, type: 'uint64' },
  },
} as const;
export type UpgradePlan = Infer<typeof UpgradePlanSchema>;

/** `gdone/<name>`: an upgrade carried out, and the height its handler ran at. */
export const UpgradeDoneSchema = { $id: 'UpgradeDone', fields: { height: { id: 1, type: 'uint64' }, proposal: { id: 2, type: 'uint64' } } } as const;
export type UpgradeDone = Infer<typeof UpgradeDoneSchema>;

export type GovEntry = GovProposal | GovDepositEntry | GovVoteEntry | GovCounter | ParamOverrides | UpgradePlan | UpgradeDone;

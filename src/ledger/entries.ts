import type { Infer } from '../codec/index.ts';
import { address, ADDRESS_RULE, optionalAddress } from './fields.ts';
import type { GovEntry } from './gov/entries.ts';
import type { MarketEntry } from './marketEntries.ts';

// Every value kept in chain state, with its schema. Their keys and canonical encodings are the
// stores' (stores.ts); the state root commits to those encodings, so two nodes with the same
// state always compute the same root.

const BalanceSchema = { $id: 'Balance', fields: { token: { id: 1, type: 'string', max: 10 }, amount: { id: 2, type: 'uint64' } } } as const;
const TrancheSchema = { $id: 'Tranche', fields: { at: { id: 1, type: 'uint64' }, amount: { id: 2, type: 'uint64' } } } as const;

export const AccountSchema = {
  $id: 'Account',
  fields: {
    balances: { id: 1, type: { array: BalanceSchema } },
    vesting: { id: 2, type: { array: TrancheSchema } },
    nonce: { id: 3, type: 'uint64' },
    quotaWindow: { id: 4, type: 'uint64' },
    quotaUsed: { id: 5, type: 'uint32' },
  },
} as const;

export const MultisigSchema = {
  $id: 'Multisig',
  fields: {
    members: { id: 1, type: { array: 'bytes' }, ...ADDRESS_RULE },
    threshold: { id: 2, type: 'uint32' },
    nextProposal: { id: 3, type: 'uint64' },
    label: { id: 4, type: 'string', max: 64 },
  },
} as const;

export const ProposalSchema = {
  $id: 'Proposal',
  fields: {
    proposer: { id: 1, ...address },
    to: { id: 2, ...address },
    token: { id: 3, type: 'string', max: 10 },
    amount: { id: 4, type: 'uint64' },
    memo: { id: 5, type: 'string', max: 256 },
    approvals: { id: 6, type: { array: 'bytes' }, ...ADDRESS_RULE },
    executed: { id: 7, type: 'bool' },
  },
} as const;

export const TokenSchema = {
  $id: 'Token',
  fields: {
    symbol: { id: 1, type: 'string', max: 10 },
    name: { id: 2, type: 'string', max: 64 },
    decimals: { id: 3, type: 'uint32' },
    anchorRate: { id: 4, type: 'uint64' },
    deposit: { id: 5, type: 'uint64' },
    supply: { id: 6, type: 'uint64' },
    issuer: { id: 7, ...address },
  },
} as const;

export const StakeSchema = {
  $id: 'Stake',
  fields: { staked: { id: 1, type: 'uint64' }, unbonding: { id: 2, type: 'uint64' } },
} as const;

const UnbondingSchema = {
  $id: 'Unbonding',
  fields: { address: { id: 1, ...address }, amount: { id: 2, type: 'uint64' }, releaseAt: { id: 3, type: 'uint64' } },
} as const;
export const UnbondingQueueSchema = { $id: 'UnbondingQueue', fields: { entries: { id: 1, type: { array: UnbondingSchema } } } } as const;

export const CandidateSchema = {
  $id: 'Candidate',
  fields: {
    publicKey: { id: 1, type: 'bytes', length: 32 },
    name: { id: 2, type: 'string', max: 32 },
    jailedUntil: { id: 3, type: 'uint64' },
    /** Proposals missed in a row. */
    missed: { id: 4, type: 'uint32' },
    slashed: { id: 5, type: 'bool' },
    proposed: { id: 6, type: 'uint64' },
    missedTotal: { id: 7, type: 'uint64' },
    /** Block rewards earned this epoch, still held by the rewards pool until the epoch's last height pays them. */
    earned: { id: 8, type: 'uint64' },
  },
} as const;

export const VoteRecordSchema = {
  $id: 'VoteRecord',
  fields: {
    candidates: { id: 1, type: { array: 'bytes', max: 30 }, ...ADDRESS_RULE },
    /** A proxy whose choice of candidates this voter follows (empty: none). */
    proxy: { id: 2, ...optionalAddress },
  },
} as const;

const BookkeeperSetSchema = {
  $id: 'BookkeeperSet',
  fields: { fromHeight: { id: 1, type: 'uint64' }, keys: { id: 2, type: { array: 'bytes' }, length: 32 } },
} as const;
export const BookkeeperSetsSchema = { $id: 'BookkeeperSets', fields: { sets: { id: 1, type: { array: BookkeeperSetSchema } } } } as const;

export const EvidenceMarkSchema = { $id: 'EvidenceMark', fields: { height: { id: 1, type: 'uint64' } } } as const;

export type Tranche = Infer<typeof TrancheSchema>;
export type Candidate = Infer<typeof CandidateSchema>;
export type VoteRecord = Infer<typeof VoteRecordSchema>;
export type BookkeeperSets = Infer<typeof BookkeeperSetsSchema>;
export type EvidenceMark = Infer<typeof EvidenceMarkSchema>;
/** Balances keyed by token symbol; vesting tranches of a genesis allocation. */
export interface Account {
  balances: Record<string, bigint>;
  vesting: Tranche[];
  nonce: bigint;
  quotaWindow: bigint;
  quotaUsed: number;
}
export type Multisig = Infer<typeof MultisigSchema>;
export type Proposal = Infer<typeof ProposalSchema>;
export type Token = Infer<typeof TokenSchema>;
export type Stake = Infer<typeof StakeSchema>;
export type UnbondingQueue = Infer<typeof UnbondingQueueSchema>;
export type Entry =
  | Account
  | Multisig
  | Proposal
  | Token
  | Stake
  | UnbondingQueue
  | Candidate
  | VoteRecord
  | BookkeeperSets
  | EvidenceMark
  | MarketEntry
  | GovEntry;

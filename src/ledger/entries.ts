import { decode, encode, type Infer, type ObjectSchema } from '../codec/index.ts';
import { address, ADDRESS_RULE, optionalAddress } from './fields.ts';
import { MARKET_SCHEMAS, type MarketEntry } from './marketEntries.ts';

// Every value kept in chain state, with its canonical encoding. The state root commits to
// these encodings, so two nodes with the same state always compute the same root.

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
export type Entry = Account | Multisig | Proposal | Token | Stake | UnbondingQueue | Candidate | VoteRecord | BookkeeperSets | EvidenceMark | MarketEntry;

/** State keys: the prefix names the entry type. */
export const Keys = {
  account: (addrHex: string) => `a/${addrHex}`,
  multisig: (addrHex: string) => `ms/${addrHex}`,
  proposal: (addrHex: string, id: bigint) => `mp/${addrHex}/${id.toString().padStart(20, '0')}`,
  token: (symbol: string) => `tk/${symbol}`,
  stake: (addrHex: string) => `st/${addrHex}`,
  unbonding: 'ub',
  candidate: (addrHex: string) => `cand/${addrHex}`,
  vote: (addrHex: string) => `vote/${addrHex}`,
  bookkeeperSets: 'bk',
  evidence: (hashHex: string) => `ev/${hashHex}`,
} as const;

function schemaFor(key: string): ObjectSchema {
  const prefix = key.slice(0, key.indexOf('/') === -1 ? key.length : key.indexOf('/'));
  switch (prefix) {
    case 'a':
      return AccountSchema;
    case 'ms':
      return MultisigSchema;
    case 'mp':
      return ProposalSchema;
    case 'tk':
      return TokenSchema;
    case 'st':
      return StakeSchema;
    case 'ub':
      return UnbondingQueueSchema;
    case 'cand':
      return CandidateSchema;
    case 'vote':
      return VoteRecordSchema;
    case 'bk':
      return BookkeeperSetsSchema;
    case 'ev':
      return EvidenceMarkSchema;
    default: {
      const market = (MARKET_SCHEMAS as Record<string, ObjectSchema>)[prefix];
      if (market) return market;
      throw new Error(`unknown state key ${key}`);
    }
  }
}

export function encodeEntry(key: string, value: Entry): Uint8Array {
  if (key.startsWith('a/')) {
    const acc = value as Account;
    const balances = Object.keys(acc.balances)
      .filter((t) => acc.balances[t] !== 0n)
      .sort()
      .map((token) => ({ token, amount: acc.balances[token] }));
    return encode(AccountSchema, { balances, vesting: acc.vesting, nonce: acc.nonce, quotaWindow: acc.quotaWindow, quotaUsed: acc.quotaUsed });
  }
  return encode(schemaFor(key), value as never);
}

export function decodeEntry(key: string, bytes: Uint8Array): Entry {
  if (key.startsWith('a/')) {
    const raw = decode(AccountSchema, bytes);
    const balances: Record<string, bigint> = {};
    for (const b of raw.balances) balances[b.token] = b.amount;
    return { balances, vesting: raw.vesting, nonce: raw.nonce, quotaWindow: raw.quotaWindow, quotaUsed: raw.quotaUsed };
  }
  return decode(schemaFor(key), bytes) as Entry;
}

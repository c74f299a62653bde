/** ZNC has 8 decimals: 1 ZNC = 100,000,000 base units. */
export const ZNC = 'ZNC';
export const ZNC_DECIMALS = 8;
export const ZNC_UNIT = 10n ** BigInt(ZNC_DECIMALS);
/** 10,000,000,000 ZNC exist from genesis; nothing ever mints more. */
export const TOTAL_SUPPLY = 10_000_000_000n * ZNC_UNIT;

/** Chain 0 is the main chain; chains 1..9 are the inner chains. */
export const MAIN_CHAIN = 0;
export const INNER_CHAINS = 9;
export const CHAIN_COUNT = 1 + INNER_CHAINS;

export const MAX_TX_BYTES = 8 * 1024;
/**
 * Most bytes of transactions one height may carry (all chains together): a proposal carries its
 * block, and must fit in one network message (4 MiB) with room to spare.
 */
export const MAX_BLOCK_TX_BYTES = 3 * 1024 * 1024;
export const MAX_U64 = (1n << 64n) - 1n;

export interface LedgerParams {
  /** Length of a vesting month in block-time milliseconds (30 days on a public network). */
  readonly monthMs: number;
  /** Zero fees: transactions per account per window are limited instead. */
  readonly quotaWindowMs: number;
  /** Transactions any account may send per window. */
  readonly freeQuota: number;
  /** Every this many staked base units adds one transaction per window. */
  readonly quotaStakeUnit: bigint;
  /** How long unstaked ZNC stays bonded before it is spendable again. */
  readonly unbondingMs: number;
  /** Most transactions one chain segment of a block may hold. */
  readonly maxTxsPerSegment: number;
  /** Seats in the bookkeeper set (21 on a public network, 4 on a devnet). */
  readonly bookkeeperSeats: number;
  /** Blocks per election epoch; a set elected at an epoch boundary takes over one epoch later. */
  readonly epochLength: number;
  /** ZNC base units a candidate must have staked to register. */
  readonly minCandidateStake: bigint;
  /** Consecutive missed proposals that jail a bookkeeper. */
  readonly missedToJail: number;
  /** How long a jailed bookkeeper stays out, in block-time ms (a day on a public network). */
  readonly jailMs: number;
  /** Paid from the rewards pool to the proposer of every committed block. */
  readonly blockReward: bigint;
  /** Set aside from the rewards pool for the worker dividend with every committed block. */
  readonly workerDividendPerBlock: bigint;
  /** Share of an equivocating bookkeeper's stake that is slashed (basis points). */
  readonly slashBp: number;
  /** Share of the slashed stake paid to whoever submitted the evidence (basis points). */
  readonly reporterBp: number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;
export const MONTH_MS = 30 * DAY_MS;

export const PUBLIC_PARAMS: LedgerParams = {
  monthMs: MONTH_MS,
  quotaWindowMs: 60_000,
  freeQuota: 100,
  quotaStakeUnit: 1_000n * ZNC_UNIT,
  unbondingMs: 7 * DAY_MS,
  maxTxsPerSegment: 5_000,
  bookkeeperSeats: 21,
  epochLength: 1_000,
  minCandidateStake: 100_000n * ZNC_UNIT,
  missedToJail: 10,
  jailMs: DAY_MS,
  blockReward: 10n * ZNC_UNIT,
  workerDividendPerBlock: 5n * ZNC_UNIT,
  slashBp: 1_000,
  reporterBp: 1_000,
};

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
};

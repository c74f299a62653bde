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
  readonly market: MarketParams;
  readonly governance: GovernanceParams;
}

/** How proposals are decided (src/ledger/gov/); periods count main-chain heights. */
export interface GovernanceParams {
  /** ZNC base units of deposit that move a proposal from its deposit period to its vote. */
  readonly minDeposit: bigint;
  /** Blocks a proposal has to gather its deposit; deposits return if it does not. */
  readonly depositPeriodBlocks: number;
  /** Blocks a vote lasts. */
  readonly votingPeriodBlocks: number;
  /** Share of all bonded stake that must vote (any option) for the vote to count (basis points). */
  readonly quorumBp: number;
  /** Share of yes among yes + no + veto that passes a proposal (more than this, basis points). */
  readonly thresholdBp: number;
  /** Share of veto among all votes that vetoes a proposal, its deposit going to the rewards pool (basis points). */
  readonly vetoBp: number;
  /** Blocks between the end of a passed vote and a parameter change taking effect. */
  readonly executionDelayBlocks: number;
}

/** Rules of the compute market; deadlines and windows count blocks. */
export interface MarketParams {
  /** Least ZNC a worker bonds (moved from its stake) to register. */
  readonly minWorkerBond: bigint;
  /** Blocks a leaving worker's bond stays slashable before it returns. */
  readonly workerUnbondingBlocks: number;
  /** Blocks a matched worker has to record `LeaseStarted`. */
  readonly startDeadlineBlocks: number;
  /** Blocks allowed between usage reports of a running lease. */
  readonly reportDeadlineBlocks: number;
  /** Blocks a batch result stays open to dispute before payment is released. */
  readonly reviewBlocks: number;
  /** Blocks a service with low escrow keeps running, announced, before it stops. */
  readonly graceBlocks: number;
  /** A service is low on escrow when it holds less than this many ms of pay for its leases. */
  readonly lowEscrowMs: number;
  /** Longest bid window a task may ask for. */
  readonly maxBidWindowBlocks: number;
  readonly maxBidsPerTask: number;
  /** Share of the bond slashed when a lease fails by the worker's fault (basis points). */
  readonly failSlashBp: number;
  /** Share of the bond slashed for a wrong result (basis points). */
  readonly wrongResultSlashBp: number;
  /** Paid from the worker dividend to a worker for each completed lease (if the dividend holds it). */
  readonly dividendPerLease: bigint;
  /** Workers whose misfits a task that closes with no bid records (in registration order). */
  readonly reasonScanLimit: number;
  /**
   * A dispute over a lease paid at most this many whole ZNC starts with one verifier (a second
   * opinion that can only confirm: a disagreeing verifier calls two more); above it, three.
   */
  readonly singleVerifierMaxPayZnc: number;
  /** Most verifier leases the chain draws for one dispute (re-draws after no-shows included). */
  readonly maxVerifierDraws: number;
  /** Workers the verifier draw looks at (in registration order). */
  readonly verifierScanLimit: number;
  /**
   * Blocks a committed result (redundancy group, verifier seat) has to be revealed once its group's
   * reveal phase opens; a commitment not revealed by then counts as a wrong result.
   */
  readonly revealDeadlineBlocks: number;
  /**
   * Share (basis points) of a lease's price paid to its worker for the wait from the match, when the
   * poster cancels before the lease started (the worker was fetching and starting the app). 0: not
   * paid, as before this rule, which a genesis without it keeps (its blocks replay alike); a chain
   * turns it on by governance.
   */
  readonly matchedWaitBp: number;
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
  market: {
    minWorkerBond: 1_000n * ZNC_UNIT,
    workerUnbondingBlocks: 100_000,
    startDeadlineBlocks: 60,
    reportDeadlineBlocks: 120,
    reviewBlocks: 600,
    graceBlocks: 300,
    lowEscrowMs: 60 * 60 * 1000,
    maxBidWindowBlocks: 1_000,
    maxBidsPerTask: 256,
    failSlashBp: 500,
    wrongResultSlashBp: 2_000,
    dividendPerLease: 1n * ZNC_UNIT,
    reasonScanLimit: 1_000,
    singleVerifierMaxPayZnc: 10,
    maxVerifierDraws: 9,
    verifierScanLimit: 10_000,
    revealDeadlineBlocks: 120,
    matchedWaitBp: 10_000,
  },
  governance: {
    minDeposit: 10_000n * ZNC_UNIT,
    depositPeriodBlocks: 100_000,
    votingPeriodBlocks: 100_000,
    quorumBp: 3_340,
    thresholdBp: 5_000,
    vetoBp: 3_340,
    executionDelayBlocks: 1_000,
  },
};

import { MAX_U64, type GovernanceParams, type LedgerParams, type MarketParams } from '../params.ts';

// The parameters governance may change, each with its type and the bounds it must stay in. A
// param-change proposal is checked against this table when it is submitted and again when it
// takes effect; a parameter absent from the table (the vesting month, the chain's fixed sizes) is
// not governable. The bounds keep the network safe whatever the vote: at least 4 bookkeeper seats
// (one fault tolerated), no zero window, period or deadline, every share within 0–100 %, a passing
// threshold of at least half the decisive votes, stake bonded an hour at least after unstaking.

/** `int`: a whole number (JS number); `amount`: ZNC base units (bigint); `bp`: basis points 0–10,000. */
export type ParamType = 'int' | 'amount' | 'bp';

export interface ParamSpec {
  /** `name` or `market.name` or `governance.name`, as the genesis file nests them. */
  readonly name: string;
  readonly type: ParamType;
  readonly min: bigint;
  readonly max: bigint;
  readonly about: string;
}

const DAY = 86_400_000n;
const YEAR = 365n * DAY;
const int = (name: string, min: number | bigint, max: number | bigint, about: string): ParamSpec => ({
  name,
  type: 'int',
  min: BigInt(min),
  max: BigInt(max),
  about,
});
const amount = (name: string, min: bigint, about: string): ParamSpec => ({ name, type: 'amount', min, max: MAX_U64, about });
const bp = (name: string, min: number, max: number, about: string): ParamSpec => ({ name, type: 'bp', min: BigInt(min), max: BigInt(max), about });

export const GOVERNABLE_PARAMS: readonly ParamSpec[] = [
  int('quotaWindowMs', 1_000, DAY, 'length of the zero-fee quota window (ms)'),
  int('freeQuota', 1, 1_000_000, 'transactions any account may send per window'),
  amount('quotaStakeUnit', 1n, 'staked base units that add one transaction per window'),
  // Stake must stay slashable long enough for evidence of a double signature to land.
  int('unbondingMs', 3_600_000, YEAR, 'how long unstaked ZNC stays bonded (ms; an hour at least, for evidence to land)'),
  int('maxTxsPerSegment', 1, 100_000, 'most transactions one chain segment of a block may hold'),
  int('bookkeeperSeats', 4, 200, 'seats in the bookkeeper set (4 at least: one fault tolerated)'),
  int('epochLength', 10, 10_000_000, 'blocks per election epoch'),
  amount('minCandidateStake', 1n, 'stake a bookkeeper candidate needs (base units)'),
  int('missedToJail', 1, 100_000, 'consecutive missed proposals that jail a bookkeeper'),
  int('jailMs', 0, YEAR, 'how long a jailed bookkeeper stays out (ms)'),
  amount('blockReward', 0n, 'paid from the rewards pool to each block proposer (base units)'),
  amount('workerDividendPerBlock', 0n, 'set aside for the worker dividend per block (base units)'),
  bp('slashBp', 0, 10_000, "share of an equivocator's stake slashed"),
  bp('reporterBp', 0, 10_000, 'share of a slash paid to the reporter'),
  amount('market.minWorkerBond', 1n, 'least bond a worker registers with (base units)'),
  int('market.workerUnbondingBlocks', 0, 10_000_000, "blocks a leaving worker's bond stays slashable"),
  int('market.startDeadlineBlocks', 1, 1_000_000, 'blocks a matched worker has to start a lease'),
  int('market.reportDeadlineBlocks', 1, 1_000_000, 'blocks allowed between usage reports'),
  int('market.reviewBlocks', 1, 10_000_000, 'blocks a batch result stays open to dispute'),
  int('market.graceBlocks', 1, 10_000_000, 'blocks a service low on escrow keeps running'),
  int('market.lowEscrowMs', 0, YEAR, 'escrow below this many ms of pay counts as low'),
  int('market.maxBidWindowBlocks', 1, 1_000_000, 'longest bid window a task may ask for'),
  int('market.maxBidsPerTask', 1, 10_000, 'most bids one task takes'),
  bp('market.failSlashBp', 0, 10_000, "share of a worker's bond slashed for a failed lease"),
  bp('market.wrongResultSlashBp', 0, 10_000, "share of a worker's bond slashed for a wrong result"),
  amount('market.dividendPerLease', 0n, 'worker dividend paid per completed lease (base units)'),
  int('market.reasonScanLimit', 0, 1_000_000, 'workers a bidless task explains itself against'),
  int('market.singleVerifierMaxPayZnc', 0, 1_000_000_000, 'disputes over at most this many ZNC start with one verifier'),
  int('market.maxVerifierDraws', 1, 64, 'most verifier leases one dispute draws'),
  int('market.verifierScanLimit', 1, 10_000_000, 'workers the verifier draw looks at'),
  int('market.revealDeadlineBlocks', 1, 1_000_000, 'blocks a committed result has to be revealed'),
  bp('market.matchedWaitBp', 0, 10_000, "share of a lease's price paid for its worker's wait from the match when the poster cancels before the start"),
  amount('governance.minDeposit', 1n, 'deposit that opens a proposal to votes (base units)'),
  int('governance.depositPeriodBlocks', 1, 10_000_000, 'blocks a proposal has to gather its deposit'),
  int('governance.votingPeriodBlocks', 1, 10_000_000, 'blocks a vote lasts'),
  bp('governance.quorumBp', 1, 10_000, 'share of bonded stake that must vote'),
  bp('governance.thresholdBp', 5_000, 10_000, 'share of yes among decisive votes needed to pass (more than)'),
  bp('governance.vetoBp', 1, 10_000, 'share of veto among all votes that vetoes'),
  int('governance.executionDelayBlocks', 1, 10_000_000, 'blocks from a passed vote to a parameter change'),
];

const BY_NAME = new Map(GOVERNABLE_PARAMS.map((p) => [p.name, p]));

export function paramSpec(name: string): ParamSpec | undefined {
  return BY_NAME.get(name);
}

/**
 * Why `value` (a decimal string) cannot be the new value of `name`, or undefined if it can.
 * Values travel as decimal strings so every type has one exact form on the wire and in state.
 */
export function paramValueProblem(name: string, value: string): string | undefined {
  const spec = BY_NAME.get(name);
  if (!spec) return `${JSON.stringify(name)} is not a parameter governance can change (zeus gov params lists them)`;
  if (!/^(0|[1-9]\d{0,19})$/.test(value)) return `${name}: ${JSON.stringify(value)} is not a whole number written in decimal`;
  const v = BigInt(value);
  if (v < spec.min || v > spec.max) return `${name} must be between ${spec.min} and ${spec.max}; ${value} is not`;
  return undefined;
}

type Section = 'market' | 'governance';
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The value of a governable parameter in `params`, as a decimal string. */
export function paramValue(params: LedgerParams, name: string): string {
  const [section, key] = split(name);
  const holder = (section ? params[section] : params) as unknown as Record<string, number | bigint>;
  return String(holder[key]);
}

function split(name: string): [Section | undefined, string] {
  const dot = name.indexOf('.');
  if (dot === -1) return [undefined, name];
  return [name.slice(0, dot) as Section, name.slice(dot + 1)];
}

/**
 * `base` with `changes` applied (each name in the table, each value within its bounds: checked
 * by the caller with `paramValueProblem`). Amounts become bigints, the rest numbers.
 */
export function withParamChanges(base: LedgerParams, changes: readonly { name: string; value: string }[]): LedgerParams {
  if (changes.length === 0) return base;
  const top = { ...base } as Mutable<LedgerParams>;
  const market = { ...base.market } as Mutable<MarketParams>;
  const governance = { ...base.governance } as Mutable<GovernanceParams>;
  for (const c of changes) {
    const spec = BY_NAME.get(c.name);
    if (!spec) continue;
    const value = spec.type === 'amount' ? BigInt(c.value) : Number(c.value);
    const [section, key] = split(c.name);
    const holder = (section === 'market' ? market : section === 'governance' ? governance : top) as unknown as Record<string, number | bigint>;
    holder[key] = value;
  }
  top.market = market;
  top.governance = governance;
  return top;
}

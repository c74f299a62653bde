// How much a node lets each account upload at once. Pushing costs nothing on the chain, and a key
// costs nothing to make, so what an account may hold in uploads in progress (open sessions, and the
// bytes they hold on the node's disk) grows with what it has at stake, the way the ledger's
// transaction quota does: a key holding no ZNC gets a small allowance, one holding ZNC more, and each
// stake unit (the ledger's quotaStakeUnit, 1,000 ZNC; a worker's bond counts, it is stake) adds more,
// up to a cap. A node also bounds all uploads in progress together, and gives each class of account
// only a share of that, so that any number of free keys cannot fill the node for those with ZNC at
// stake: unfunded keys together at most an eighth, unstaked ones at most half.
//
// Completed uploads stop counting (their bytes are blobs now, kept or collected by the store's
// rules); so do cancelled ones, and sessions that received nothing for `idleMs` are removed.

export interface AccountStanding {
  /** ZNC at stake (staked, plus a worker's bond), in whole stake units. */
  stakeUnits: number;
  /** Holds at least 1 ZNC, or has any at stake. */
  funded: boolean;
  /** What one stake unit is, in words ("1,000 ZNC"). */
  stakeUnit: string;
}

export interface Amounts {
  sessions: number;
  bytes: number;
}

export interface UploadLimits {
  /** An account that holds no ZNC. */
  unfunded: Amounts;
  /** An account that holds ZNC but has none at stake. */
  funded: Amounts;
  /** Added to `funded` per stake unit. */
  perStakeUnit: Amounts;
  /** The most one account gets, whatever its stake. */
  maxPerAccount: Amounts;
  /** All uploads in progress on the node together. */
  node: Amounts;
  /** A session that received nothing for this long is removed. */
  idleMs: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  // Docker pushes up to five layers at once; a first small image fits.
  unfunded: { sessions: 8, bytes: 32 * MIB },
  funded: { sessions: 32, bytes: 2 * GIB },
  perStakeUnit: { sessions: 8, bytes: GIB },
  maxPerAccount: { sessions: 256, bytes: 32 * GIB },
  node: { sessions: 1024, bytes: 64 * GIB },
  idleMs: 15 * 60_000,
};

export type Tier = 'unfunded' | 'funded' | 'staked';

export interface UploadAllowance {
  tier: Tier;
  account: Amounts;
  /** What all accounts of this tier may hold together on the node. */
  pool: Amounts;
  /** How to get more, in words. */
  more: string;
}

/** Share of the node's uploads each tier may fill together. */
const POOL_SHARE: Record<Tier, number> = { unfunded: 1 / 8, funded: 1 / 2, staked: 1 };

export function formatBytes(n: number): string {
  const [unit, size] = n >= GIB ? ['GiB', GIB] : n >= MIB ? ['MiB', MIB] : n >= 1024 ? ['KiB', 1024] : ['bytes', 1];
  const v = n / size;
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
}

const amountsText = (a: Amounts): string => `${a.sessions} uploads and ${formatBytes(a.bytes)}`;

export function uploadAllowance(s: AccountStanding, l: UploadLimits): UploadAllowance {
  const tier: Tier = s.stakeUnits > 0 ? 'staked' : s.funded ? 'funded' : 'unfunded';
  const perUnit = `each ${s.stakeUnit} staked adds ${amountsText(l.perStakeUnit)}, up to ${amountsText(l.maxPerAccount)} (zeus stake)`;
  const capped = (a: Amounts): Amounts => ({ sessions: Math.min(a.sessions, l.maxPerAccount.sessions), bytes: Math.min(a.bytes, l.maxPerAccount.bytes) });
  const account =
    tier === 'unfunded'
      ? l.unfunded
      : capped({ sessions: l.funded.sessions + s.stakeUnits * l.perStakeUnit.sessions, bytes: l.funded.bytes + s.stakeUnits * l.perStakeUnit.bytes });
  const atCap = account.sessions >= l.maxPerAccount.sessions && account.bytes >= l.maxPerAccount.bytes;
  const more =
    tier === 'unfunded'
      ? `hold at least 1 ZNC for ${amountsText(l.funded)}, or stake ZNC: ${perUnit}`
      : atCap
        ? 'no account gets more'
        : `stake ZNC: ${perUnit}`;
  const share = POOL_SHARE[tier];
  return { tier, account, pool: { sessions: Math.floor(l.node.sessions * share), bytes: Math.floor(l.node.bytes * share) }, more };
}

export const TIER_WORDS: Record<Tier, string> = {
  unfunded: 'an account holding no ZNC',
  funded: 'an account holding ZNC with none at stake',
  staked: 'an account with ZNC at stake',
};

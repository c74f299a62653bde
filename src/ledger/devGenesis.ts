import { addressFromPublicKey, encodeAddress, toHex } from '../crypto/portable.ts';
import { addAllocation, type GenesisDraft } from './genesisBuilder.ts';
import { AllocationRows, DEFAULT_PARAMS, REWARDS_POOL, rewardsPoolAddress, validateGenesis, type AllocationRow, type Genesis } from './genesis.ts';
import { TOTAL_SUPPLY, ZNC_UNIT } from './params.ts';

export interface DevGenesisOptions {
  chainId?: string;
  genesisTime: number;
  /** Public keys by name: allocation holders, the foundation's multisig members, dev accounts. */
  keys: Record<string, Uint8Array>;
  /** Names of keys that get `devFunding` each from the promotion share. */
  devAccounts: string[];
  devFunding?: bigint;
  bookkeepers: { name: string; publicKey: Uint8Array }[];
  /** Scaled-down time so vesting can be watched: a month of this many ms (default 30 days). */
  monthMs?: number;
  params?: Partial<Genesis['params']>;
  /** Names of the development reserve's multisig members (2 of 3 by default). */
  foundation?: string[];
}

export const DEV_ROW_HOLDERS: Record<Exclude<AllocationRow, 'development-reserve'>, string> = {
  cornerstone: 'cornerstone',
  'private-equity': 'private-equity',
  promotion: 'promotion',
  team: 'team',
};

const share = (row: AllocationRow): bigint => (TOTAL_SUPPLY * BigInt(AllocationRows[row].shareBp)) / 10_000n;

/** A genesis for a development network: every allocation row, funded dev accounts, a rewards pool. */
export function buildDevGenesis(o: DevGenesisOptions): Genesis {
  const chainId = o.chainId ?? 'zeus-dev-1';
  const addr = (name: string): string => {
    const pk = o.keys[name];
    if (!pk) throw new Error(`dev genesis needs a key named "${name}"`);
    return encodeAddress(addressFromPublicKey(pk));
  };
  const devFunding = o.devFunding ?? 10_000_000n * ZNC_UNIT;
  const poolAmount = share('promotion') / 2n;
  const devTotal = devFunding * BigInt(o.devAccounts.length);
  const promotionRest = share('promotion') - poolAmount - devTotal;
  if (promotionRest < 0n) throw new Error('dev funding exceeds the promotion share');
  const foundation = o.foundation ?? ['foundation-1', 'foundation-2', 'foundation-3'];
  // A preset of the ceremony's builder: the same steps, taken by one person holding every key.
  // The bookkeepers sign no statement (they have no p2p address or stake of their own here).
  let d: GenesisDraft = {
    chainId,
    genesisTime: o.genesisTime,
    params: { ...DEFAULT_PARAMS, ...(o.monthMs ? { monthMs: o.monthMs } : {}), ...o.params },
    allocations: [],
    multisigs: [],
    bookkeepers: o.bookkeepers.map((b) => ({ name: b.name, publicKey: toHex(b.publicKey) })),
  };
  d = addAllocation(d, { share: 'cornerstone', holders: [{ name: 'cornerstone', address: addr('cornerstone'), amount: share('cornerstone') }] });
  d = addAllocation(d, { share: 'pe', holders: [{ name: 'private-equity', address: addr('private-equity'), amount: share('private-equity') }] });
  d = addAllocation(d, {
    share: 'market',
    holders: [
      { name: REWARDS_POOL, address: encodeAddress(rewardsPoolAddress()), amount: poolAmount },
      // Nothing left of the promotion share when the dev accounts take it all (100 of them).
      ...(promotionRest > 0n ? [{ name: 'promotion', address: addr('promotion'), amount: promotionRest }] : []),
      ...o.devAccounts.map((n) => ({ name: n, address: addr(n), amount: devFunding })),
    ],
  });
  d = addAllocation(d, { share: 'team', holders: [{ name: 'team', address: addr('team'), amount: share('team') }] });
  d = addAllocation(d, { share: 'reserve', reserveMembers: foundation.map(addr), threshold: 2 });
  return validateGenesis(d);
}

/** Key names a dev genesis needs besides the dev accounts. */
export const DEV_GENESIS_KEYS = ['cornerstone', 'private-equity', 'promotion', 'team', 'foundation-1', 'foundation-2', 'foundation-3'];

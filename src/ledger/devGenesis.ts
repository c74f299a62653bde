import { addressFromPublicKey, addressOf, AddressKind, encodeAddress, sha256, toHex, utf8 } from '../crypto/portable.ts';
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

/** The development reserve's multisig address in a genesis (not created by any transaction). */
export function genesisMultisigAddress(chainId: string, name: string): Uint8Array {
  return addressOf(AddressKind.Multisig, sha256(utf8(`zeus/genesis-multisig/${chainId}/${name}`)));
}

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
  const reserve = encodeAddress(genesisMultisigAddress(chainId, 'development-reserve'));
  const g: Genesis = {
    chainId,
    genesisTime: o.genesisTime,
    params: { ...DEFAULT_PARAMS, ...(o.monthMs ? { monthMs: o.monthMs } : {}), ...o.params },
    allocations: [
      { row: 'cornerstone', holders: [{ name: 'cornerstone', address: addr('cornerstone'), amount: share('cornerstone').toString() }] },
      { row: 'private-equity', holders: [{ name: 'private-equity', address: addr('private-equity'), amount: share('private-equity').toString() }] },
      {
        row: 'promotion',
        holders: [
          { name: REWARDS_POOL, address: encodeAddress(rewardsPoolAddress()), amount: poolAmount.toString() },
          { name: 'promotion', address: addr('promotion'), amount: promotionRest.toString() },
          ...o.devAccounts.map((n) => ({ name: n, address: addr(n), amount: devFunding.toString() })),
        ],
      },
      { row: 'team', holders: [{ name: 'team', address: addr('team'), amount: share('team').toString() }] },
      { row: 'development-reserve', holders: [{ name: 'development-reserve', address: reserve, amount: share('development-reserve').toString() }] },
    ],
    multisigs: [{ name: 'development-reserve', address: reserve, members: foundation.map(addr), threshold: 2 }],
    bookkeepers: o.bookkeepers.map((b) => ({ name: b.name, publicKey: toHex(b.publicKey) })),
  };
  return validateGenesis(g);
}

/** Key names a dev genesis needs besides the dev accounts. */
export const DEV_GENESIS_KEYS = ['cornerstone', 'private-equity', 'promotion', 'team', 'foundation-1', 'foundation-2', 'foundation-3'];

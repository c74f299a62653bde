import { decodeAddress, encodeAddress, toHex } from '../crypto/index.ts';
import type { RegistryChain } from '../ddn/index.ts';
import { balanceOf, formatUnits, ZNC, ZNC_DECIMALS, ZNC_UNIT, type LedgerReader } from '../ledger/index.ts';

// What the node's registry asks of the chain, read from the committed ledger, which every node
// shares: who owns an app's name (so a namespace has the same owner on every node), which digest
// each published version is, and what an account has at stake (its upload quota grows with it, as
// its transaction quota does).

export function registryChainOf(reader: LedgerReader): RegistryChain {
  return {
    appOwner(name) {
      const a = reader.appName(name);
      return a ? encodeAddress(a.owner) : undefined;
    },
    appDigest(name, version) {
      return reader.app(name, version)?.digest;
    },
    standing(address) {
      const bytes = decodeAddress(address);
      const hex = toHex(bytes);
      // A worker's bond is stake moved aside (RegisterWorker takes it from stake): it counts.
      const atStake = reader.staked(hex) + (reader.worker(hex)?.bond ?? 0n);
      const unit = reader.params.quotaStakeUnit;
      const balance = balanceOf(reader.account(hex), ZNC);
      return {
        stakeUnits: Number(atStake / unit),
        funded: balance >= ZNC_UNIT || atStake > 0n,
        stakeUnit: `${Number(formatUnits(unit, ZNC_DECIMALS)).toLocaleString('en')} ZNC`,
      };
    },
  };
}

import { decodeAddress, encodeAddress, toHex } from '../crypto/index.ts';
import type { RegistryChain } from '../ddn/index.ts';
import { balanceOf, formatUnits, homeChain, MAIN_CHAIN, MarketKeys, readAccount, stakedOf, ZNC, ZNC_DECIMALS, ZNC_UNIT, type App, type AppName, type Ledger, type Worker } from '../ledger/index.ts';

// What the node's registry asks of the chain, read from the committed ledger, which every node
// shares: who owns an app's name (so a namespace has the same owner on every node), which digest
// each published version is, and what an account has at stake (its upload quota grows with it, as
// its transaction quota does).

export function registryChainOf(ledger: Ledger): RegistryChain {
  const main = (): Ledger['chains'][number] => ledger.chains[MAIN_CHAIN];
  return {
    appOwner(name) {
      const a = main().get<AppName>(MarketKeys.appName(name));
      return a ? encodeAddress(a.owner) : undefined;
    },
    appDigest(name, version) {
      return main().get<App>(MarketKeys.app(name, version))?.digest;
    },
    standing(address) {
      const bytes = decodeAddress(address);
      const hex = toHex(bytes);
      // A worker's bond is stake moved aside (RegisterWorker takes it from stake): it counts.
      const atStake = stakedOf(main(), hex) + (main().get<Worker>(MarketKeys.worker(hex))?.bond ?? 0n);
      const unit = ledger.params.quotaStakeUnit;
      const balance = balanceOf(readAccount(ledger.chains[homeChain(bytes)], hex), ZNC);
      return {
        stakeUnits: Number(atStake / unit),
        funded: balance >= ZNC_UNIT || atStake > 0n,
        stakeUnit: `${Number(formatUnits(unit, ZNC_DECIMALS)).toLocaleString('en')} ZNC`,
      };
    },
  };
}

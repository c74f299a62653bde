import { chainName } from '../data/format.ts';
import type { AccountAnswer } from '../data/sdk.ts';
import { Amount, Stat } from './ui.tsx';

/** An account's ZNC at a glance: balance, spendable, locked by vesting, staked, home chain. */
export function BalanceStats({ a, testId, kind = false }: { a: AccountAnswer; testId: string; kind?: boolean }) {
  return (
    <div className="stats">
      <Stat label="ZNC balance">
        <span data-testid={testId}>
          <Amount v={a.znc.balance} />
        </span>
      </Stat>
      <Stat label="Spendable">
        <Amount v={a.znc.spendable} />
      </Stat>
      {BigInt(a.znc.vestingLocked) > 0n ? (
        <Stat label="Vesting, locked">
          <Amount v={a.znc.vestingLocked} />
        </Stat>
      ) : null}
      <Stat label="Staked">
        <Amount v={a.staked} />
      </Stat>
      <Stat label="Home chain">{chainName(a.homeChain)}</Stat>
      {kind ? <Stat label="Kind">{a.kind}</Stat> : null}
    </div>
  );
}

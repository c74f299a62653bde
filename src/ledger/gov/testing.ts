import type { Genesis } from '../genesis.ts';
import type { Payload, TxKind } from '../ops/index.ts';
import { ZNC_UNIT } from '../params.ts';
import { ProposalType } from './entries.ts';

// Helpers for tests that drive governance on a test chain (../testing.ts).

/** Governance with votes of a few heights, so that proposals open, end and take effect within a test. */
export const SHORT_GOVERNANCE: Genesis['params']['governance'] = {
  minDeposit: (1_000n * ZNC_UNIT).toString(),
  depositPeriodBlocks: 6,
  votingPeriodBlocks: 4,
  quorumBp: 3_340,
  thresholdBp: 5_000,
  vetoBp: 3_340,
  executionDelayBlocks: 3,
};

export type GovProposePayload = Payload<typeof TxKind.GovPropose>;

/** A GovPropose payload: a text proposal with the minimum deposit of SHORT_GOVERNANCE, unless `over` says otherwise. */
export function proposalPayload(over: Partial<GovProposePayload> = {}): GovProposePayload {
  return {
    type: ProposalType.Text,
    title: 'a proposal',
    description: '',
    changes: [],
    recipient: new Uint8Array(0),
    amount: 0n,
    upgradeName: '',
    upgradeHeight: 0n,
    upgradeInfo: '',
    deposit: BigInt(SHORT_GOVERNANCE.minDeposit),
    ...over,
  };
}

// The ZNC ledger: accounts, sub-tokens, multisig, staking and vesting on 1 main + 9 inner
// chains. Everything here is deterministic: state transitions take the block's height and
// time as inputs and touch no clock, disk or network.
export * from './errors.ts';
export * from './params.ts';
export * from './amounts.ts';
export * from './tx.ts';
export * from './routing.ts';
export { OPERATIONS, PayloadSchemas, routeTx, TX_KIND_NAMES, TxKind, type AnyPayload, type OperationOf, type Payload } from './ops/index.ts';
export type { Operation, Route } from './ops/operation.ts';
export * from './entries.ts';
export * from './receipts.ts';
export * from './block.ts';
export * from './genesis.ts';
export * from './devGenesis.ts';
export * from './genesisBuilder.ts';
export * from './ledger.ts';
export * from './parallel.ts';
export * from './supply.ts';
export { ChainState, StateOverlay, type StagedChain, type StateReader, type StateWriter } from './state.ts';
export { decodeEntry, encodeEntry, storeOf, StoreKeyError, type Store } from './stores.ts';
export * as stores from './stores.ts';
export { ledgerReader, type LedgerReader } from './read.ts';
export { balanceOf, lockedAt, quotaLimit, readAccount, spendable, stakedOf, type MarketEvent } from './context.ts';
export { multisigAddress } from './ops/multisig.ts';
export * from './commit.ts';
export { tally, bookkeeperSetAt } from './election.ts';
export { WORKER_DIVIDEND } from './systemAccounts.ts';
export * from './marketEntries.ts';
export * from './appOutcome.ts';
export * from './resultCommit.ts';
export { payFor } from './market/escrow.ts';
export { taskIdFor } from './market/tasks.ts';
export { taskNeeds, workerOffer } from './market/workers.ts';
export {
  isLeaseAtWork,
  isLeaseMetered,
  isLiveLease,
  isTaskEnded,
  LEASE_STATE_NAMES,
  LEASE_STATES,
  LEASE_TRANSITIONS,
  LeaseState,
  TASK_STATE_NAMES,
  TASK_STATES,
  TASK_TRANSITIONS,
  TaskState,
  type LeaseStateName,
  type TaskStateName,
} from './market/lifecycle.ts';
export * from './gov/entries.ts';
export { GOVERNABLE_PARAMS, paramSpec, paramValue, paramValueProblem, withParamChanges, type ParamSpec, type ParamType } from './gov/params.ts';
export {
  MAX_UPGRADE_LEAD_BLOCKS,
  MIN_INITIAL_DEPOSIT_BP,
  minInitialDeposit,
  proposalIdBytes,
  tallyVotes,
  voteOutcome,
  type VoteOutcome,
  type VoterWeight,
} from './gov/lifecycle.ts';
export { UpgradeNeededError, type UpgradeHandler, type UpgradeHandlers } from './gov/upgrades.ts';
export { GOV_DEPOSITS, REWARDS_POOL_NAME } from './systemAccounts.ts';

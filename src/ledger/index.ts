// The ZNC ledger: accounts, sub-tokens, multisig, staking and vesting on 1 main + 9 inner
// chains. Everything here is deterministic: state transitions take the block's height and
// time as inputs and touch no clock, disk or network.
export * from './errors.ts';
export * from './params.ts';
export * from './amounts.ts';
export * from './tx.ts';
export * from './entries.ts';
export * from './receipts.ts';
export * from './block.ts';
export * from './genesis.ts';
export * from './devGenesis.ts';
export * from './ledger.ts';
export * from './supply.ts';
export { ChainState, StateOverlay, type StagedChain, type StateReader, type StateWriter } from './state.ts';
export { decodeEntry, encodeEntry, storeOf, StoreKeyError, type Store } from './stores.ts';
export * as stores from './stores.ts';
export { ledgerReader, type LedgerReader } from './read.ts';
export { balanceOf, lockedAt, quotaLimit, readAccount, spendable, stakedOf, type MarketEvent } from './context.ts';
export { multisigAddress } from './handlers/multisig.ts';
export * from './commit.ts';
export { tally, bookkeeperSetAt, WORKER_DIVIDEND } from './handlers/election.ts';
export * from './marketEntries.ts';
export * from './appOutcome.ts';
export * from './resultCommit.ts';
export { payFor, taskIdFor, taskNeeds, workerOffer } from './handlers/market.ts';

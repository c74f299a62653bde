// The ledger as a client of a node sees it: encoding, signing and routing transactions, their
// kinds and payload types, amounts, the chain constants, and the states a task or lease can be
// in. The SDK (and so the installable @zeusnet/sdk package) imports this entry rather than
// index.ts, which also carries execution, genesis (and its zod schemas), blocks and elections:
// code a client never runs and a package should not ship.
export * from './amounts.ts';
export { MAIN_CHAIN, INNER_CHAINS, CHAIN_COUNT, MAX_U64, ZNC, ZNC_DECIMALS, ZNC_UNIT } from './params.ts';
export { decodeTx, signTx, type Tx, type TxRequest } from './tx.ts';
export { homeChain, taskChain } from './routing.ts';
export { PayloadSchemas, routeTx, TX_KIND_NAMES, TxKind, type Payload } from './ops/index.ts';
export { TaskKind } from './marketEntries.ts';
export { ProposalType, VoteOption } from './gov/entries.ts';
export type { Certificate } from './commit.ts';
export type { MarketEvent } from './context.ts';
export { taskIdFor } from './market/tasks.ts';
export { isLeaseAtWork, isLiveLease, LEASE_STATES, TASK_STATES, type LeaseStateName, type TaskStateName } from './market/lifecycle.ts';

// A ZeusNet node: home directory, chain store, mempool, block production and events.
export { BftProducer, DEVNET_TIMEOUTS, type BftOptions, type ConsensusStatus, type GroupMembership, type NodeKeys } from './bftProducer.ts';
export * from './events.ts';
export * from './home.ts';
export * from './mempool.ts';
export { BAD_SIGNATURE_WINDOW_MS, BAD_SIGNATURES_PER_WINDOW, FailureBudget, failuresOf, REFUSALS_PER_WINDOW } from './failureBudget.ts';
export * from './zeusNode.ts';
export * from './producer.ts';
export { NodeMetrics, type MetricsSources } from './metrics.ts';
export { LOG_LEVELS, nodeLogger, type LogLevel, type NodeLogger } from './log.ts';
export {
  joinByStateSync,
  openJoinNetwork,
  parseTrustHash,
  Snapshotter,
  StateSyncError,
  trustPointJoiner,
  type JoinNetwork,
  type JoinResult,
  type TrustPoint,
} from './stateSync.ts';
export * from './join.ts';
export { loadUpgradeModules, type UpgradeModule } from './upgradeModules.ts';
export { parseApiUrl, parseHostPort, parseMultiaddrList, parseTcpMultiaddr } from './netAddresses.ts';
export {
  decodeGroupMark,
  encodeGroupMark,
  groupPrefix,
  GroupConflictError,
  GroupUnavailableError,
  NotActiveError,
  SignerGroup,
  type GroupMark,
  type SignerGroupOptions,
  type SignerGroupStats,
} from './signerGroup.ts';

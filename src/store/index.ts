// Persistence: the KvStore interface (LevelDB or memory), the chain store built on it, and state
// snapshots (their format and verification, and a node's own on disk).
export * from './kv.ts';
export { checkLevelTables, NEW_STORE, type TableCheck } from './levelTables.ts';
export * from './fileRecords.ts';
export * from './chainStore.ts';
export * from './snapshots.ts';
export * from './snapshotStore.ts';

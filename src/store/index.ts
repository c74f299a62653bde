// Persistence: the KvStore interface (LevelDB or memory) and the chain store built on it.
export * from './kv.ts';
export * from './chainStore.ts';

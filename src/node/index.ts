// A ZeusNet node: home directory, chain store, mempool, block production and events.
export * from './events.ts';
export * from './home.ts';
export * from './mempool.ts';
export * from './node.ts';
export * from './producer.ts';

// The ZeusNet SDK: a typed client of a node's API (queries, submitting, waiting for finality),
// typed transaction builders, keys and signing, the event stream, and quotes with the market's
// own matcher. Runs in Node and in browsers; Node-only parts (the file keystore) are in node.ts.
export * from './client.ts';
export * from './submitter.ts';
export * from './wire.ts';
export * from './tx.ts';
export * from './events.ts';
export * from './quote.ts';
export * from './amounts.ts';
export * from './keys.ts';
export {
  signTx,
  decodeTx,
  homeChain,
  routeTx,
  taskIdFor,
  formatUnits,
  parseAmount,
  TxKind,
  TX_KIND_NAMES,
  TaskKind,
  ProposalType,
  VoteOption,
  ZNC,
  ZNC_DECIMALS,
  ZNC_UNIT,
  MAIN_CHAIN,
  INNER_CHAINS,
  TASK_STATES,
  LEASE_STATES,
  isLiveLease,
  isLeaseAtWork,
  type TaskStateName,
  type LeaseStateName,
  type Payload,
  type TxRequest,
  type Tx as DecodedTx,
} from '../ledger/index.client.ts';
export {
  addressFromPublicKey,
  encodeAddress,
  decodeAddress,
  isAddress,
  generateKeyPair,
  keyPairFromSeed,
  signBytes,
  verifySignature,
  sealTo,
  openSealed,
  sealKeyOfSigningKey,
  sealKeyPairOfSigningSeed,
  toHex,
  fromHex,
  verifyMerkleProof,
  type KeyPair,
  type SealKeyPair,
} from '../crypto/portable.ts';
export { MisfitCode, RUNTIMES, askPrice, misfits, quote, type Misfit, type TaskNeeds, type WorkerOffer } from '../market/index.ts';
export * from './txBatch.ts';
export * from './tasks.ts';
export { readTar, TarError, type TarEntry } from './tar.ts';

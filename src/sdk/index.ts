// The ZeusNet SDK: a typed client of a node's API, plus signing and amounts.
export * from './client.ts';
export * from './market.ts';
export { signTx, TxKind, decodeTx, homeChain, routeTx, formatUnits, parseAmount } from '../ledger/index.ts';
export { addressFromPublicKey, encodeAddress, decodeAddress, generateKeyPair, keyPairFromSeed } from '../crypto/index.ts';

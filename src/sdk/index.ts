// The ZeusNet SDK: a typed client of a node's API, plus signing and amounts.
export * from './client.ts';
export * from './market.ts';
export { signTx, TxKind, decodeTx, homeChain, routeTx, formatUnits, parseAmount, ZNC, ZNC_DECIMALS, ZNC_UNIT } from '../ledger/index.ts';
export { addressFromPublicKey, encodeAddress, decodeAddress, generateKeyPair, keyPairFromSeed, toHex, fromHex } from '../crypto/portable.ts';

// Keys, addresses and signatures, offline: no node needed.
//   node examples/sdk/keys.ts
import { addressOf, keyFromSeed, newKey, seedHex, signBytes, verifySignature } from '../../src/sdk/index.ts';

const key = newKey();
console.log(`new key      ${addressOf(key)}`);
// The seed is the key: store it encrypted (the CLI's keystore, a browser's encrypted storage).
const again = keyFromSeed(seedHex(key));
console.log(`from seed    ${addressOf(again)} (same: ${addressOf(again) === addressOf(key)})`);
const message = new TextEncoder().encode('hello, ZeusNet');
const signature = signBytes(key.secretKey, message);
console.log(`signature    ${signature.length} bytes, verifies: ${verifySignature(key.publicKey, message, signature)}`);
console.log(`tampered     verifies: ${verifySignature(key.publicKey, new TextEncoder().encode('hello, ZeusNeT'), signature)}`);

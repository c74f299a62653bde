// Send ZNC and wait until the transfer is final.
//   ZEUS_NODE=http://127.0.0.1:26657 ZEUS_HOME=<devnet>/node0 ZEUS_KEY=alice node examples/sdk/transfer.ts [to] [amount]
// Without `to`, it sends to a new key. The amount is in ZNC (default 1.5).
import { addressOf, formatUnits, newKey, parseAmount, Tx, ZNC_DECIMALS } from '../../src/sdk/index.ts';
import { client, senderKey } from './env.ts';

const from = senderKey();
const to = process.argv[2] ?? addressOf(newKey());
const amount = parseAmount(process.argv[3] ?? '1.5', ZNC_DECIMALS);
const balance = async (a: string): Promise<bigint> => BigInt((await client.account(a)).znc.balance);

const before = await balance(to);
console.log(`sending ${formatUnits(amount, ZNC_DECIMALS)} ZNC from ${addressOf(from)} to ${to}`);
// execute = sign (the node's chain id, the next nonce) + submit + wait for finality.
const tx = await client.execute(from, Tx.transfer({ to, amount, memo: 'sdk example' }));
console.log(`final: hash ${tx.hash} chain ${tx.chain} height ${tx.height}`);
// The recipient may live on another inner chain: its credit arrives by receipt a height later.
const after = await client.waitForBalance(to, (b) => b === before + amount);
console.log(`recipient balance ${formatUnits(before, ZNC_DECIMALS)} → ${formatUnits(after, ZNC_DECIMALS)} ZNC`);

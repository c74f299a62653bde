import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { homeChain, TxKind, ZNC, ZNC_UNIT } from '../ledger/index.ts';
import { makeTx, testChain } from '../ledger/testing.ts';
import { MemoryKvStore } from '../store/index.ts';
import { commitNext } from './testing.ts';
import { ZeusNode } from './zeusNode.ts';

// A proposer puts the transactions of senders with priority (a stake unit staked) first in its
// block. One of theirs may spend what a sender without priority pays them in the same block: it
// must then come after that payment, not be rejected.

const names = Array.from({ length: 24 }, (_, i) => `acct-${i}`);
const t = testChain({ devAccounts: ['dave', ...names] });
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 100, bookkeeperKey: 'bookkeeper-0', mempoolMax: 1_000 };
const key = t.keys['bookkeeper-0'];
const closing: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
});

describe('the order of a block', () => {
  it('takes staked senders first, and a payment to one before the spending that needs it', async () => {
    const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, key);
    closing.push(() => node.close());
    // Two accounts on one chain: what one pays the other is spendable in the same block.
    const chainOf = (n: string) => homeChain(addressFromPublicKey(t.keys[n].publicKey));
    const payer = names.find((n) => names.some((m) => m !== n && chainOf(m) === chainOf(n)))!;
    const staker = names.find((m) => m !== payer && chainOf(m) === chainOf(payer))!;
    const stakerAddr = addressFromPublicKey(t.keys[staker].publicKey);
    const dave = addressFromPublicKey(t.keys.dave.publicKey);
    let time = node.ledger.time + 1000;

    await node.submit(makeTx(t, staker, TxKind.Stake, { amount: 1_000n * ZNC_UNIT }).bytes);
    await commitNext(node, (time += 1000), [key]);
    await commitNext(node, (time += 1000), [key]); // the stake's receipt, on main
    expect(node.reader.staked(toHex(stakerAddr))).toBe(1_000n * ZNC_UNIT);

    const balance = node.reader.account(toHex(stakerAddr)).balances[ZNC] ?? 0n;
    const pay = makeTx(t, payer, TxKind.Transfer, { to: stakerAddr, token: ZNC, amount: 10n * ZNC_UNIT, memo: '' });
    const own = makeTx(t, staker, TxKind.Transfer, { to: dave, token: ZNC, amount: ZNC_UNIT, memo: '' });
    // More than the staker has without the payment.
    const spend = makeTx(t, staker, TxKind.Transfer, { to: dave, token: ZNC, amount: balance, memo: '' });
    for (const tx of [pay, own, spend]) await node.submit(tx.bytes);

    const built = await commitNext(node, (time += 1000), [key]);
    expect([...built.rejected.values()].map(([, e]) => e.message)).toEqual([]);
    expect(built.executed.txs[chainOf(payer)].map((tx) => tx.hashHex)).toEqual([own.hashHex, pay.hashHex, spend.hashHex]);
    expect(node.mempool.size).toBe(0);
  });

  it('takes at most blockMaxFreeTxs transactions of senders without priority, and any number of the others', async () => {
    // Its own nonces: `t` counts them for the node of the test above.
    t.nonces.clear();
    const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, { ...config, blockMaxFreeTxs: 3 }, key);
    closing.push(() => node.close());
    const dave = addressFromPublicKey(t.keys.dave.publicKey);
    let time = node.ledger.time + 1000;
    const staker = names[0];
    await node.submit(makeTx(t, staker, TxKind.Stake, { amount: 1_000n * ZNC_UNIT }).bytes);
    await commitNext(node, (time += 1000), [key]);
    await commitNext(node, (time += 1000), [key]);
    const pay = (from: string) => makeTx(t, from, TxKind.Transfer, { to: dave, token: ZNC, amount: ZNC_UNIT, memo: '' });
    const free = names.slice(1, 6).map(pay);
    const staked = [pay(staker), pay(staker), pay(staker), pay(staker)];
    for (const tx of [...free, ...staked]) await node.submit(tx.bytes);
    const built = await commitNext(node, (time += 1000), [key]);
    const included = new Set(built.executed.txs.flat().map((tx) => tx.hashHex));
    expect(staked.every((tx) => included.has(tx.hashHex))).toBe(true);
    expect(free.filter((tx) => included.has(tx.hashHex))).toHaveLength(3);
    // The other two wait for the next height, not refused.
    expect(built.rejected.size).toBe(0);
    expect(node.mempool.size).toBe(2);
    await commitNext(node, (time += 1000), [key]);
    expect(node.mempool.size).toBe(0);
  });
});

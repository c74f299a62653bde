import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, generateKeyPair } from '../crypto/index.ts';
import { encode } from '../codec/index.ts';
import { signTx, TxKind, ZNC } from '../ledger/index.ts';
import { testChain } from '../ledger/testing.ts';
import { createP2PNode, type P2PNode } from '../p2p/index.ts';
import { MemoryKvStore } from '../store/index.ts';
import { REFUSALS_PER_WINDOW } from './failureBudget.ts';
import { ZeusNode } from './zeusNode.ts';

// A peer can hand a node transactions that are well signed and refused anyway (a nonce far ahead,
// from a fresh key: free to make by the thousand). Each costs the node a signature check and a dry
// run, as from an API client. A real node with consensus on libp2p, and a peer of its own making
// that gossips batches of them: past the budget (1,000 refusals in 10 s) the node leaves that
// peer's transactions unchecked.

const t = testChain();
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 200, bookkeeperKey: 'bookkeeper-0', mempoolMax: 10_000 };
const closing: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close().catch(() => {});
});

const TxBatchSchema = { $id: 'TxBatch', fields: { txs: { id: 1, type: { array: 'bytes', max: 10_000 } } } } as const;

describe('transactions from a peer refused after their signature check', () => {
  it('past the budget, are left unchecked for the rest of the window', async () => {
    const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, t.keys['bookkeeper-0']);
    closing.push(() => node.close());
    const bft = await node.startConsensus({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], commitDelayMs: 200 });
    const peer: P2PNode = await createP2PNode({
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: bft.status().listen,
      chainId: t.genesis.chainId,
      serveBlocks: async () => [],
    });
    closing.push(() => peer.stop());
    await peer.start();
    const deadline = Date.now() + 15_000;
    while (!bft.status().peers.some((p) => p.connected && p.id === peer.peerId)) {
      if (Date.now() > deadline) throw new Error('the peer did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }

    const key = generateKeyPair();
    const to = addressFromPublicKey(t.keys.alice.publicKey);
    let nonce = 7n;
    const batch = (n: number) =>
      encode(TxBatchSchema, {
        txs: Array.from({ length: n }, () =>
          signTx(key, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce: nonce++, payload: { to, token: ZNC, amount: 1n, memo: '' } }),
        ),
      });
    const before = node.signatureChecks;
    // Five batches of 250: four reach the budget (1,000), the fifth is not checked.
    for (let i = 0; i < 5; i++) {
      const checked = node.signatureChecks;
      await peer.publish('txs', batch(250));
      const until = Date.now() + 10_000;
      // Each batch is handled before the next (frames of one peer reach the handler in order);
      // the fifth is never checked, so wait for the first four only.
      while (i < 4 && node.signatureChecks < checked + 250) {
        if (Date.now() > until) throw new Error(`batch ${i + 1} was not checked`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    // A last batch after a pause: still nothing checked.
    await new Promise((r) => setTimeout(r, 500));
    await peer.publish('txs', batch(10));
    await new Promise((r) => setTimeout(r, 500));
    expect(node.signatureChecks - before).toBe(REFUSALS_PER_WINDOW);
  }, 60_000);
});

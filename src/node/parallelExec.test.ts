import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { homeChain, ZNC, ZNC_UNIT, signTx, TxKind, decodeTx, type Block, type Certificate } from '../ledger/index.ts';
import { testChain } from '../ledger/testing.ts';
import { MemoryKvStore } from '../store/index.ts';
import { partitionChains, type ParallelExecutor } from './parallelExec.ts';
import { buildCertified } from './testing.ts';
import { ZeusNode } from './zeusNode.ts';

// A node started with execution threads, as `zeus node start --execution-threads 2` starts it, on a
// real ZeusNode with a memory store: it follows a chain another node builds, executing each block
// with its inner chains on a worker thread, and keeps the builder's state roots and stored state
// also across heights it executes on one thread (as it does when it proposes). When its threads
// fail it says so and goes on sequentially, with the same result.

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const t = testChain({ devAccounts: NAMES });
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 100, bookkeeperKey: 'bookkeeper-0', mempoolMax: 10_000 };
const key = t.keys['bookkeeper-0'];

async function open(executionThreads: number): Promise<{ node: ZeusNode; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, key, { logger, executionThreads });
  return { node, lines };
}

/** Transfers between every pair of accounts (most cross chains): one height's worth. */
function transfers(builder: ZeusNode, round: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [i, from] of NAMES.entries()) {
    const k = t.keys[from];
    const fromHex = toHex(addressFromPublicKey(k.publicKey));
    let nonce: bigint | undefined;
    for (const to of NAMES) {
      if (to === from) continue;
      const payload = { to: addressFromPublicKey(t.keys[to].publicKey), token: ZNC, amount: BigInt(1 + i + round) * ZNC_UNIT, memo: '' };
      const chain = decodeTx(signTx(k, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce: 0n, payload })).chain;
      nonce ??= builder.reader.nextNonce(chain, fromHex);
      out.push(signTx(k, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce: nonce++, payload }));
    }
  }
  return out;
}

/** The builder makes the next height from `txs` and commits it; answers the block and its certificate. */
async function build(builder: ZeusNode, txs: Uint8Array[]): Promise<{ block: Block; certificate: Certificate }> {
  await builder.submitMany(txs);
  const { block, certificate, built } = buildCertified(builder, builder.ledger.time + 1000, [key]);
  await builder.commitBlock(block, certificate, built.executed, built.rejected);
  return { block, certificate };
}

const roots = (n: ZeusNode): string[] => n.ledger.stateRoots().map(toHex);

describe('a node with execution threads', () => {
  it('follows the chain with the roots of sequential execution, also across heights it executes alone', async () => {
    const { node: builder } = await open(1);
    const { node: follower, lines } = await open(3);
    try {
      expect(lines.some((l) => String(l.msg).includes('received blocks execute on 3 threads'))).toBe(true);
      for (let h = 0; h < 12; h++) {
        const { block, certificate } = await build(builder, transfers(builder, h));
        expect(block.segments.filter((s) => s.txs.length > 0).length).toBeGreaterThan(3);
        // Every other height the follower's mempool had the transactions first (as gossip brings them),
        // and its worker threads decoded theirs ahead; the others they decode in the job.
        const ahead = follower.executionStats!.txsDecodedAhead;
        if (h % 2 === 1) {
          const admitted = await follower.submitMany(block.segments.flatMap((s) => s.txs));
          expect(admitted.filter((r) => r instanceof Error)).toEqual([]);
        }
        // Every third height on one thread, as when it builds its own block: its workers must follow that too.
        const executed = h % 3 === 2 ? follower.ledger.executeBlock(block) : await follower.executeBlock(block);
        const workerTxs = block.segments.filter((_, c) => partitionChains(3).flat().includes(c)).reduce((n, s) => n + s.txs.length, 0);
        expect(follower.executionStats!.txsDecodedAhead - ahead, `decoded ahead at height ${h + 1}`).toBe(h % 2 === 1 && h % 3 !== 2 ? workerTxs : 0);
        expect(executed.job === undefined).toBe(h % 3 === 2);
        await follower.commitBlock(block, certificate, executed);
        expect(roots(follower), `roots at height ${h + 1}`).toEqual(roots(builder));
      }
      // What it stored (written from the workers' encodings) restores to the same ledger.
      const restored = await follower.store.loadLedger();
      expect(restored.stateRoots().map(toHex)).toEqual(roots(builder));
      for (const name of NAMES) {
        const hex = toHex(addressFromPublicKey(t.keys[name].publicKey));
        expect(follower.reader.account(hex)).toEqual(builder.reader.account(hex));
      }
    } finally {
      await builder.close();
      await follower.close();
    }
  }, 60_000);

  it('whose threads fail says so and goes on executing sequentially, with the same result', async () => {
    const { node: builder } = await open(1);
    const { node: follower, lines } = await open(2);
    try {
      const first = await build(builder, transfers(builder, 0));
      const executed = await follower.executeBlock(first.block);
      await follower.commitBlock(first.block, first.certificate, executed);
      // A replica told to adopt a job it never ran has lost track of the chain: its thread reports failure.
      follower.ledger.onCommit?.({ ...executed, job: -1 });
      const second = await build(builder, transfers(builder, 1));
      const again = await follower.executeBlock(second.block);
      await follower.commitBlock(second.block, second.certificate, again);
      expect(roots(follower)).toEqual(roots(builder));
      expect(lines.some((l) => String(l.msg).includes('parallel execution failed; executing blocks sequentially from now on'))).toBe(true);
      // From then on one thread: nothing is posted to a worker any more.
      const third = await build(builder, transfers(builder, 2));
      const seq = await follower.executeBlock(third.block);
      expect(seq.job).toBeUndefined();
      await follower.commitBlock(third.block, third.certificate, seq);
      expect(roots(follower)).toEqual(roots(builder));
    } finally {
      await builder.close();
      await follower.close();
    }
  }, 60_000);

  it('commits a height only after a batch being judged on the threads is done: its transactions are not taken for refused', async () => {
    const { node } = await open(2);
    try {
      // A sender whose chain the worker thread judges (chains 1, 3, 5, 7, 9 with 2 threads).
      const name = NAMES.find((n) => homeChain(addressFromPublicKey(t.keys[n].publicKey)) % 2 === 1)!;
      const k = t.keys[name];
      const to = addressFromPublicKey(t.keys[NAMES.find((n) => n !== name)!].publicKey);
      const transfer = (nonce: bigint): Uint8Array =>
        signTx(k, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce, payload: { to, token: ZNC, amount: ZNC_UNIT, memo: '' } });
      const rejected: string[] = [];
      node.events.on('event', (e: { type: string; status?: string; hash?: string }) => e.type === 'tx' && e.status === 'rejected' && rejected.push(e.hash!));
      // Height 1 includes only what the pool held: its speculative state is kept (stale).
      expect(await node.submitMany([transfer(0n)])).not.toContainEqual(expect.any(Error));
      const h1 = buildCertified(node, node.ledger.time + 1000, [key]);
      await node.commitBlock(h1.block, h1.certificate, h1.built.executed, h1.built.rejected);
      // Nonce 1 pending, and height 2 built with it.
      const pending = transfer(1n);
      expect(await node.submitMany([pending])).not.toContainEqual(expect.any(Error));
      const h2 = buildCertified(node, node.ledger.time + 1000, [key]);
      expect(h2.built.executed.txs.flat().length).toBe(1);
      // A batch whose judgement on the worker thread is held up: nonce 9 is refused on the kept
      // state, so the pool rebuilds it before judging again. Height 2 commits meanwhile.
      const executor = (node as unknown as { executor: ParallelExecutor }).executor;
      const specApply = executor.specApply.bind(executor);
      let release = (): void => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      executor.specApply = async (p, txs) => {
        await gate;
        return specApply(p, txs);
      };
      const judged = node.submitMany([transfer(9n)]);
      const committed = node.commitBlock(h2.block, h2.certificate, h2.built.executed, h2.built.rejected);
      await new Promise((r) => setTimeout(r, 50));
      release();
      const [results] = await Promise.all([judged, committed]);
      expect((results[0] as Error & { code: string }).code).toBe('NONCE_GAP');
      // Nonce 1 was committed, never refused.
      expect(rejected).toEqual([]);
      expect(node.mempool.size).toBe(0);
      expect(node.ledger.height).toBe(2);
    } finally {
      await node.close();
    }
  });
});

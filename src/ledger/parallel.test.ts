import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { ParallelExecutor } from '../node/parallelExec.ts';
import type { Block } from './block.ts';
import type { Certificate } from './commit.ts';
import { Ledger, type ExecutedHeight, type KnownTxs } from './ledger.ts';
import { taskIdFor } from './market/tasks.ts';
import { MarketDriver } from './marketTesting.ts';
import { actionTx, DEVS, publishAppTxs, registerWorkerTxs, settleCompared, USERS, WORKERS } from './marketTraffic.ts';
import { ZNC, ZNC_UNIT } from './params.ts';
import { encodeReceipts } from './receipts.ts';
import { TxKind } from './ops/index.ts';
import { decodeTx, type Tx } from './tx.ts';

// Parallel execution of a height (inner chains on worker threads, src/ledger/parallel.ts) must be
// sequential execution exactly: for random heights of transfers (many crossing chains, so receipts
// land at the next height) and market transactions, valid and not, a ledger that executes every
// block with its chains split across threads reaches the same segment headers (state, transaction
// and receipt roots), the same receipts, events and state writes as one that executes them one
// chain after another. Some heights the parallel ledger executes sequentially itself (as a
// proposer builds its own blocks), so its replicas also follow heights executed elsewhere.

const RUNS = Number(process.env.ZEUS_PARALLEL_PROPERTY_RUNS ?? 12);
const NAMES = [...USERS, ...WORKERS, ...DEVS];

const action = fc.record({
  kind: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 14 }) }, { weight: 3, arbitrary: fc.constant(-1) }),
  actor: fc.nat(),
  pick: fc.nat(),
  n: fc.nat({ max: 1_000_000 }),
  flag: fc.boolean(),
});
const plan = fc.record({
  threads: fc.constantFrom(2, 3, 4),
  steps: fc.array(
    fc.record({ actions: fc.array(action, { maxLength: 12 }), skipMs: fc.constantFrom(0, 0, 0, 30_000), sequentialHere: fc.boolean(), ahead: fc.boolean() }),
    {
      minLength: 6,
      maxLength: 18,
    },
  ),
});

/** What two executions of one height must agree on, as comparable values. */
function outcome(e: ExecutedHeight): unknown {
  return {
    height: e.height,
    time: e.time,
    txs: e.txs.map((txs) => txs.map((t) => t.hashHex)),
    segments: e.segments.map((s) => ({ ...s, txRoot: toHex(s.txRoot), stateRoot: toHex(s.stateRoot), receiptRoot: toHex(s.receiptRoot) })),
    receipts: toHex(encodeReceipts(e.receipts)),
    events: e.events,
    writes: e.staged.map((s) => [...s.encoded].map(([k, v]) => [k, v && toHex(v)]).sort(([a], [b]) => (a! < b! ? -1 : 1))),
  };
}

const executors: ParallelExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((e) => e.close()));
});

describe('parallel execution of a height', () => {
  it('gives the state roots, receipts, events and writes of sequential execution', async () => {
    let crossing = 0;
    let market = 0;
    let decodedAhead = 0;
    await fc.assert(
      fc.asyncProperty(plan, async ({ threads, steps }) => {
        const m = new MarketDriver(NAMES, { reviewBlocks: 6, startDeadlineBlocks: 3, reportDeadlineBlocks: 4, graceBlocks: 2, lowEscrowMs: 60_000 });
        const blocks: { block: Block; certificate: Certificate }[] = [];
        m.onCommit = (c) => blocks.push(c);
        const sequential = Ledger.fromGenesis(m.t.genesis);
        const parallel = Ledger.fromGenesis(m.t.genesis);
        const executor = await ParallelExecutor.start(parallel, threads);
        executors.push(executor);
        // `ahead`: the replicas were handed the height's transactions before it (as a mempool admits
        // them), so they find them decoded; else they decode each in the job.
        const replay = async (sequentialHere: boolean, ahead = false): Promise<void> => {
          for (const { block, certificate } of blocks.splice(0)) {
            // The parallel side knows the transactions as a mempool does (decoded copies, found by
            // the hashes a replica sends back); a wrong hash would put another transaction in the height.
            const mempool = new Map(block.segments.flatMap((s) => s.txs.map((b) => decodeTx(b))).map((t) => [t.hashHex, t]));
            const known: KnownTxs = { decoded: (h) => mempool.get(h), verified: (h) => mempool.has(h) };
            if (ahead) executor.admit([...mempool.values()]);
            const a = sequential.executeBlock(block);
            const b = sequentialHere ? parallel.executeBlock(block, true, known) : await executor.executeBlock(block, true, known);
            expect(outcome(b)).toEqual(outcome(a));
            sequential.commit(a, block.header, certificate);
            parallel.commit(b, block.header, certificate);
          }
        };
        WORKERS.forEach((w) => m.next([m.tx(w, TxKind.Stake, { amount: 500n * ZNC_UNIT })]));
        m.next(registerWorkerTxs(m));
        m.next(publishAppTxs(m));
        await replay(false);
        const tasks: Uint8Array[] = [];
        for (const [i, step] of steps.entries()) {
          const txs: Tx[] = [];
          for (const a of step.actions) {
            if (a.kind < 0) {
              // A transfer between two of the accounts: most cross chains (each account's home chain is its own).
              const from = NAMES[a.actor % NAMES.length];
              const to = addressFromPublicKey(m.t.keys[NAMES[a.pick % NAMES.length]].publicKey);
              txs.push(m.tx(from, TxKind.Transfer, { to, token: ZNC, amount: BigInt(1 + a.n) * (a.flag ? ZNC_UNIT : 1n), memo: '' }));
              continue;
            }
            const tx = actionTx(m, tasks, a);
            if (tx) txs.push(tx);
          }
          if (i % 2 === 1) txs.push(...settleCompared(m, tasks));
          m.t.ledger.time += step.skipMs;
          const rejected = m.next(txs, true);
          for (const tx of txs) {
            if (rejected.has(tx.hashHex)) continue;
            if (tx.kind === TxKind.PostTask) tasks.push(taskIdFor(tx.hash, tx.chain));
            if (tx.kind === TxKind.Transfer) crossing++;
            else market++;
          }
          await replay(step.sequentialHere, step.ahead);
        }
        for (let i = 0; i < 8; i++) m.next();
        await replay(false, true);
        decodedAhead += executor.stats.txsDecodedAhead;
        expect(parallel.stateRoots().map(toHex)).toEqual(m.t.ledger.stateRoots().map(toHex));
        // What the calling thread holds of the chains the workers ran reads as the builder's state does.
        const sorted = (pairs: [string, unknown][]): [string, unknown][] => pairs.sort(([a], [b]) => (a < b ? -1 : 1));
        for (const [c, chain] of parallel.chains.entries()) expect(sorted(chain.pairs())).toEqual(sorted(m.t.ledger.chains[c].pairs()));
        await executor.close();
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: transfers and market transactions were executed in parallel.
    expect(crossing).toBeGreaterThan(0);
    expect(market).toBeGreaterThan(0);
    expect(decodedAhead).toBeGreaterThan(0);
  }, 300_000);

  it('refuses a block with a failing transaction as sequential execution does', async () => {
    const m = new MarketDriver(NAMES);
    const blocks: { block: Block; certificate: Certificate }[] = [];
    m.onCommit = (c) => blocks.push(c);
    const parallel = Ledger.fromGenesis(m.t.genesis);
    const executor = await ParallelExecutor.start(parallel, 2);
    executors.push(executor);
    const to = addressFromPublicKey(m.t.keys.u2.publicKey);
    const pay = m.tx('u1', TxKind.Transfer, { to, token: ZNC, amount: 5n, memo: '' });
    m.next([pay]);
    const { block, certificate } = blocks[0];
    // The same transfer again in its segment: its nonce is used by then.
    const replayed: Block = { ...block, segments: block.segments.map((s, c) => (c === pay.chain ? { txs: [...s.txs, pay.bytes] } : s)) };
    const sequential = Ledger.fromGenesis(m.t.genesis);
    expect(() => sequential.executeBlock(replayed)).toThrow(/NONCE_REPLAYED/);
    await expect(executor.executeBlock(replayed)).rejects.toThrow(/NONCE_REPLAYED/);
    // The refused execution left nothing behind: the valid block still executes and commits.
    const ok = await executor.executeBlock(block);
    expect(outcome(ok)).toEqual(outcome(sequential.executeBlock(block)));
    parallel.commit(ok, block.header, certificate);
    expect(parallel.stateRoots().map(toHex)).toEqual(m.t.ledger.stateRoots().map(toHex));
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { homeChain, TxKind, ZNC, ZNC_UNIT } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain } from '../ledger/testing.ts';
import { Mempool } from './mempool.ts';
import { ParallelExecutor } from './parallelExec.ts';

const executors: ParallelExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((e) => e.close()));
});

/** A mempool on `t`'s ledger; with `threads` > 1 its worker chains (1, 3, 5, 7, 9 for 2) are judged on worker threads. */
async function poolOn(t: ReturnType<typeof testChain>, threads: number, now: () => number): Promise<Mempool> {
  const pool = new Mempool(t.ledger, { maxSize: 100, now });
  if (threads > 1) {
    const executor = await ParallelExecutor.start(t.ledger, threads);
    executors.push(executor);
    await pool.attach(executor);
  }
  return pool;
}

describe.each([1, 2])('mempool on %i thread(s)', (threads) => {
  it('keeps its speculative state across a commit of its own transactions, and judges a refusal again on fresh state', async () => {
    const zeds = Array.from({ length: 12 }, (_, i) => `zed-${i}`);
    const t = testChain({ devAccounts: ['alice', ...zeds] });
    let now = t.ledger.time + 1000;
    // A recipient on another chain than alice, starting from nothing: it can spend only what the receipt brings.
    const alice = addressFromPublicKey(t.keys.alice.publicKey);
    // With 2 threads, on a chain of the worker thread (an odd one).
    const zedName = zeds.find((n) => {
      const c = homeChain(addressFromPublicKey(t.keys[n].publicKey));
      return c !== homeChain(alice) && c % 2 === 1;
    })!;
    const zed = addressFromPublicKey(t.keys[zedName].publicKey);
    const drain = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 9_999_999n * ZNC_UNIT, memo: '' });
    const pool = await poolOn(t, threads, () => now);
    commitExecuted(
      t,
      (() => {
        const e = t.ledger.begin(now);
        expect(e.tryApply(drain)).toBeNull();
        return e.finish();
      })(),
    );
    await pool.onCommit([]);
    // zed spends its last ZNC while alice pays it 5 more from her chain.
    const last = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: ZNC_UNIT, memo: '' });
    const pay = makeTx(t, 'alice', TxKind.Transfer, { to: zed, token: ZNC, amount: 5n * ZNC_UNIT, memo: '' });
    await pool.add(last);
    await pool.add(pay);
    // Height 2 includes both (all pending): the state is kept, not rebuilt.
    now += 100;
    const h2 = t.ledger.begin(now);
    expect(h2.tryApply(last)).toBeNull();
    expect(h2.tryApply(pay)).toBeNull();
    commitExecuted(t, h2.finish());
    expect((await pool.onCommit([last.hashHex, pay.hashHex])).size).toBe(0);
    // Height 3 credits zed by receipt: the kept state (zed at 0 ZNC) does not know it.
    now += 100;
    commitExecuted(t, t.ledger.begin(now).finish());
    expect((await pool.onCommit([])).size).toBe(0);
    const spend = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 4n * ZNC_UNIT, memo: '' });
    // Refused on the kept state (no funds there), then judged on fresh state: admitted.
    await expect(pool.add(spend)).resolves.toBeUndefined();
    expect(pool.size).toBe(1);
    // A real refusal stays a refusal after the fresh check.
    const tooMuch = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 2n * ZNC_UNIT, memo: '' });
    await expect(pool.add(tooMuch)).rejects.toThrow(/has 1 ZNC; 2 ZNC requested/);
  });

  it('rebuilds after a height that included a transaction it did not hold', async () => {
    const t = testChain();
    let now = t.ledger.time + 1000;
    const pool = await poolOn(t, threads, () => now);
    const bob = addressFromPublicKey(t.keys.bob.publicKey);
    const mine = makeTx(t, 'alice', TxKind.Transfer, { to: bob, token: ZNC, amount: 1n, memo: '' }, 0n);
    const foreign = makeTx(t, 'alice', TxKind.Transfer, { to: bob, token: ZNC, amount: 2n, memo: '' }, 0n);
    await pool.add(mine);
    now += 100;
    const h = t.ledger.begin(now);
    expect(h.tryApply(foreign)).toBeNull();
    commitExecuted(t, h.finish());
    // Another node's transaction took alice's nonce 0: the pending one no longer applies.
    const dropped = await pool.onCommit([foreign.hashHex]);
    expect([...dropped.values()].map(([, e]) => e.code)).toEqual(['NONCE_REPLAYED']);
    expect(pool.size).toBe(0);
  });

  it('keeps room for senders with priority, however many transactions the others send', async () => {
    const t = testChain();
    let now = t.ledger.time + 1000;
    const pool = new Mempool(t.ledger, {
      maxSize: 6,
      maxFree: 3,
      isPriority: (tx) => tx.fromHex === toHex(addressFromPublicKey(t.keys.carol.publicKey)),
      priorityHint: () => 'stake for priority',
      now: () => now,
    });
    if (threads > 1) {
      const executor = await ParallelExecutor.start(t.ledger, threads);
      executors.push(executor);
      await pool.attach(executor);
    }
    const dave = addressFromPublicKey(t.keys.dave.publicKey);
    const pay = (from: string, amount: bigint) => makeTx(t, from, TxKind.Transfer, { to: dave, token: ZNC, amount, memo: '' });
    // alice and bob (no priority) take the 3 free places, in order; the 4th and 5th are refused.
    const free = [pay('alice', 1n), pay('bob', 1n), pay('alice', 2n), pay('alice', 3n), pay('bob', 2n)];
    const res = await pool.addMany(free);
    expect(res.map((e) => e?.code ?? null)).toEqual([null, null, null, 'MEMPOOL_FULL', 'MEMPOOL_FULL']);
    expect(res[3]!.message).toMatch(/3 pending transactions from senders without priority.*stake for priority/);
    expect(pool.freeSize).toBe(3);
    // The cheap check before a signature is checked says the same.
    expect(pool.roomFor(pay('bob', 9n))?.code).toBe('MEMPOOL_FULL');
    // carol (priority) still finds room: the rest of the pool, up to its size.
    const carols = [pay('carol', 1n), pay('carol', 2n), pay('carol', 3n), pay('carol', 4n)];
    expect(pool.roomFor(carols[0])).toBeUndefined();
    expect((await pool.addMany(carols)).map((e) => e?.code ?? null)).toEqual([null, null, null, 'MEMPOOL_FULL']);
    expect(pool.size).toBe(6);
    // A block takes carol's first, then the others in arrival order.
    const order = pool.inBlockOrder();
    expect(order.priority.map((tx) => tx.hashHex)).toEqual(carols.slice(0, 3).map((tx) => tx.hashHex));
    expect(order.free.map((tx) => tx.hashHex)).toEqual(free.slice(0, 3).map((tx) => tx.hashHex));
    // Committed, the free places are free again.
    now += 100;
    const h = t.ledger.begin(now);
    for (const tx of free.slice(0, 2)) expect(h.tryApply(tx)).toBeNull();
    commitExecuted(t, h.finish());
    expect((await pool.onCommit(free.slice(0, 2).map((tx) => tx.hashHex))).size).toBe(0);
    expect(pool.freeSize).toBe(1);
    expect(await pool.addMany([free[3]])).toEqual([null]);
  });
});

describe('mempool whose execution threads fail', () => {
  it('takes their chains back: pending transactions are applied again here, and judging goes on', async () => {
    const zeds = Array.from({ length: 12 }, (_, i) => `zed-${i}`);
    const t = testChain({ devAccounts: ['alice', ...zeds] });
    const now = t.ledger.time + 1000;
    const failures: string[] = [];
    const pool = new Mempool(t.ledger, { maxSize: 100, now: () => now, onHostFailure: (e) => failures.push(e.message) });
    const executor = await ParallelExecutor.start(t.ledger, 2);
    await pool.attach(executor);
    // alice pays from a chain the worker thread judges.
    const onWorker = zeds.find((n) => homeChain(addressFromPublicKey(t.keys[n].publicKey)) % 2 === 1)!;
    const bob = addressFromPublicKey(t.keys.alice.publicKey);
    const first = makeTx(t, onWorker, TxKind.Transfer, { to: bob, token: ZNC, amount: ZNC_UNIT, memo: '' });
    await pool.add(first);
    await executor.close();
    // Nonce 1 is admitted only if nonce 0, pending, was applied again on this thread.
    const second = makeTx(t, onWorker, TxKind.Transfer, { to: bob, token: ZNC, amount: ZNC_UNIT, memo: '' });
    await expect(pool.add(second)).resolves.toBeUndefined();
    expect(failures).toEqual(['the execution threads were closed']);
    const replay = makeTx(t, onWorker, TxKind.Transfer, { to: bob, token: ZNC, amount: 2n * ZNC_UNIT, memo: '' }, 1n);
    await expect(pool.add(replay)).rejects.toHaveProperty('code', 'NONCE_REPLAYED');
    expect(pool.list().map((tx) => tx.hashHex)).toEqual([first.hashHex, second.hashHex]);
  });
});

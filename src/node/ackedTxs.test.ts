import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addressFromPublicKey } from '../crypto/index.ts';
import { TxKind, ZNC, type Tx } from '../ledger/index.ts';
import { makeTx, testChain } from '../ledger/testing.ts';
import { LevelKvStore, type KvOp, type KvStore } from '../store/index.ts';
import { AckedTxJournal } from './ackedTxs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A real LevelDB store that counts its synced writes. */
async function countingStore(): Promise<{ kv: KvStore; synced: KvOp[][]; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-acked-'));
  dirs.push(dir);
  const level = await LevelKvStore.open(dir);
  const synced: KvOp[][] = [];
  const kv: KvStore = {
    get: (key) => level.get(key),
    entries: (prefix) => level.entries(prefix),
    close: () => level.close(),
    write: (ops, sync) => {
      if (sync) synced.push([...ops]);
      return level.write(ops, sync);
    },
  };
  return { kv, synced, close: () => level.close() };
}

function transfers(n: number): Tx[] {
  const t = testChain();
  return Array.from({ length: n }, (_, i) =>
    makeTx(t, 'alice', TxKind.Transfer, { to: addressFromPublicKey(t.keys.bob.publicKey), token: ZNC, amount: BigInt(i + 1), memo: '' }),
  );
}

describe('the journal of acknowledged transactions', () => {
  it('puts records that arrive while a synced write is under way into one write, in arrival order, each on disk before it returns', async () => {
    const { kv, synced, close } = await countingStore();
    const journal = new AckedTxJournal(kv, 1_000);
    const txs = transfers(40);
    // Forty clients' submissions, one transaction each, arriving together.
    const onDisk: boolean[] = [];
    await Promise.all(
      txs.map(async (tx) => {
        await journal.record([tx]);
        onDisk.push((await journal.load()).some((e) => Buffer.from(e.bytes).equals(tx.bytes)));
      }),
    );
    expect(onDisk).toEqual(txs.map(() => true));
    // One write each would be 40 flushes of the disk's journal.
    expect(synced.length).toBeLessThanOrEqual(2);
    expect(synced.flat()).toHaveLength(40);
    // Admitted again in the order they came (a sender's nonces).
    expect((await journal.load()).map((e) => Buffer.from(e.bytes).toString('hex'))).toEqual(txs.map((t) => Buffer.from(t.bytes).toString('hex')));
    expect(journal.size).toBe(40);
    await close();
  });

  it('keeps arrival order across batches, and a failed write fails only the records it carried', async () => {
    const { kv, synced, close } = await countingStore();
    const txs = transfers(6);
    // The disk fails the write that carries txs[1].
    const flaky: KvStore = {
      ...kv,
      write: (ops, sync) =>
        sync && ops.some((o) => o.value && Buffer.from(o.value).equals(txs[1].bytes)) ? Promise.reject(new Error('disk full')) : kv.write(ops, sync),
    };
    const journal = new AckedTxJournal(flaky, 2_000);
    const first = journal.record([txs[0]]);
    // The first write is under way; these wait for it and go together.
    await new Promise((r) => setImmediate(r));
    const results = Promise.allSettled([first, journal.record([txs[1], txs[2]]), journal.record([txs[3]])]);
    expect((await results).map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual(['ok', 'disk full', 'disk full']);
    // The journal goes on after a failed write.
    await journal.record([txs[4], txs[5]]);
    const kept = (await journal.load()).map((e) => Buffer.from(e.bytes).toString('hex'));
    expect(kept).toEqual([txs[0], txs[4], txs[5]].map((t) => Buffer.from(t.bytes).toString('hex')));
    expect(synced.map((ops) => ops.length)).toEqual([1, 2]);
    await close();
  });
});

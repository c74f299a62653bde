import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { blockHash, Ledger, TxKind, ZNC } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain } from '../ledger/testing.ts';
import { ChainStore } from './chainStore.ts';
import { LevelKvStore, MemoryKvStore, type KvStore } from './kv.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function level(): Promise<KvStore> {
  const d = mkdtempSync(join(tmpdir(), 'zeus-store-'));
  dirs.push(d);
  return LevelKvStore.open(d);
}

/** Builds `heights` blocks of transfers and commits each to the store and the ledger. */
async function fill(store: ChainStore, heights: number) {
  const t = testChain();
  await store.initialize(t.ledger);
  const bob = addressFromPublicKey(t.keys.bob.publicKey);
  for (let h = 0; h < heights; h++) {
    const exec = t.ledger.begin(t.ledger.time + 1000);
    for (const from of ['alice', 'carol', 'dave']) {
      expect(exec.tryApply(makeTx(t, from, TxKind.Transfer, { to: bob, token: ZNC, amount: 10n + BigInt(h), memo: '' }))).toBeNull();
    }
    const executed = exec.finish();
    const ledgerBefore = t.ledger.height;
    const { block, certificate } = commitExecuted(t, executed);
    expect(t.ledger.height).toBe(ledgerBefore + 1);
    await store.commit(block, certificate, executed);
  }
  return t;
}

describe.each([
  ['memory', async () => new MemoryKvStore() as KvStore],
  ['leveldb', level],
])('chain store on %s', (_name, open) => {
  it('restores exactly the committed ledger, and replaying its blocks gives the same roots', async () => {
    const kv = await open();
    const store = new ChainStore(kv);
    const t = await fill(store, 12);
    const restored = await store.loadLedger();
    expect(restored.height).toBe(12);
    expect(restored.stateRoots().map(toHex)).toEqual(t.ledger.stateRoots().map(toHex));
    expect(toHex(restored.lastBlockHash)).toBe(toHex(t.ledger.lastBlockHash));
    expect(restored.inFlight).toEqual(t.ledger.inFlight);

    const replay = Ledger.fromGenesis(t.genesis);
    for (let h = 1; h <= 12; h++) {
      const { block: b, certificate } = (await store.committedBlock(h))!;
      replay.commit(replay.executeBlock(b), b.header, certificate);
      expect(toHex(replay.lastBlockHash)).toBe(toHex(blockHash(b.header)));
    }
    expect(replay.stateRoots().map(toHex)).toEqual(t.ledger.stateRoots().map(toHex));
    const tx = (await store.block(5))!.segments.flatMap((s) => s.txs)[0];
    expect(tx).toBeDefined();
    await store.close();
  });

  it('refuses to start from state that does not match the tip block', async () => {
    const kv = await open();
    const store = new ChainStore(kv);
    await fill(store, 3);
    const key = (await (async () => {
      for await (const [k] of kv.entries('s/')) if (k.includes('/a/')) return k;
      return '';
    })())!;
    await kv.write([{ key, value: null }]);
    await expect(store.loadLedger()).rejects.toThrow(/does not match block 3/);
    await store.close();
  });
});

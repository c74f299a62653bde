import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { addressFromPublicKey, bytesEqual, toHex } from '../crypto/index.ts';
import { blockHash, homeChain, Ledger, TxKind, ZNC, ZNC_UNIT, type Block, type Tx } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain, type TestChain } from '../ledger/testing.ts';
import { ChainStore } from './chainStore.ts';
import { MemoryKvStore } from './kv.ts';
import { SnapshotStore } from './snapshotStore.ts';
import { buildSnapshot, captureState, chunkError, decodeManifest, encodeManifest, restoreSnapshot, SnapshotError, type BuiltSnapshot } from './snapshots.ts';

// The snapshot format and what a joiner checks: real ledgers, real blocks, real transfers (some
// across chains, so that receipts are in flight at the snapshot height).

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A chain of `heights` blocks, each with transfers between every pair of accounts; returns the last block. */
function chainWithTransfers(heights: number): { t: TestChain; last: Block } {
  const t = testChain({ devAccounts: NAMES });
  let last: Block | undefined;
  for (let h = 0; h < heights; h++) {
    const exec = t.ledger.begin(t.ledger.time + 1000);
    for (const from of NAMES) {
      for (const to of NAMES) {
        if (from === to) continue;
        const tx: Tx = makeTx(t, from, TxKind.Transfer, {
          to: addressFromPublicKey(t.keys[to].publicKey),
          token: ZNC,
          amount: BigInt(h + 1) * ZNC_UNIT,
          memo: '',
        });
        expect(exec.tryApply(tx)).toBeNull();
      }
    }
    last = commitExecuted(t, exec.finish()).block;
  }
  return { t, last: last! };
}

let { t, last } = chainWithTransfers(5);
let header = last.header;
// The first test moves its chain on: each test starts from a chain of its own.
beforeEach(() => {
  ({ t, last } = chainWithTransfers(5));
  header = last.header;
});

async function snapshotOf(chunkBytes = 512): Promise<BuiltSnapshot> {
  return buildSnapshot(captureState(t.ledger), { chunkBytes, pause: () => new Promise((r) => setImmediate(r)) });
}

describe('state snapshots', () => {
  it('restores a ledger equal to the one it was taken from, that executes the next block alike', async () => {
    // Receipts must be in flight: some pairs live on different home chains.
    expect(NAMES.some((a) => homeChain(addressFromPublicKey(t.keys[a].publicKey)) !== homeChain(addressFromPublicKey(t.keys.alice.publicKey)))).toBe(true);
    expect(t.ledger.inFlight.length).toBeGreaterThan(0);
    const s = await snapshotOf();
    expect(s.chunks.length).toBeGreaterThan(3);
    // Canonical: a second snapshot of the same state makes the very same bytes (peers offer one manifest).
    const again = await snapshotOf();
    expect(toHex(again.manifestBytes)).toBe(toHex(s.manifestBytes));
    const m = decodeManifest(s.manifestBytes);
    const r = restoreSnapshot(t.genesis, m, s.chunks, header);
    expect(r.ledger.height).toBe(t.ledger.height);
    expect(r.ledger.stateRoots().map(toHex)).toEqual(t.ledger.stateRoots().map(toHex));
    expect(r.ledger.inFlight).toEqual(t.ledger.inFlight);
    // The restored ledger and the original execute the same next block to the same roots.
    const restored = { ...t, ledger: r.ledger };
    r.ledger.lastCommit = t.ledger.lastCommit;
    const tx = makeTx(t, 'alice', TxKind.Transfer, { to: addressFromPublicKey(t.keys.bob.publicKey), token: ZNC, amount: 1n, memo: '' });
    const e1 = t.ledger.begin(t.ledger.time + 1000);
    expect(e1.tryApply(tx)).toBeNull();
    const b1 = commitExecuted(t, e1.finish()).block;
    const executed = r.ledger.executeBlock(b1);
    commitExecuted(restored, executed);
    expect(r.ledger.stateRoots().map(toHex)).toEqual(t.ledger.stateRoots().map(toHex));
    expect(toHex(r.ledger.lastBlockHash)).toBe(toHex(blockHash(b1.header)));
  });

  it('refuses a tampered chunk, naming it', async () => {
    const s = await snapshotOf();
    const m = decodeManifest(s.manifestBytes);
    const bad = s.chunks.map((c) => c.slice());
    bad[2][100] ^= 1;
    expect(chunkError(m, 2, bad[2])).toMatch(/chunk 2 does not hash/);
    expect(chunkError(m, 2, s.chunks[2])).toBeUndefined();
    expect(chunkError(m, 1, s.chunks[2])).toMatch(/chunk 1 does not hash/);
    expect(() => restoreSnapshot(t.genesis, m, bad, header)).toThrow(SnapshotError);
  });

  it('refuses a consistent snapshot of a wrong state (its chunks match its manifest, its root does not match the block)', async () => {
    const c = captureState(t.ledger);
    // A liar's snapshot: one account's entry on some chain altered, everything re-hashed.
    const chain = c.chains.findIndex((pairs) => pairs.some(([k]) => k.startsWith('a/')));
    const pairs = c.chains[chain].slice();
    const i = pairs.findIndex(([k]) => k.startsWith('a/'));
    const [key, value] = pairs[i];
    pairs[i] = [key, { ...(value as object), nonce: 999n } as typeof value];
    const lie = await buildSnapshot({ ...c, chains: c.chains.map((p, j) => (j === chain ? pairs : p)) }, { chunkBytes: 512 });
    const m = decodeManifest(lie.manifestBytes);
    lie.chunks.forEach((ch, j) => expect(chunkError(m, j, ch)).toBeUndefined());
    expect(() => restoreSnapshot(t.genesis, m, lie.chunks, header)).toThrow(new RegExp(`state of chain ${chain} has root`));
  });

  it('refuses a manifest that is not the linked block, and receipts in flight that are not block S’s', async () => {
    const s = await snapshotOf();
    const m = decodeManifest(s.manifestBytes);
    // The block before: another height and hash.
    const prev = { ...header, height: header.height - 1n };
    expect(() => restoreSnapshot(t.genesis, m, s.chunks, prev)).toThrow(/manifest says height/);
    const otherHash = decodeManifest(encodeManifest({ ...m, blockHash: new Uint8Array(32) }));
    expect(() => restoreSnapshot(t.genesis, otherHash, s.chunks, header)).toThrow(/block hash/);
    // One receipt in flight dropped: the chunks are consistent, the receipt root is not.
    const c = captureState(t.ledger);
    const lie = await buildSnapshot({ ...c, inFlight: c.inFlight.slice(1) }, { chunkBytes: 512 });
    expect(() => restoreSnapshot(t.genesis, decodeManifest(lie.manifestBytes), lie.chunks, header)).toThrow(/receipts in flight from chain \d+ do not match/);
    // A manifest whose chunk count does not fit its size does not even decode.
    expect(() => decodeManifest(encodeManifest({ ...m, totalBytes: m.totalBytes * 3 }))).toThrow(/lists \d+ chunks/);
  });

  it('is written to disk whole or not at all, keeps the newest N, and restores into an empty chain store atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeus-snap-'));
    dirs.push(dir);
    const store = SnapshotStore.open(dir);
    const s = await snapshotOf();
    await store.save(s, 2);
    await store.save({ ...s, manifest: { ...s.manifest, height: 2 }, manifestBytes: encodeManifest({ ...s.manifest, height: 2 }) }, 2);
    await store.save({ ...s, manifest: { ...s.manifest, height: 1 }, manifestBytes: encodeManifest({ ...s.manifest, height: 1 }) }, 2);
    expect(store.list().map((x) => x.height)).toEqual([s.manifest.height, 2]);
    const reopened = SnapshotStore.open(dir);
    expect(reopened.list().map((x) => x.height)).toEqual([s.manifest.height, 2]);
    const chunk = await reopened.chunk(s.manifest.height, 1);
    expect(bytesEqual(chunk!, s.chunks[1])).toBe(true);
    expect(await reopened.chunk(s.manifest.height, s.chunks.length)).toBeUndefined();

    const r = restoreSnapshot(t.genesis, decodeManifest(s.manifestBytes), s.chunks, header);
    r.ledger.lastCommit = t.ledger.lastCommit;
    const cs = new ChainStore(new MemoryKvStore());
    const { encodeCommittedBlock } = await import('../ledger/index.ts');
    await cs.restoreSnapshot(r.ledger, r.entries, encodeCommittedBlock({ block: last, certificate: t.ledger.lastCommit }), {
      snapshotHeight: r.ledger.height,
      trustHeight: r.ledger.height,
      manifest: 'x',
    });
    const loaded = await cs.loadLedger();
    expect(loaded.stateRoots().map(toHex)).toEqual(r.ledger.stateRoots().map(toHex));
    expect(await cs.base()).toBe(r.ledger.height);
    await expect(cs.restoreSnapshot(r.ledger, r.entries, new Uint8Array(1), { snapshotHeight: 1, trustHeight: 1, manifest: 'x' })).rejects.toThrow(
      /already initialized/,
    );
  });

  it("prunes blocks below a height with their transactions' index, never the tip, and the store still loads", async () => {
    const c = testChain({ devAccounts: NAMES });
    const cs = new ChainStore(new MemoryKvStore());
    await cs.initialize(Ledger.fromGenesis(c.genesis));
    const hashes: string[] = [];
    for (let h = 1; h <= 6; h++) {
      const exec = c.ledger.begin(c.ledger.time + 1000);
      const tx = makeTx(c, 'alice', TxKind.Transfer, { to: addressFromPublicKey(c.keys.bob.publicKey), token: ZNC, amount: 1n, memo: '' });
      expect(exec.tryApply(tx)).toBeNull();
      hashes.push(tx.hashHex);
      const executed = exec.finish();
      const { block, certificate } = commitExecuted(c, executed);
      await cs.commit(block, certificate, executed);
    }
    expect(await cs.pruneBelow(4)).toBe(3);
    expect(await cs.base()).toBe(4);
    expect(await cs.committedBlock(3)).toBeUndefined();
    expect(await cs.committedBlock(4)).toBeDefined();
    expect(await cs.txLocation(hashes[2])).toBeUndefined();
    expect(await cs.txLocation(hashes[3])).toEqual({ height: 4, chain: expect.any(Number), index: 0 });
    expect(await cs.pruneBelow(100)).toBe(2);
    expect(await cs.base()).toBe(6);
    expect((await cs.loadLedger()).stateRoots().map(toHex)).toEqual(c.ledger.stateRoots().map(toHex));
  });
});

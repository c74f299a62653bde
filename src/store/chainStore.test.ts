import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { encode } from '../codec/index.ts';
import { blockHash, type CommittedBlock, decodeCommittedBlock, encodeCommittedBlock, Ledger, TxKind, ZNC } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain } from '../ledger/testing.ts';
import { ChainStore } from './chainStore.ts';
import { LevelKvStore, MemoryKvStore, StoreCorruptError, type KvStore } from './kv.ts';

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

/** The stored tip's encoding (chainStore.ts's TipSchema), to write a wrong one. */
const encodeTipForTest = (height: number, time: number, hash: Uint8Array): Uint8Array =>
  encode(
    {
      $id: 'Tip',
      fields: { height: { id: 1, type: 'uint64' }, time: { id: 2, type: 'uint64' }, hash: { id: 3, type: 'bytes', length: 32 } },
    } as const,
    { height: BigInt(height), time: BigInt(time), hash },
  );

// Bytes damaged at rest (issue 16's disk nemesis): LevelDB verifies no checksum on reads, so a
// flipped byte in a table file comes back as a value without a word. The store must notice.
describe('a chain store damaged on disk', () => {
  /** Rewrites stored block `h` after `change` edits its decoded form (what a flipped byte does). */
  async function damageBlock(kv: KvStore, h: number, change: (c: CommittedBlock) => void): Promise<void> {
    const key = `b/${h.toString().padStart(16, '0')}`;
    const c = decodeCommittedBlock((await kv.get(key))!);
    change(c);
    await kv.write([{ key, value: encodeCommittedBlock(c) }]);
  }

  it('refuses a block whose header, body or certificate no longer agree, rather than serve it', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 6);
    await damageBlock(kv, 2, (c) => {
      c.block.header.time += 1n;
    });
    await damageBlock(kv, 3, (c) => {
      const tx = c.block.segments.find((s) => s.txs.length > 0)!.txs[0];
      tx[tx.length - 1] ^= 1;
    });
    await damageBlock(kv, 4, (c) => {
      c.block.lastCommit.round += 1;
    });
    for (const [h, why] of [
      [2, /block 2 hashes to [0-9a-f]{64}, its certificate signs/],
      [3, /segment \d transactions do not match its header/],
      [4, /carried certificate does not match its header/],
    ] as const) {
      await expect(store.committedBlock(h)).rejects.toThrow(StoreCorruptError);
      await expect(store.committedBlock(h)).rejects.toThrow(why);
      await expect(store.committedBlockBytes(h)).rejects.toThrow(StoreCorruptError);
    }
    expect((await store.committedBlock(5))!.block.header.height).toBe(5n);
    await store.close();
  });

  it('finds a byte flipped inside a LevelDB table file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeus-store-'));
    dirs.push(dir);
    let kv: KvStore = await LevelKvStore.open(dir);
    await fill(new ChainStore(kv), 6);
    const signed = (await new ChainStore(kv).committedBlock(4))!.certificate.blockHash;
    await kv.close();
    // Opening again writes the log into a table; the block's 32-byte hash is in it verbatim.
    await (await LevelKvStore.open(dir)).close();
    const table = readdirSync(dir).filter((f) => f.endsWith('.ldb'))[0];
    const bytes = readFileSync(join(dir, table));
    const at = bytes.indexOf(Buffer.from(signed));
    expect(at).toBeGreaterThan(0);
    bytes[at + 5] ^= 0xff;
    writeFileSync(join(dir, table), bytes);
    kv = await LevelKvStore.open(dir);
    const store = new ChainStore(kv);
    await expect(store.committedBlock(4)).rejects.toThrow(/stored block 4 is damaged: block 4 hashes to/);
    await store.close();
  });

  it('refuses a tip that is not its block, and a store whose values do not decode', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 3);
    const tip = await kv.get('meta/tip');
    const t = await store.tip();
    await kv.write([{ key: 'meta/tip', value: encodeTipForTest(t.height, t.time + 5, t.hash) }]);
    await expect(store.loadLedger()).rejects.toThrow(/the stored tip \(height 3, hash [0-9a-f]+\) is not block 3/);
    await kv.write([{ key: 'meta/tip', value: tip! }]);
    await expect(store.loadLedger()).resolves.toBeDefined();
    const key = (await (async () => {
      for await (const [k] of kv.entries('s/')) return k;
      return '';
    })())!;
    await kv.write([{ key, value: Uint8Array.of(0xff, 0xff, 0xff) }]);
    await expect(store.loadLedger()).rejects.toThrow(StoreCorruptError);
    await expect(store.loadLedger()).rejects.toThrow(/^the stored state cannot be read: /);
    await store.close();
  });
});

// A damaged block is fetched again from peers (issue 16): a copy is written only when it hashes to
// what the store's own chain says block h is (block h+1's parent hash, or the tip's hash).
describe('a damaged stored block repaired from copies', () => {
  const flip = async (kv: KvStore, h: number): Promise<Uint8Array> => {
    const key = `b/${h.toString().padStart(16, '0')}`;
    const good = (await kv.get(key))!;
    const c = decodeCommittedBlock(good);
    c.block.header.time += 1n;
    await kv.write([{ key, value: encodeCommittedBlock(c) }]);
    return good;
  };
  /** A repair source that offers `copies` in order and records what it was asked and told. */
  const source = (copies: (h: number) => Uint8Array[]) => {
    const asked: number[] = [];
    const repaired: [number, string][] = [];
    return {
      asked,
      repaired,
      repair: {
        async *fetch(h: number) {
          asked.push(h);
          yield* copies(h);
        },
        repaired: (h: number, damage: string) => void repaired.push([h, damage]),
      },
    };
  };

  it('writes back the first copy that matches the chain, skipping a wrong one and garbage', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 6);
    const good3 = await flip(kv, 3);
    const other = (await kv.get(`b/${'4'.padStart(16, '0')}`))!;
    const s = source(() => [Uint8Array.of(1, 2, 3), other, good3]);
    store.repair = s.repair;
    const got = (await store.committedBlock(3))!;
    expect(toHex(blockHash(got.block.header))).toBe(toHex((await store.committedBlock(4))!.block.header.prevHash));
    expect(s.repaired).toEqual([[3, expect.stringMatching(/stored block 3 is damaged: block 3 hashes to/)]]);
    // Written back: a store without a repair source reads it now.
    store.repair = undefined;
    expect(toHex((await store.committedBlockBytes(3))!)).toBe(toHex(good3));
    await store.close();
  });

  it('repairs the tip against the stored tip hash, and a run of damaged blocks from the top down', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 6);
    const good = new Map<number, Uint8Array>();
    for (const h of [3, 4, 6]) good.set(h, await flip(kv, h));
    const s = source((h) => (good.has(h) ? [good.get(h)!] : []));
    store.repair = s.repair;
    expect((await store.committedBlock(6))!.block.header.height).toBe(6n);
    expect((await store.committedBlock(3))!.block.header.height).toBe(3n);
    // Block 3's expected hash needs block 4, itself damaged: repaired first.
    expect(s.asked).toEqual([6, 4, 3]);
    expect(s.repaired.map(([h]) => h)).toEqual([6, 4, 3]);
    await store.close();
  });

  it('keeps the error when no copy matches, and readers of one block share one fetch', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 5);
    await flip(kv, 2);
    const s = source(() => []);
    store.repair = {
      fetch: async function* (h) {
        s.asked.push(h);
        yield (await kv.get(`b/${'1'.padStart(16, '0')}`))!;
      },
      repaired: s.repair.repaired,
    };
    const reads = await Promise.allSettled([store.committedBlock(2), store.committedBlock(2), store.committedBlockBytes(2)]);
    for (const r of reads) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/stored block 2 is damaged: .*; none of the 1 copy peers sent hashes to [0-9a-f]{64}/);
    }
    expect(s.asked).toEqual([2]);
    expect(s.repaired).toEqual([]);
    await store.close();
  });

  it('a peer asking does not wait: the read fails at once and the repair finishes behind it', async () => {
    const kv = await level();
    const store = new ChainStore(kv);
    await fill(store, 4);
    const good = await flip(kv, 2);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const repaired: number[] = [];
    store.repair = {
      async *fetch() {
        await gate;
        yield good;
      },
      repaired: (h) => void repaired.push(h),
    };
    await expect(store.committedBlockBytes(2, false)).rejects.toThrow(StoreCorruptError);
    release();
    await expect.poll(() => repaired).toEqual([2]);
    store.repair = undefined;
    expect(toHex((await store.committedBlockBytes(2))!)).toBe(toHex(good));
    await store.close();
  });
});

// Joining by state sync against real libp2p peers in this process (loopback), serving a real chain:
// an honest peer, a peer whose block sync lies (a block that does not link to the trusted hash),
// and a peer that lists a snapshot its manifest is not (another height). And the refusals that name
// the problem: a trust hash no peer's block has, a trust height below every snapshot, above every tip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { blockHash, encodeCommittedBlock, TxKind, ZNC, type CommittedBlock } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain } from '../ledger/testing.ts';
import { createP2PNode, SnapshotClient, snapshotProtocol, type P2PNode, type SnapshotSource } from '../p2p/index.ts';
import { buildSnapshot, captureState, ChainStore, manifestHash, MemoryKvStore, type BuiltSnapshot } from '../store/index.ts';
import { nodeLogger } from './log.ts';
import { joinByStateSync, openJoinNetwork, StateSyncError, type JoinNetwork } from './stateSync.ts';

const NAMES = ['alice', 'bob', 'carol', 'dave'];
const S = 20;
const TIP = 30;
const t = testChain({ devAccounts: NAMES });
const records: CommittedBlock[] = [];
let snap: BuiltSnapshot;
const servers: P2PNode[] = [];
const log = nodeLogger('silent');

const source = (s: BuiltSnapshot, listedAt = s.manifest.height): SnapshotSource => ({
  list: () => [{ height: listedAt, hash: manifestHash(s.manifestBytes) }],
  manifest: (h) => (h === listedAt ? s.manifestBytes : undefined),
  chunk: async (h, i) => (h === listedAt ? s.chunks[i] : undefined),
});

const serve = (recs: CommittedBlock[]) => async (from: number, count: number) =>
  recs.filter((r) => Number(r.block.header.height) >= from && Number(r.block.header.height) < from + count).map((r) => encodeCommittedBlock(r));

beforeAll(async () => {
  for (let h = 1; h <= TIP; h++) {
    const exec = t.ledger.begin(t.ledger.time + 1000);
    for (const from of NAMES) {
      const to = NAMES[(NAMES.indexOf(from) + 1) % NAMES.length];
      expect(
        exec.tryApply(makeTx(t, from, TxKind.Transfer, { to: addressFromPublicKey(t.keys[to].publicKey), token: ZNC, amount: BigInt(h), memo: '' })),
      ).toBeNull();
    }
    records.push(commitExecuted(t, exec.finish()));
    if (h === S) snap = await buildSnapshot(captureState(t.ledger), { chunkBytes: 512 });
  }
  // Block 25 altered (its time): it no longer links to block 26, whatever else is right.
  const lying = records.map((r) =>
    Number(r.block.header.height) === 25 ? { ...r, block: { ...r.block, header: { ...r.block.header, time: r.block.header.time + 1n } } } : r,
  );
  const opts = [
    { serveBlocks: serve(records), protocols: [snapshotProtocol(source(snap))] },
    { serveBlocks: serve(lying), protocols: [snapshotProtocol(source(snap))] },
    // Lists its snapshot of 20 as one of 25 (newer than the honest one: tried first).
    { serveBlocks: serve(records), protocols: [snapshotProtocol(source(snap, 25))] },
  ];
  for (const o of opts) {
    const n = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], chainId: t.genesis.chainId, ...o });
    await n.start();
    servers.push(n);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** A joiner's network: a real p2p node dialing the servers; its peers in the order given (liars first). */
async function joinerNet(order: P2PNode[]): Promise<JoinNetwork & { p2p: P2PNode }> {
  const p2p = await createP2PNode({
    listen: '/ip4/127.0.0.1/tcp/0',
    bootstrap: order.flatMap((s) => s.addresses()),
    chainId: t.genesis.chainId,
    serveBlocks: async () => [],
  });
  await p2p.start();
  const deadline = Date.now() + 10_000;
  while (order.some((s) => !p2p.peers().some((p) => p.id === s.peerId && p.connected))) {
    if (Date.now() > deadline) throw new Error('joiner did not connect');
    await new Promise((r) => setTimeout(r, 20));
  }
  servers.push(p2p);
  return {
    p2p,
    peers: () => order.map((s) => s.peerId),
    fetchBlocks: (peer, from, count) => p2p.fetchBlocks(peer, from, count),
    penalize: (peer, reason) => p2p.penalize(peer, reason),
    snapshots: new SnapshotClient(p2p),
  };
}

const trustAt = (h: number) => ({ height: h, hash: blockHash(records[h - 1].block.header) });

describe('joining by state sync', () => {
  it('restores the snapshot linked to the trust point, executes only the blocks after it, and penalizes the liars', async () => {
    const [honest, blockLiar, manifestLiar] = servers;
    const net = await joinerNet([manifestLiar, blockLiar, honest]);
    const store = new ChainStore(new MemoryKvStore());
    const r = await joinByStateSync(store, t.genesis, trustAt(TIP), net, log);
    expect(r.snapshotHeight).toBe(S);
    expect(r.blocksExecuted).toBe(TIP - S);
    expect(new Set(r.penalized.map((p) => p.peer))).toEqual(new Set([manifestLiar.peerId, blockLiar.peerId]));
    expect(r.penalized.find((p) => p.peer === manifestLiar.peerId)?.reason).toMatch(/manifest is not for block 25/);
    expect(r.penalized.find((p) => p.peer === blockLiar.peerId)?.reason).toMatch(/does not link to the trusted block 30/);
    expect(net.p2p.peers().find((p) => p.id === blockLiar.peerId)!.score).toBeLessThan(0);
    const ledger = await store.loadLedger();
    expect(ledger.height).toBe(TIP);
    expect(ledger.stateRoots().map(toHex)).toEqual(t.ledger.stateRoots().map(toHex));
    expect(await store.base()).toBe(S);
    expect(await store.committedBlock(S - 1)).toBeUndefined();
    expect((await store.stateSyncInfo())?.blocksExecuted).toBe(TIP - S);
  });

  it('refuses by name a trust hash no peer has, a trust height below every snapshot or above every tip; writes nothing', async () => {
    const net = await joinerNet([servers[0]]);
    const store = new ChainStore(new MemoryKvStore());
    const wrong = { height: TIP, hash: new Uint8Array(32).fill(7) };
    await expect(joinByStateSync(store, t.genesis, wrong, net, log)).rejects.toThrow(
      new RegExp(`the trust hash ${toHex(wrong.hash)} matches no peer's block at height ${TIP}`),
    );
    await expect(joinByStateSync(store, t.genesis, trustAt(10), net, log)).rejects.toThrow(
      /no peer offers a snapshot at or below the trust height 10 \(offered: 20\)/,
    );
    await expect(joinByStateSync(store, t.genesis, { height: 40, hash: wrong.hash }, net, log)).rejects.toThrow(StateSyncError);
    await expect(joinByStateSync(store, t.genesis, { height: 40, hash: wrong.hash }, net, log)).rejects.toThrow(/no peer has block 40 yet/);
    expect(await store.genesis()).toBeUndefined();
  });

  it('given one bootstrap peer, finds the others by peer exchange, and fetches from all that offer the snapshot', async () => {
    // A small network of its own: b and c know a; the joiner knows only a.
    const opts = { serveBlocks: serve(records), protocols: [snapshotProtocol(source(snap))] };
    const a = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], chainId: t.genesis.chainId, ...opts });
    await a.start();
    servers.push(a);
    for (let i = 0; i < 2; i++) {
      const n = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: a.addresses(), chainId: t.genesis.chainId, ...opts });
      await n.start();
      servers.push(n);
    }
    const others = servers.slice(-2);
    const deadline = Date.now() + 10_000;
    while (others.some((n) => !a.peers().some((p) => p.id === n.peerId && p.connected)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines: string[] = [];
    const net = await openJoinNetwork({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: a.addresses(), chainId: t.genesis.chainId, log });
    try {
      expect(new Set(net.peers())).toEqual(new Set([a.peerId, ...others.map((n) => n.peerId)]));
      const store = new ChainStore(new MemoryKvStore());
      const logged = Object.assign(Object.create(log) as typeof log, { info: (_o: object, msg: string) => void lines.push(msg) });
      const r = await joinByStateSync(store, t.genesis, trustAt(TIP), net, logged);
      expect(r.snapshotHeight).toBe(S);
      expect(lines).toContain('state sync: 3 peer(s) hold the trusted block 30');
      expect(lines.find((l) => l.startsWith('state sync: fetching snapshot'))).toMatch(/from 3 peer\(s\)$/);
    } finally {
      await net.stop();
    }
  });
});

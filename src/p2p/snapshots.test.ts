// The snapshots protocol between real libp2p nodes on 127.0.0.1, and the request-response hook under it.
import { afterEach, describe, expect, it } from 'vitest';
import { createP2PNode, SnapshotClient, snapshotProtocol, SNAPSHOT_PROTOCOL } from './index.ts';
import type { P2PNode, P2POptions, RequestProtocol, SnapshotSource } from './index.ts';

const running: P2PNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
});

async function node(opts: Partial<P2POptions> = {}): Promise<P2PNode> {
  const n = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], chainId: 'zeus-test', serveBlocks: async () => [], ...opts });
  running.push(n);
  await n.start();
  return n;
}

async function pair(server: Partial<P2POptions>): Promise<{ a: P2PNode; b: P2PNode }> {
  const b = await node(server);
  const a = await node({ bootstrap: b.addresses() });
  const deadline = Date.now() + 10_000;
  while (!a.peers().some((p) => p.id === b.peerId && p.connected)) {
    if (Date.now() > deadline) throw new Error('no connection');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { a, b };
}

const manifest = new Uint8Array([9, 8, 7]);
const chunks = [new Uint8Array(1000).fill(1), new Uint8Array(10).fill(2)];
const source: SnapshotSource = {
  list: () => [{ height: 300, hash: new Uint8Array(32).fill(3) }],
  manifest: (h) => (h === 300 ? manifest : undefined),
  chunk: async (h, i) => (h === 300 ? chunks[i] : undefined),
};

describe('snapshots/1.0.0', () => {
  it('lists snapshots and serves manifests and chunks; says "none" for what it does not keep', async () => {
    const served: string[] = [];
    const { a, b } = await pair({ protocols: [snapshotProtocol(source, (kind) => served.push(kind))] });
    const c = new SnapshotClient(a);
    const bytes = (x: Uint8Array | undefined): number[] | undefined => x && Array.from(x);
    expect((await c.list(b.peerId)).map((o) => ({ height: o.height, hash: bytes(o.hash) }))).toEqual([
      { height: 300, hash: bytes(new Uint8Array(32).fill(3)) },
    ]);
    expect(bytes(await c.manifest(b.peerId, 300))).toEqual(bytes(manifest));
    expect(await c.manifest(b.peerId, 299)).toBeUndefined();
    expect(bytes(await c.chunk(b.peerId, 300, 0))).toEqual(bytes(chunks[0]));
    expect(bytes(await c.chunk(b.peerId, 300, 1))).toEqual(bytes(chunks[1]));
    expect(await c.chunk(b.peerId, 300, 2)).toBeUndefined();
    expect(served).toEqual(['list', 'manifest', 'chunk', 'chunk']);
  });

  it('refuses an answer over the cap and scores its sender down; a node without the protocol refuses the stream', async () => {
    const big: RequestProtocol = {
      name: SNAPSHOT_PROTOCOL,
      maxRequestBytes: 13,
      maxResponseBytes: 1 << 20,
      serve: async () => new Uint8Array(100_000).fill(0),
    };
    const { a, b } = await pair({ protocols: [big] });
    await expect(a.request(b.peerId, SNAPSHOT_PROTOCOL, new Uint8Array([1]), { maxResponseBytes: 1000 })).rejects.toThrow(/exceeds the cap/);
    expect(a.peers().find((p) => p.id === b.peerId)?.score).toBeLessThan(0);
    const { a: a2, b: b2 } = await pair({});
    await expect(new SnapshotClient(a2).list(b2.peerId)).rejects.toThrow();
  });
});

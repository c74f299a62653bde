// node bench/p2p.ts [--topology line|mesh] [--votes N] [--blocks N] [--block-bytes B] [--out FILE]
//
// Publish → delivery latency with 4 nodes on 127.0.0.1 connected in a line (0-1-2-3, so a message
// crosses up to 3 hops) or a full mesh (every node receives each message up to 3 times), for ZeusNet's p2p layer (direct-stream flooding, src/p2p) and, as the
// baseline measured in the same run, libp2p gossipsub over the same TCP + Noise + Yamux stack.
// Each message is published by a rotating node; latency is measured at each of the 3 others.
// Profiles: 'vote' (200 B, one every 2 ms), 'vote-burst' (200 B, 100 at once, as when a round's
// votes arrive together), 'block' (1 MiB, one every 50 ms).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import type { GossipSub } from '@libp2p/gossipsub';
import { createP2PNode } from '../src/p2p/index.ts';
import type { P2PNode } from '../src/p2p/index.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    votes: { type: 'string', default: '500' },
    blocks: { type: 'string', default: '20' },
    'block-bytes': { type: 'string', default: String(1024 * 1024) },
    topology: { type: 'string', default: 'line' },
    out: { type: 'string' },
  },
});
const N = 4;
const VOTES = Number(args.votes);
const BLOCKS = Number(args.blocks);
const BLOCK_BYTES = Number(args['block-bytes']);
const MESH = args.topology === 'mesh';
if (!MESH && args.topology !== 'line') throw new Error('--topology is line or mesh');
const OUT = args.out ?? `bench/results/p2p-${args.topology}.json`;
/** Connections each node has once the topology is up. */
const degree = (i: number): number => (MESH ? N - 1 : i === 0 || i === N - 1 ? 1 : 2);

interface Harness {
  name: string;
  publish(node: number, data: Uint8Array): Promise<void>;
  onDeliver(cb: (node: number, data: Uint8Array) => void): void;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function streamsHarness(): Promise<Harness> {
  const nodes: P2PNode[] = [];
  let deliver: (node: number, data: Uint8Array) => void = () => {};
  for (let i = 0; i < N; i++) {
    const n = await createP2PNode({
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: MESH ? nodes.map((n) => n.addresses()[0]) : i === 0 ? [] : [nodes[i - 1].addresses()[0]],
      chainId: 'bench',
      serveBlocks: async () => [],
    });
    n.subscribe('votes', (data) => {
      deliver(i, data);
      return 'accept';
    });
    await n.start();
    nodes.push(n);
  }
  const deadline = Date.now() + 10_000;
  while (!nodes.every((n, i) => n.peers().filter((p) => p.connected).length === degree(i))) {
    if (Date.now() > deadline) throw new Error('streams: nodes did not connect');
    await sleep(20);
  }
  await sleep(200); // let the gossip streams open
  return {
    name: 'direct-stream flood (src/p2p)',
    publish: (i, data) => nodes[i].publish('votes', data),
    onDeliver: (cb) => {
      deliver = cb;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

async function gossipsubHarness(tuned: boolean): Promise<Harness> {
  const nodes: Libp2p<{ pubsub: GossipSub }>[] = [];
  let deliver: (node: number, data: Uint8Array) => void = () => {};
  for (let i = 0; i < N; i++) {
    const n = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub(
          tuned
            ? {
                // Payloads carry their own signatures: skip gossipsub's, and use a content id.
                globalSignaturePolicy: 'StrictNoSign',
                msgIdFn: (m) => createHash('sha256').update(m.data).digest(),
                maxInboundDataLength: 8 * 1024 * 1024,
                heartbeatInterval: 200,
              }
            : { maxInboundDataLength: 8 * 1024 * 1024 },
        ),
      },
    });
    n.services.pubsub.subscribe('votes');
    const idx = i;
    n.services.pubsub.addEventListener('message', (e) => deliver(idx, e.detail.data));
    nodes.push(n);
  }
  for (let i = 1; i < N; i++) {
    for (let j = MESH ? 0 : i - 1; j < i; j++) await nodes[i].dial(nodes[j].getMultiaddrs()[0]);
  }
  const deadline = Date.now() + 10_000;
  while (!nodes.every((n, i) => n.services.pubsub.getSubscribers('votes').length === degree(i))) {
    if (Date.now() > deadline) throw new Error('gossipsub: subscriptions did not propagate');
    await sleep(20);
  }
  await sleep(1_500); // a heartbeat or more, so the mesh has formed
  return {
    name: tuned ? 'gossipsub (StrictNoSign, sha256 ids, 200 ms heartbeat)' : 'gossipsub (defaults)',
    publish: async (i, data) => {
      await nodes[i].services.pubsub.publish('votes', data);
    },
    onDeliver: (cb) => {
      deliver = cb;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

interface Result {
  harness: string;
  profile: string;
  messages: number;
  bytes: number;
  delivered: number;
  expected: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
}

async function run(h: Harness, profile: string, count: number, bytes: number, spacingMs: number, burst: number): Promise<Result> {
  const sentAt = new Map<number, number>();
  const lat: number[] = [];
  const expected = count * (N - 1);
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  h.onDeliver((_node, data) => {
    const id = new DataView(data.buffer, data.byteOffset).getUint32(0);
    const t = sentAt.get(id);
    if (t === undefined) return;
    lat.push(performance.now() - t);
    if (lat.length === expected) resolveAll();
  });
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(bytes);
    for (let k = 0; k < Math.min(bytes, 64); k++) b[k] = (Math.random() * 256) | 0;
    new DataView(b.buffer).setUint32(0, (Date.now() & 0xffff) * 65536 + i);
    payloads.push(b);
  }
  for (let i = 0; i < count; i += burst) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + burst); j++) {
      const id = new DataView(payloads[j].buffer).getUint32(0);
      sentAt.set(id, performance.now());
      batch.push(h.publish(j % N, payloads[j]));
    }
    await Promise.all(batch);
    if (spacingMs > 0) await sleep(spacingMs);
  }
  await Promise.race([all, sleep(15_000)]);
  lat.sort((a, b) => a - b);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    harness: h.name,
    profile,
    messages: count,
    bytes,
    delivered: lat.length,
    expected,
    p50ms: r2(percentile(lat, 50)),
    p99ms: r2(percentile(lat, 99)),
    maxms: r2(lat[lat.length - 1] ?? Number.NaN),
  };
}

const results: Result[] = [];
for (const make of [() => streamsHarness(), () => gossipsubHarness(false), () => gossipsubHarness(true)]) {
  const h = await make();
  await run(h, 'warmup', 50, 200, 1, 1);
  results.push(await run(h, 'vote', VOTES, 200, 2, 1));
  results.push(await run(h, 'vote-burst', VOTES, 200, 5, 100));
  results.push(await run(h, 'block', BLOCKS, BLOCK_BYTES, 50, 1));
  await h.stop();
}
for (const r of results) {
  console.log(
    `${r.harness.padEnd(58)} ${r.profile.padEnd(10)} ${String(r.bytes).padStart(8)} B  delivered ${r.delivered}/${r.expected}  p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  max ${r.maxms} ms`,
  );
}
writeFileSync(OUT, `${JSON.stringify({ machine: machine(), nodes: N, topology: args.topology, results }, null, 2)}\n`);
console.log(`wrote ${OUT}`);
process.exit(0);

// Real libp2p nodes (TCP + Noise + Yamux) on 127.0.0.1, several per test process.
import { afterEach, describe, expect, it } from 'vitest';
import { createP2PNode, generatePeerKey, MAX_SYNC_COUNT, peerIdFromKey } from './index.ts';
import type { P2PNode, P2POptions, Topic, Verdict } from './index.ts';
import { FrameDecoder, FrameTooLargeError, MalformedFrameError, encodeFrame } from './frames.ts';
import { BAN_THRESHOLD, RECOVERY_MS_PER_POINT, ScoreBook } from './scores.ts';
import { SeenCache } from './seen.ts';
import { decodePeerRecord, dialableAddrs, encodePeerRecord, learnedPeers, PEX_MAX_PEERS } from './peerExchange.ts';

const TOPICS: Topic[] = ['txs', 'proposals', 'votes'];
const running: P2PNode[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
});

async function node(opts: Partial<P2POptions> = {}, start = true): Promise<P2PNode> {
  const n = await createP2PNode({
    listen: '/ip4/127.0.0.1/tcp/0',
    bootstrap: [],
    chainId: 'zeus-test',
    serveBlocks: async () => [],
    ...opts,
  });
  running.push(n);
  if (start) await n.start();
  return n;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const connected = (a: P2PNode, b: P2PNode): boolean => a.peers().some((p) => p.id === b.peerId && p.connected);
/** Both ends have registered the connection (the dialer may see it before the listener does). */
const linked = (a: P2PNode, b: P2PNode): boolean => connected(a, b) && connected(b, a);
const peerInfo = (a: P2PNode, b: P2PNode) => a.peers().find((p) => p.id === b.peerId);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Received {
  topic: Topic;
  data: string;
  from: string;
}

function record(n: P2PNode, verdict: (topic: Topic, data: Uint8Array) => Verdict = () => 'accept'): Received[] {
  const got: Received[] = [];
  for (const topic of TOPICS) {
    n.subscribe(topic, (data, from) => {
      got.push({ topic, data: str(data), from });
      return verdict(topic, data);
    });
  }
  return got;
}

describe('peer exchange records', () => {
  const id = '12D3KooWLPRD2tpTw291Zv3eC8Cj3jNa38sR2ckqKoLp1MaSaoox';
  const other = '12D3KooWMW5aANSkpkQ4TCSHKfZEnmBNmYqPVkwhNDauzjj9VVC7';
  it('keeps dialable TCP addresses of the named peer only, and loopback ones only when asked', () => {
    const addrs = [
      '/ip4/10.0.0.1/tcp/1',
      `/ip4/10.0.0.2/tcp/2/p2p/${id}`,
      `/ip4/10.0.0.3/tcp/3/p2p/${other}`,
      '/ip4/0.0.0.0/tcp/4',
      '/ip4/127.0.0.1/tcp/5',
      '/ip4/10.0.0.6/udp/6',
      'garbage',
      '/dns4/n.example.org/tcp/7',
    ];
    expect(dialableAddrs(id, addrs, false)).toEqual([`/ip4/10.0.0.1/tcp/1/p2p/${id}`, `/ip4/10.0.0.2/tcp/2/p2p/${id}`, `/dns4/n.example.org/tcp/7/p2p/${id}`]);
    expect(dialableAddrs(id, addrs, true)).toContain(`/ip4/127.0.0.1/tcp/5/p2p/${id}`);
  });
  it('decodes what it encodes, and refuses malformed or oversized records', () => {
    const r = { v: 1 as const, api: 'http://10.0.0.1:26657', peers: [{ id, addrs: ['/ip4/10.0.0.1/tcp/1'], api: 'https://n.example.org' }] };
    expect(decodePeerRecord(encodePeerRecord(r))).toEqual(r);
    expect(learnedPeers(r, 'me', () => true)).toEqual([{ id, addrs: [`/ip4/10.0.0.1/tcp/1/p2p/${id}`], api: 'https://n.example.org' }]);
    expect(learnedPeers(r, id, () => true)).toEqual([]); // ourselves
    expect(() => decodePeerRecord(text('{"v":2,"peers":[]}'))).toThrow(/malformed peer record/);
    expect(() => decodePeerRecord(encodePeerRecord({ ...r, api: 'javascript:alert(1)' }))).toThrow(/malformed/);
    const many = Array.from({ length: PEX_MAX_PEERS + 1 }, () => r.peers[0]);
    expect(() => decodePeerRecord(encodePeerRecord({ v: 1, peers: many }))).toThrow(/malformed/);
    expect(() => decodePeerRecord(text('not json'))).toThrow();
  });
});

describe('frames, scores and the seen-cache', () => {
  it('decodes frames split across chunks and refuses an oversized length from its header alone', () => {
    const d = new FrameDecoder(10);
    const wire = encodeFrame(text('hello'), text('!')).subarray();
    expect(d.push(wire.subarray(0, 3))).toEqual([]);
    const frames = d.push(wire.subarray(3));
    expect(frames.map(str)).toEqual(['hello!']);
    // Only the 4-byte header of a 1 GiB frame has arrived: refused before any body is buffered.
    const big = new Uint8Array(4);
    new DataView(big.buffer).setUint32(0, 1 << 30);
    expect(() => new FrameDecoder(4 * 1024 * 1024).push(big)).toThrow(FrameTooLargeError);
    expect(() => new FrameDecoder(10).push(new Uint8Array(4))).toThrow(MalformedFrameError);
    const two = new FrameDecoder(10);
    const both = new Uint8Array([...encodeFrame(text('a')).subarray(), ...encodeFrame(text('bc')).subarray()]);
    expect(two.push(both).map(str)).toEqual(['a', 'bc']);
    expect(two.pending).toBe(0);
  });

  it('bans at the threshold, recovers slowly, and forgets peers once recovered', () => {
    let now = 1_000_000;
    const banned: string[] = [];
    const book = new ScoreBook({ banMs: 60_000, now: () => now, onBan: (p) => banned.push(p) });
    expect(book.penalize('p', 'reject', 'bad tx')).toBe(false);
    expect(book.penalize('p', 'reject', 'bad tx')).toBe(false);
    expect(book.score('p')).toBe(-20);
    expect(book.penalize('p', 'reject', 'bad tx')).toBe(true);
    expect(book.score('p')).toBe(BAN_THRESHOLD);
    expect(book.isBanned('p')).toBe(true);
    expect(banned).toEqual(['p']);
    now += 60_001;
    expect(book.isBanned('p')).toBe(false);
    expect(book.score('p')).toBeCloseTo(BAN_THRESHOLD + 60_001 / RECOVERY_MS_PER_POINT, 1);
    now += 30 * RECOVERY_MS_PER_POINT;
    expect(book.score('p')).toBe(0);
    expect(book.known()).toEqual([]);
    expect(book.penalize('q', 'oversized', 'too big')).toBe(true);
    expect(book.score('q')).toBe(-100);
  });

  it('remembers message ids for a while and within a bound', () => {
    let now = 0;
    const seen = new SeenCache(1_000, 3, () => now);
    expect(seen.add('a')).toBe(true);
    expect(seen.add('a')).toBe(false);
    now = 1_001;
    expect(seen.add('a')).toBe(true);
    seen.add('b');
    seen.add('c');
    seen.add('d');
    expect(seen.size).toBe(3);
    expect(seen.has('a')).toBe(false);
    expect(seen.has('d')).toBe(true);
  });
});

describe('p2p network on loopback', () => {
  it('4 nodes in a line via bootstrap get every message on every topic, once, and not their own', async () => {
    const n0 = await node();
    const n1 = await node({ bootstrap: [n0.addresses()[0]] });
    const n2 = await node({ bootstrap: n1.addresses() });
    const n3 = await node({ bootstrap: n2.addresses() });
    const nodes = [n0, n1, n2, n3];
    const got = nodes.map((n) => record(n));
    await waitFor('the line to connect', () => linked(n1, n0) && linked(n2, n1) && linked(n3, n2));
    expect(connected(n0, n3)).toBe(false); // a message from n0 to n3 must be relayed twice

    for (const [i, n] of nodes.entries()) {
      for (const topic of TOPICS) await n.publish(topic, text(`${topic} from n${i}`));
    }
    // The same bytes published by both ends: every node delivers them at most once.
    await n0.publish('votes', text('same vote'));
    await n3.publish('votes', text('same vote'));
    await waitFor('every message everywhere', () =>
      got.every(
        (g, i) => g.filter((r) => r.data !== 'same vote').length === 3 * (nodes.length - 1) && (i === 0 || i === 3 || g.some((r) => r.data === 'same vote')),
      ),
    );
    await sleep(300); // give duplicates time to show up
    for (const [i, g] of got.entries()) {
      const expected = nodes.flatMap((_, j) => (j === i ? [] : TOPICS.map((t) => `${t}/${t} from n${j}`)));
      const seen = g.filter((r) => r.data !== 'same vote').map((r) => `${r.topic}/${r.data}`);
      expect(seen.sort()).toEqual(expected.sort());
      expect(g.filter((r) => r.data === 'same vote').length).toBe(i === 0 || i === 3 ? 0 : 1);
    }
    // `from` is the neighbour that handed the message over.
    expect(new Set(got[3].map((r) => r.from))).toEqual(new Set([n2.peerId]));
    expect(new Set(got[0].map((r) => r.from))).toEqual(new Set([n1.peerId]));
    expect(n1.peers().every((p) => p.score === 0 && !p.banned)).toBe(true);
  });

  it("delivers but does not relay a message its handler keeps ('keep')", async () => {
    const n0 = await node();
    const n1 = await node({ bootstrap: [n0.addresses()[0]] });
    const n2 = await node({ bootstrap: n1.addresses() });
    const got1 = record(n1, (_t, data) => (str(data).startsWith('keep') ? 'keep' : 'accept'));
    const got2 = record(n2);
    await waitFor('the line to connect', () => linked(n1, n0) && linked(n2, n1));
    await n0.publish('txs', text('keep me here'));
    await n0.publish('txs', text('pass me on'));
    await waitFor('the relayed one at n2', () => got2.length === 1);
    await sleep(300);
    expect(got1.map((r) => r.data).sort()).toEqual(['keep me here', 'pass me on']);
    expect(got2.map((r) => r.data)).toEqual(['pass me on']);
    expect(n1.peers().every((p) => p.score === 0)).toBe(true);
  });

  it("hands a message it could not use yet ('later') over again when it comes again, but not one it ignored", async () => {
    const n0 = await node();
    const n1 = await node({ bootstrap: [n0.addresses()[0]] });
    const n2 = await node({ bootstrap: n1.addresses() });
    const got1 = record(n1, (_t, data) => (str(data).startsWith('later') ? 'later' : 'ignore'));
    const got2 = record(n2);
    await waitFor('the line to connect', () => linked(n1, n0) && linked(n2, n1));
    // A stuck peer re-sends the same bytes (as a bookkeeper re-gossips its votes each tick).
    for (let i = 0; i < 3; i++) {
      await n0.publish('votes', text('later: a vote of the next height'));
      await n0.publish('votes', text('ignored: a vote of a past height'));
      await sleep(150);
    }
    await waitFor('the three copies at n1', () => got1.filter((r) => r.data.startsWith('later')).length === 3);
    await sleep(200);
    expect(got1.filter((r) => r.data.startsWith('ignored'))).toHaveLength(1);
    // Neither is relayed, and neither costs n0 any score.
    expect(got2).toEqual([]);
    expect(n1.peers().every((p) => p.score === 0)).toBe(true);
  });

  it('a node that joins late catches up by fetching committed blocks from a peer', async () => {
    const chain = Array.from({ length: 50 }, (_, h) => text(`block ${h} + certificate`));
    const calls: [number, number][] = [];
    const veteran = await node({
      serveBlocks: async (from, count) => {
        calls.push([from, count]);
        return chain.slice(from, from + count);
      },
    });
    const votes = record(veteran);
    const late = await node({ bootstrap: veteran.addresses() });
    await waitFor('the late node to connect', () => linked(late, veteran));

    // The sync loop a node runs: fetch, verify, advance; a failed verification penalizes.
    const synced: string[] = [];
    for (let h = 0; ; ) {
      const recs = await late.fetchBlocks(veteran.peerId, h, 16);
      if (recs.length === 0) break;
      for (const r of recs) {
        expect(str(r)).toBe(`block ${h} + certificate`);
        synced.push(str(r));
        h += 1;
      }
    }
    expect(synced).toEqual(chain.map(str));
    expect(calls.slice(0, 4)).toEqual([
      [0, 16],
      [16, 16],
      [32, 16],
      [48, 16],
    ]);
    // By multiaddr too; a count over the cap is clamped; past the tip there is nothing.
    expect((await late.fetchBlocks(veteran.addresses()[0], 45, 10)).map(str)).toEqual(chain.slice(45).map(str));
    await late.fetchBlocks(veteran.peerId, 0, 100_000);
    expect(calls.at(-1)).toEqual([0, MAX_SYNC_COUNT]);
    expect(await late.fetchBlocks(veteran.peerId, 1000, 5)).toEqual([]);
    // Having caught up it takes part in gossip.
    await late.publish('votes', text('vote from the late node'));
    await waitFor('the late vote', () => votes.some((r) => r.data === 'vote from the late node'));

    late.penalize(veteran.peerId, 'block 7 failed certificate verification');
    expect(peerInfo(late, veteran)?.score).toBe(-20);
    expect(peerInfo(late, veteran)?.connected).toBe(true);
  });

  it('refuses a sync record over its size cap and bans the peer that sent it', async () => {
    const server = await node({ serveBlocks: async () => [new Uint8Array(4096)] });
    const client = await node({ bootstrap: server.addresses(), maxMessageBytes: 1024 });
    await waitFor('connection', () => connected(client, server));
    await expect(client.fetchBlocks(server.peerId, 0, 1)).rejects.toThrow(/exceeds the cap/);
    expect(peerInfo(client, server)?.banned).toBe(true);
    expect(peerInfo(client, server)!.score).toBeLessThan(0);
    await waitFor('the hang-up', () => !connected(client, server) && !connected(server, client));
    await expect(client.fetchBlocks(server.peerId, 0, 1)).rejects.toThrow(/banned/);
  });

  it('disconnects and refuses a peer whose messages are rejected, while the others keep working', async () => {
    const hub = await node();
    const hubGot = record(hub, (_t, data) => (data[0] === 0xff ? 'reject' : 'accept'));
    // A star: with no room for learned peers, bad and good do not meet by peer exchange (through
    // good, bad's messages would reach the hub first from good, which would take the blame).
    const bad = await node({ bootstrap: hub.addresses(), targetPeers: 0 });
    const good = await node({ bootstrap: hub.addresses(), targetPeers: 0 });
    const goodGot = record(good);
    await waitFor('both connected', () => linked(hub, bad) && linked(hub, good));

    await bad.publish('txs', new Uint8Array([0xff, 1]));
    await waitFor('the first reject', () => peerInfo(hub, bad)?.score === -10);
    expect(peerInfo(hub, bad)?.connected).toBe(true); // one invalid message is not yet a ban
    await bad.publish('txs', new Uint8Array([0xff, 2]));
    await bad.publish('votes', new Uint8Array([0xff, 3]));
    await waitFor('the ban', () => peerInfo(hub, bad)?.banned === true);
    await waitFor('the hang-up', () => !connected(hub, bad) && !connected(bad, hub));
    expect(peerInfo(hub, bad)!.score).toBeLessThanOrEqual(-30);
    expect(hubGot.filter((r) => r.from === bad.peerId)).toHaveLength(3);
    expect(peerInfo(hub, good)?.score).toBe(0);

    // The good peer keeps working both ways, and never saw the invalid messages (not relayed).
    await good.publish('proposals', text('good proposal'));
    await hub.publish('votes', text('hub vote'));
    await waitFor('good traffic', () => hubGot.some((r) => r.data === 'good proposal') && goodGot.some((r) => r.data === 'hub vote'));
    expect(goodGot.some((r) => r.data.charCodeAt(0) === 0xff)).toBe(false);

    // The banned peer keeps redialing its bootstrap peer and is refused.
    await sleep(1_500);
    expect(connected(hub, bad)).toBe(false);
    expect(connected(bad, hub)).toBe(false);
  });

  it('bans a peer for one oversized message, while the others keep working', async () => {
    const hub = await node({ maxMessageBytes: 1024 });
    const hubGot = record(hub);
    const big = await node({ bootstrap: hub.addresses() }); // default cap 4 MiB: it will publish 2 KiB
    const good = await node({ bootstrap: hub.addresses() });
    await waitFor('both connected', () => linked(hub, big) && linked(hub, good));

    await expect(hub.publish('txs', new Uint8Array(1025))).rejects.toThrow(RangeError);
    await big.publish('proposals', new Uint8Array(2048).fill(7));
    await waitFor('the ban', () => peerInfo(hub, big)?.banned === true);
    await waitFor('the hang-up', () => !connected(hub, big));
    // The score climbs back with time (RECOVERY_MS_PER_POINT) from the moment of the ban.
    expect(peerInfo(hub, big)?.score).toBeCloseTo(-100, 0);
    expect(hubGot).toHaveLength(0);

    await good.publish('txs', new Uint8Array(1024).fill(1)); // exactly at the cap is fine
    await waitFor('the good tx', () => hubGot.length === 1);
    expect(hubGot[0].from).toBe(good.peerId);
  });

  it('a restarted node keeps its peer id and reconnects to its bootstrap peers (and they to it)', async () => {
    const keyA = generatePeerKey();
    const keyB = generatePeerKey();
    const a = await node({ privateKey: keyA });
    expect(a.peerId).toBe(await peerIdFromKey(keyA));
    const port = /\/tcp\/(\d+)\//.exec(a.addresses()[0])![1];
    const aAddr = a.addresses()[0];
    const b = await node({ privateKey: keyB, bootstrap: [aAddr] });
    await waitFor('b to connect', () => connected(a, b));

    // b restarts: same id, dials a again.
    await b.stop();
    await waitFor('a to notice', () => !connected(a, b));
    const b2 = await node({ privateKey: keyB, bootstrap: [aAddr] });
    expect(b2.peerId).toBe(b.peerId);
    await waitFor('b to reconnect', () => connected(a, b2));

    // a (the bootstrap peer) restarts on its port: b redials it.
    await a.stop();
    await waitFor('b to notice', () => !connected(b2, a));
    await sleep(600);
    const a2 = await node({ privateKey: keyA, listen: `/ip4/127.0.0.1/tcp/${port}` });
    expect(a2.peerId).toBe(a.peerId);
    const got = record(b2);
    await waitFor('b to redial a', () => connected(b2, a2), 15_000);
    await waitFor('gossip after the restart', () => {
      void a2.publish('votes', text('after restart'));
      return got.some((r) => r.data === 'after restart');
    });
  });

  it('pauses reading while a slow handler has a backlog, and then delivers everything in order', async () => {
    const slow = await node();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const got: number[] = [];
    slow.subscribe('proposals', async (data): Promise<Verdict> => {
      await gate;
      got.push(data[0]);
      return 'accept';
    });
    const fast = await node({ bootstrap: slow.addresses() });
    await waitFor('connection', () => linked(slow, fast));
    for (let i = 0; i < 30; i++) await fast.publish('proposals', new Uint8Array(1024 * 1024).fill(i));
    await sleep(500); // 30 MiB sent, over the 16 MiB backlog cap: the stream is paused, not dropped
    release();
    await waitFor('all 30 blocks', () => got.length === 30);
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(peerInfo(slow, fast)).toMatchObject({ score: 0, connected: true });
  });

  it('keeps two networks apart: a peer of another chain is named in a warning and hung up on, and the node keeps dialing', async () => {
    const x = await node({ chainId: 'net-a' });
    const xGot = record(x);
    const warnings: string[] = [];
    const y = await node({ chainId: 'net-b', bootstrap: x.addresses(), warn: (m) => warnings.push(m) });
    await waitFor('the warning', () => warnings.some((w) => w.includes('chain "net-a", not "net-b"') && w.includes(x.peerId)));
    await waitFor('the hang-up', () => !connected(y, x) && !connected(x, y));
    await y.publish('txs', text('wrong network'));
    await sleep(300);
    expect(xGot).toHaveLength(0);
    await expect(y.fetchBlocks(x.peerId, 0, 1)).rejects.toThrow();
    // A bootstrap address where nothing speaks libp2p: a warning naming it, and y keeps running.
    const dead = await node({ chainId: 'net-b' });
    const deadAddr = dead.addresses()[0];
    await dead.stop();
    const z = await node({ chainId: 'net-b', bootstrap: [deadAddr, y.addresses()[0]], warn: (m) => warnings.push(m) });
    await waitFor('the unreachable warning', () => warnings.some((w) => w.includes(deadAddr) && w.includes('unreachable')));
    await waitFor('z connected to its other bootstrap peer', () => linked(z, y));
  });

  it('learns peers beyond its bootstrap list by peer exchange, with their API URLs, and keeps named peers connected', async () => {
    // A line a - b - c - d by bootstrap lists: every node should find every other.
    const a = await node({ apiUrl: 'http://127.0.0.1:1', peerExchangeMs: 300 });
    const b = await node({ bootstrap: a.addresses(), apiUrl: 'http://127.0.0.1:2', peerExchangeMs: 300 });
    const c = await node({ bootstrap: b.addresses(), apiUrl: 'http://127.0.0.1:3', peerExchangeMs: 300 });
    // d claims an API somewhere else than where it is reached: a node must not fetch from it.
    const d = await node({ bootstrap: c.addresses(), apiUrl: 'http://10.0.0.4:4', peerExchangeMs: 300 });
    const all = [a, b, c, d];
    await waitFor('a full mesh', () => all.every((x) => all.every((y) => x === y || linked(x, y))), 15_000);
    await waitFor('the API URLs', () => a.apiUrls().length >= 2);
    expect(a.apiUrls().sort()).toEqual(['http://127.0.0.1:2', 'http://127.0.0.1:3']);
    expect(peerInfo(a, d)?.api).toBe('http://10.0.0.4:4');
    expect(peerInfo(d, a)?.api).toBe('http://127.0.0.1:1');
    // With no room for learned peers, only bootstrap and kept peers are dialed: p - q - r by
    // bootstrap, p keeps r (as a bookkeeper keeps the set) and so meets it; q - s never.
    const few = { targetPeers: 0, peerExchangeMs: 300 };
    const q = await node(few);
    const r = await node({ ...few, bootstrap: q.addresses() });
    const kept = new Set([r.peerId]);
    const p = await node({ ...few, bootstrap: q.addresses(), keepConnected: () => kept });
    const t = await node({ ...few, bootstrap: q.addresses() });
    await waitFor('p connected to q and to the kept r', () => linked(p, q) && linked(p, r), 15_000);
    await sleep(1_500);
    expect(connected(p, t) || connected(t, p) || connected(r, t) || connected(t, r)).toBe(false);
  });
});

describe('node keys', () => {
  it('a 32-byte seed is the Ed25519 key libp2p derives from it (same peer id), with the public key from node:crypto', async () => {
    const { generateKeyPairFromSeed } = await import('@libp2p/crypto/keys');
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
    for (let i = 0; i < 20; i++) {
      const seed = generatePeerKey();
      expect(seed.length).toBe(32);
      expect(await peerIdFromKey(seed)).toBe(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString());
    }
  });
});

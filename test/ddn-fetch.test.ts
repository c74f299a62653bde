import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../src/ddn/contracts.ts';
import { DdnNodeClient } from '../src/ddn/client.ts';
import type { FetchJob, FetchRequest } from '../src/ddn/fetches.ts';
import { fileDigest, pieceRange, computePieceMap } from '../src/ddn/pieces.ts';
import { homeBlobStore, seedBlob, writeRandomBlob } from './helpers/ddn.ts';
import { api, cleanup, initDevHome, sleep, startNode, waitFor, type DevHome, type ZeusProcess } from './helpers/processes.ts';
import { Throttle } from './helpers/throttle.ts';

// Peer-to-peer delivery between real node processes on loopback: five `zeus node start` solo
// nodes, each serving /ddn and running fetches its local caller asks for (POST /ddn/fetches,
// what the worker agent will do). Each node is reached through a proxy that caps its upload
// rate, so transfers last long enough to kill nodes in the middle of them, and so that sharing
// between peers shows in the origin's byte count.
//
// The node's blob store is built on another branch: these processes get the stand-in store of
// test/helpers/blobStore.ts by a preload (src/ddn/nodeDdn.ts says how), and the origin's blobs are
// put in its home's store directory before it starts.
//
// The tests run in order, each from where the one before left the nodes (who holds what).

const MiB = 1024 * 1024;
const BIG = 48 * MiB; // 12 pieces
const SMALL = 32 * MiB + 1234; // 9 pieces, the last one short

interface Node {
  name: string;
  home: DevHome;
  proc: ZeusProcess;
  /** Its API, direct (for the test's own requests). */
  url: string;
  /** Its API behind its upload-rate cap (what other nodes are told). */
  throttle: Throttle;
}

const nodes: Record<string, Node> = {};
let big: Digest;
let small: Digest;
let bigFile: string;

async function start(home: DevHome, args: string[] = []): Promise<ZeusProcess> {
  const { node, url } = await startNode(home.home, { args });
  expect(url).toBe(home.url);
  return node;
}

const client = (at: Node): DdnNodeClient => new DdnNodeClient(at.url);

/** What a local caller asks its node: fetch `digest` from these peers, the origin as fallback. */
const request = (digest: Digest, peers: Node[], origin: Node): FetchRequest => ({
  digest,
  peers: peers.map((p) => p.throttle.url),
  origin: origin.throttle.url,
});

async function startFetch(at: Node, req: FetchRequest): Promise<void> {
  expect((await client(at).startFetch(req)).state).toBe('running');
}

/** Waits for the node's fetch (asking again joins the running one) and checks it succeeded. */
async function done(at: Node, req: FetchRequest): Promise<FetchJob> {
  const [job] = await client(at).fetchAll([req], { intervalMs: 100 });
  expect(job.state).toBe('done');
  return job;
}

async function piecesHeld(at: Node, digest: Digest): Promise<number> {
  const r = await api<{ count: number }>(at.url, 'GET', `/ddn/blobs/${digest}/have`);
  return r.status === 200 ? r.json.count : 0;
}

interface Stats {
  piecesServed: number;
  bytesServed: number;
  piecesServedFromPartial: number;
  piecesCorrupted: number;
}
const stats = async (at: Node): Promise<Stats> => (await api(at.url, 'GET', '/ddn/stats')).json as Stats;

/** The blob as the node's store holds it, hashed again here. */
async function expectHeld(at: Node, digest: Digest): Promise<void> {
  const path = await (await homeBlobStore(at.home.home)).path(digest);
  expect(path, `${at.name} holds ${digest}`).toBeDefined();
  expect(await fileDigest(path!)).toBe(digest);
}

beforeAll(async () => {
  const homes = await Promise.all(['origin', 'liar', 'a', 'b', 'c'].map((n) => initDevHome({ prefix: `zeus-ddn-${n}-` })));
  bigFile = join(homes[0].dir, 'big');
  big = await writeRandomBlob(bigFile, BIG);
  small = await writeRandomBlob(join(homes[0].dir, 'small'), SMALL);
  // The origin publishes both blobs; the liar holds the big one too, and corrupts the first piece it serves.
  await seedBlob(homes[0].home, bigFile, big);
  await seedBlob(homes[0].home, join(homes[0].dir, 'small'), small);
  await seedBlob(homes[1].home, bigFile, big);
  const args: Record<string, string[]> = { liar: ['--test-corrupt-pieces', '1'] };
  await Promise.all(
    ['origin', 'liar', 'a', 'b', 'c'].map(async (name, i) => {
      const proc = await start(homes[i], args[name]);
      nodes[name] = { name, home: homes[i], proc, url: homes[i].url, throttle: await Throttle.start(homes[i].port, 16 * MiB) };
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(nodes).map((n) => n.throttle.close()));
  await cleanup();
});

describe('delivery between node processes', () => {
  it('serves /ddn next to the rest of the API, documented in its OpenAPI document', async () => {
    const doc = (await api(nodes.origin.url, 'GET', '/openapi.json')).json as { paths: Record<string, unknown> };
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/ddn/'))
        .sort(),
    ).toEqual([
      '/ddn/blobs/{digest}/have',
      '/ddn/blobs/{digest}/pieces',
      '/ddn/blobs/{digest}/pieces/{index}',
      '/ddn/fetches',
      '/ddn/fetches/{digest}',
      '/ddn/images',
      '/ddn/images/{digest}',
      '/ddn/peers',
      '/ddn/stats',
    ]);
    expect((await api(nodes.origin.url, 'GET', '/status')).status).toBe(200);
  });

  it('passes pieces on from a fetcher that does not have the whole blob yet, and takes from the origin what no peer has', async () => {
    const { origin, a, b } = nodes;
    origin.throttle.bytesPerSecond = 12 * MiB; // the whole blob from the origin alone: 4 s
    const forA = request(big, [], origin);
    await startFetch(a, forA);
    await waitFor(async () => (await piecesHeld(a, big)) >= 3, 20_000, 'a to hold 3 pieces');
    expect(await piecesHeld(a, big)).toBeLessThan(12);
    const [ja, jb] = await Promise.all([done(a, forA), done(b, request(big, [a], origin))]);
    await expectHeld(a, big);
    await expectHeld(b, big);

    // b had pieces from a while a's own download was incomplete ...
    const fromA = jb.progress!.sources.find((s) => s.url === a.throttle.url)!;
    expect(fromA.pieces).toBeGreaterThanOrEqual(3);
    const servedByA = await stats(a);
    expect(servedByA.piecesServedFromPartial).toBeGreaterThanOrEqual(3);
    expect(servedByA.piecesServed).toBe(fromA.pieces);
    // ... and the rest from the origin, which no peer had when b asked.
    expect(jb.progress!.bytesFromOrigin).toBeGreaterThan(0);
    expect(fromA.bytes + jb.progress!.bytesFromOrigin).toBe(BIG);
    expect(ja.progress!.bytesFromOrigin).toBe(BIG);
    // Two fetchers, less than two blobs out of the origin.
    expect((await stats(origin)).bytesServed).toBe(BIG + jb.progress!.bytesFromOrigin);
  }, 40_000);

  it('drops a peer that serves a tampered piece, and survives a serving peer killed mid-transfer', async () => {
    const { origin, liar, a, b, c } = nodes;
    for (const n of [liar, a, b]) n.throttle.bytesPerSecond = 16 * MiB;
    const forC = request(big, [liar, a, b], origin);
    await startFetch(c, forC);
    const piecesDone = async (): Promise<number> => (await client(c).fetchJob(big)).progress?.piecesDone ?? 0;
    await waitFor(async () => (await piecesDone()) >= 2, 20_000, 'c to hold 2 pieces', 20);
    const killedAt = await piecesDone();
    await b.proc.kill(); // SIGKILL while it serves c
    const job = await done(c, forC);
    await expectHeld(c, big);
    expect(killedAt).toBeLessThan(12);

    const src = (n: Node) => job.progress!.sources.find((s) => s.url === n.throttle.url)!;
    expect(src(liar).state).toBe('dropped');
    expect(src(liar).reason).toMatch(/^BAD_PIECE/);
    const l = await stats(liar);
    expect(l.piecesCorrupted).toBe(1);
    // Good pieces it sent before the bad one arrived were verified and kept. After the bad one
    // it was asked nothing: what it served is those, plus at most its two requests in flight.
    expect(l.piecesServed).toBeLessThanOrEqual(src(liar).pieces + 2);
    // The killed peer failed under c (connection cut, then refused) and a served the rest.
    expect(src(b).reason).toBeDefined();
    expect(src(liar).pieces + src(a).pieces + src(b).pieces).toBe(12);
    expect(job.progress!.bytesFromOrigin).toBe(0);
  }, 40_000);

  it('resumes after the fetching node is killed, without fetching verified pieces again', async () => {
    const { origin, a } = nodes;
    origin.throttle.bytesPerSecond = 8 * MiB; // 4 s for the whole blob
    await startFetch(a, request(small, [], origin));
    await waitFor(async () => (await piecesHeld(a, small)) >= 3, 20_000, 'a to hold 3 pieces of the small blob', 20);
    await a.proc.kill();
    // A request a sent just before it died may still be crossing the proxy: let it land first.
    await sleep(300);
    const servedBefore = (await stats(origin)).bytesServed;

    a.proc = await start(a.home);
    const held = (await api(a.url, 'GET', `/ddn/blobs/${small}/have`)).json as { count: number; complete: boolean; have: string };
    expect(held.complete).toBe(false);
    expect(held.count).toBeGreaterThanOrEqual(3);
    expect(held.count).toBeLessThan(9);
    origin.throttle.bytesPerSecond = 64 * MiB;
    const job = await done(a, request(small, [], origin));
    await expectHeld(a, small);

    // Exactly the missing pieces crossed the network the second time.
    const map = await computePieceMap((await (await homeBlobStore(origin.home.home)).path(small))!);
    const bits = Buffer.from(held.have, 'base64');
    const missing = map.pieces.map((_, i) => ((bits[i >> 3] & (0x80 >> (i & 7))) === 0 ? pieceRange(map, i).length : 0)).reduce((x, y) => x + y, 0);
    expect(job.progress!.piecesReused).toBe(held.count);
    expect(job.progress!.bytesFetched).toBe(missing);
    expect((await stats(origin)).bytesServed - servedBefore).toBe(missing);
  }, 40_000);
});

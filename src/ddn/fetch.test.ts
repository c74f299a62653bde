import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBlob, startDdnServer, writeRandomBlob, type DdnServer } from '../../test/helpers/ddn.ts';
import { DiskBlobStore } from './store.ts';
import { freePort, waitFor } from '../../test/helpers/processes.ts';
import type { Digest, PieceMap } from './contracts.ts';
import { fetchBlob, fetchBlobs, type FetchLimits, type FetchStatus } from './fetch.ts';
import { PieceStore } from './partial.ts';
import { computePieceMap, fileDigest, pieceMapDigest, pieceRange } from './pieces.ts';

// The fetcher against /ddn servers in this process (the plugin a node registers): several peers
// at once within bounds, bad pieces, dead and stalled peers, the origin (a node or a real OCI
// registry by Range), resume, and pieces passed on from a download still in progress.

const dir = mkdtempSync(join(tmpdir(), 'ddn-fetch-'));
const SIZE = 24 * 1024 * 1024 + 12345; // 7 pieces, the last one short
let blobFile: string;
let digest: Digest;
let map: PieceMap;
const servers: DdnServer[] = [];
let n = 0;

const home = (): string => {
  const h = join(dir, `home${n++}`);
  mkdirSync(h, { recursive: true });
  return h;
};

/** A /ddn server that holds the blob whole (or holds nothing), counting requests in flight. */
async function server(o: { whole?: boolean; corrupt?: number } = {}): Promise<DdnServer & { maxInFlight: () => number }> {
  const h = home();
  if (o.whole !== false) await seedBlob(h, blobFile, digest);
  let now = 0;
  let max = 0;
  const s = await startDdnServer(h, { testCorruptPieces: o.corrupt }, (app) => {
    app.addHook('onRequest', async (req) => {
      if (req.url.includes('/pieces/')) max = Math.max(max, ++now);
    });
    app.addHook('onResponse', async (req) => {
      if (req.url.includes('/pieces/')) now--;
    });
  });
  servers.push(s);
  return Object.assign(s, { maxInFlight: () => max });
}

/** A fetching side: its own store and partial directory. */
async function fetcher() {
  const h = home();
  return { store: await DiskBlobStore.open(join(h, 'store')), partialDir: join(h, 'partial') };
}

const fast: Partial<FetchLimits> = { haveRefreshMs: 100, backoffMs: 50, pieceTimeoutMs: 5_000 };

beforeAll(async () => {
  blobFile = join(dir, 'blob');
  digest = await writeRandomBlob(blobFile, SIZE);
  map = await computePieceMap(blobFile);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function expectStored(store: DiskBlobStore): Promise<void> {
  expect(await fileDigest((await store.path(digest))!)).toBe(digest);
}

describe('fetchBlob', () => {
  it('fetches from several peers at once within the per-peer and overall bounds', async () => {
    const peers = await Promise.all([server(), server(), server()]);
    const f = await fetcher();
    const seen: FetchStatus[] = [];
    const r = await fetchBlob({
      digest,
      pieceMap: map,
      peers: peers.map((p) => p.url),
      ...f,
      limits: { ...fast, connectionsPerPeer: 1, maxOutstanding: 2 },
      onProgress: (p) => seen.push(p),
    });
    await expectStored(f.store);
    expect(r.status.bytesFetched).toBe(SIZE);
    expect(r.status.bytesFromOrigin).toBe(0);
    const used = r.status.sources.filter((s) => s.pieces > 0);
    expect(used.length).toBeGreaterThanOrEqual(2);
    for (const p of peers) expect(p.maxInFlight()).toBeLessThanOrEqual(1);
    expect(peers.reduce((a, p) => a + p.ddn.stats.piecesServed, 0)).toBe(map.pieces.length);
    // Progress went up one piece at a time to the whole.
    expect(seen.at(-1)).toMatchObject({ bytesDone: SIZE, bytesTotal: SIZE, piecesDone: 7, piecesTotal: 7 });
    expect(seen.map((p) => p.piecesDone)).toEqual([...seen.map((p) => p.piecesDone)].sort((a, b) => a - b));
  });

  it('drops a peer that serves a bad piece at once and gets the piece elsewhere', async () => {
    const liar = await server({ corrupt: 1000 });
    const honest = await server();
    const f = await fetcher();
    const r = await fetchBlob({ digest, pieceMap: map, peers: [liar.url, honest.url], ...f, limits: { ...fast, connectionsPerPeer: 2 } });
    await expectStored(f.store);
    const l = r.status.sources.find((s) => s.url === liar.url)!;
    expect(l.state).toBe('dropped');
    expect(l.reason).toMatch(/^BAD_PIECE/);
    expect(l.pieces).toBe(0);
    // At most what was already asked when the first bad piece arrived.
    expect(liar.ddn.stats.piecesServed).toBeLessThanOrEqual(2);
    expect(r.status.bytesRejected).toBeGreaterThan(0);
  });

  it('replaces peers that refuse connections or stall, and falls back to the origin', async () => {
    const stalled: Server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((res) => stalled.listen(0, '127.0.0.1', res));
    const dead = `http://127.0.0.1:${await freePort()}`;
    const empty = await server({ whole: false }); // a node that holds none of it
    const origin = await server();
    const f = await fetcher();
    try {
      const r = await fetchBlob({
        digest,
        pieceMap: map,
        peers: [dead, `http://127.0.0.1:${(stalled.address() as { port: number }).port}`, empty.url],
        origin: origin.url,
        ...f,
        limits: { ...fast, pieceTimeoutMs: 400, peerMaxFailures: 2 },
      });
      await expectStored(f.store);
      expect(r.status.bytesFromOrigin).toBe(SIZE);
      const byUrl = Object.fromEntries(r.status.sources.map((s) => [s.url, s]));
      expect(byUrl[dead].state).toBe('dropped');
      expect(byUrl[dead].reason).toMatch(/^UNREACHABLE/);
      expect(byUrl[empty.url].state).toBe('ok');
      expect(empty.ddn.stats.piecesServed).toBe(0);
    } finally {
      stalled.close();
    }
  });

  it('resumes an interrupted fetch without fetching verified pieces again', async () => {
    const origin = await server();
    const f = await fetcher();
    const stop = new AbortController();
    const first = fetchBlob({
      digest,
      pieceMap: map,
      peers: [],
      origin: origin.url,
      ...f,
      signal: stop.signal,
      limits: { ...fast, originConnections: 1 },
      onProgress: (p) => p.piecesDone >= 3 && stop.abort(),
    });
    await expect(first).rejects.toThrow(/aborted/);
    const servedBefore = origin.ddn.stats.bytesServed;
    const onDisk = (await new PieceStore(f.partialDir).get(digest))!;
    const held = onDisk.have.count;
    const missing = SIZE - onDisk.bytesHeld;
    await onDisk.close();
    expect(held).toBeGreaterThanOrEqual(3);
    // Started again without a map: the one on disk is used, and only missing pieces are asked.
    const r = await fetchBlob({ digest, peers: [], origin: origin.url, ...f, limits: fast });
    await expectStored(f.store);
    expect(r.status.piecesReused).toBe(held);
    expect(r.status.bytesFetched).toBe(missing);
    expect(origin.ddn.stats.bytesServed - servedBefore).toBe(missing);
  });

  it('takes pieces from a peer whose own download is still incomplete', async () => {
    const partialPeer = await server({ whole: false });
    const p = await partialPeer.ddn.pieceStore.open(map);
    const bytes = readFileSync(blobFile);
    for (const i of [0, 2, 4]) {
      const { start, length } = pieceRange(map, i);
      expect(await p.writePiece(i, bytes.subarray(start, start + length))).toBe(true);
    }
    const origin = await server();
    const f = await fetcher();
    // The map comes from the peers by its digest: the partial peer has it too.
    const r = await fetchBlob({ digest, mapDigest: pieceMapDigest(map), peers: [partialPeer.url], origin: origin.url, ...f, limits: fast });
    await expectStored(f.store);
    expect(partialPeer.ddn.stats.piecesServedFromPartial).toBe(3);
    expect(r.status.sources.find((s) => s.url === partialPeer.url)!.pieces).toBe(3);
    expect(r.status.bytesFromOrigin).toBe(SIZE - 3 * map.pieceSize);
  });

  it('refuses a map that is not the one named', async () => {
    const peer = await server();
    const f = await fetcher();
    const other = `sha256:${'0'.repeat(64)}` as Digest;
    await expect(fetchBlob({ digest, mapDigest: other, peers: [peer.url], ...f, limits: fast })).rejects.toThrow(/no piece map/);
    await expect(fetchBlob({ digest, pieceMap: { ...map, digest: other }, peers: [peer.url], ...f })).rejects.toThrow(/not .*blob/);
  });

  it('throws away a download made with a map that does not describe the blob', async () => {
    // A peer offers, for our digest, a map of other bytes and those bytes: every piece "checks".
    const other = join(dir, 'other');
    await writeRandomBlob(other, SIZE);
    const fake = { ...(await computePieceMap(other)), digest };
    const liar = await server({ whole: false });
    const p = await liar.ddn.pieceStore.open(fake);
    const bytes = readFileSync(other);
    for (let i = 0; i < fake.pieces.length; i++) {
      const { start, length } = pieceRange(fake, i);
      await p.writePiece(i, bytes.subarray(start, start + length));
    }
    const f = await fetcher();
    await expect(fetchBlob({ digest, peers: [liar.url], ...f, limits: fast })).rejects.toThrow(/do not make up that blob/);
    expect(await f.store.has(digest)).toBe(false);
    expect(await new PieceStore(f.partialDir).get(digest)).toBeUndefined();
  });

  it('fails, keeping its pieces, when no source has what is missing', async () => {
    const f = await fetcher();
    const dead = `http://127.0.0.1:${await freePort()}`;
    await expect(fetchBlob({ digest, pieceMap: map, peers: [dead], ...f, limits: { ...fast, peerMaxFailures: 1 } })).rejects.toThrow(/no source/);
  });

  it('fetches the blobs of an image concurrently', async () => {
    const second = join(dir, 'blob2');
    const d2 = await writeRandomBlob(second, 5 * 1024 * 1024);
    const h = home();
    await seedBlob(h, blobFile, digest);
    await seedBlob(h, second, d2);
    const peer = await startDdnServer(h);
    servers.push(peer);
    const f = await fetcher();
    let last: FetchStatus[] = [];
    const rs = await fetchBlobs([{ digest }, { digest: d2 }], {
      peers: [peer.url],
      ...f,
      limits: fast,
      onProgress: (each) => (last = each.map((e) => ({ ...e }))),
    });
    expect(rs.map((r) => r.size)).toEqual([SIZE, 5 * 1024 * 1024]);
    expect(await fileDigest((await f.store.path(d2))!)).toBe(d2);
    await expectStored(f.store);
    expect(last.map((p) => p.bytesDone)).toEqual([SIZE, 5 * 1024 * 1024]);
  });
});

/** A real OCI registry (the CNCF distribution server, Debian's docker-registry) as the origin. */
const REGISTRY = spawnSync('sh', ['-c', 'command -v docker-registry']).stdout.toString().trim();

describe.skipIf(!REGISTRY)('an OCI registry as the origin', () => {
  let registry: ChildProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    const root = join(dir, 'registry');
    const config = join(dir, 'registry.yml');
    writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    registry = spawn(REGISTRY, ['serve', config], { stdio: 'ignore' });
    base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/v2/`).catch(() => undefined))?.status === 200, 15_000, 'docker-registry');
    // Monolithic upload: POST for a session, PUT the bytes with the digest.
    const start = await fetch(`${base}/v2/ddn/test/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, base);
    loc.searchParams.set('digest', digest);
    const put = await fetch(loc, { method: 'PUT', body: readFileSync(blobFile), headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(201);
  });

  afterAll(() => registry?.kill('SIGKILL'));

  it('serves the pieces no peer has by Range requests on its blob URL', async () => {
    const f = await fetcher();
    const r = await fetchBlob({ digest, pieceMap: map, peers: [], origin: `${base}/v2/ddn/test`, ...f, limits: fast });
    await expectStored(f.store);
    expect(r.status.bytesFromOrigin).toBe(SIZE);
    expect(r.status.sources).toEqual([expect.objectContaining({ kind: 'origin', pieces: 7, state: 'ok' })]);
  });
});

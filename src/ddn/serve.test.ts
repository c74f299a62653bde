import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBlob, startDdnServer, writeRandomBlob, type DdnServer } from '../../test/helpers/ddn.ts';
import type { Digest } from './contracts.ts';
import { PIECE_SIZE } from './contracts.ts';
import { computePieceMap } from './pieces.ts';
import { isLocalCaller } from './serve.ts';

// The /ddn endpoints as a client sees them: maps, bitmaps, pieces with Range, and the error
// format of the rest of the API.

const dir = mkdtempSync(join(tmpdir(), 'ddn-serve-'));
let s: DdnServer;
let digest: Digest;
let bytes: Buffer;
const SIZE = PIECE_SIZE + 1000;
const unknown = `sha256:${'1'.repeat(64)}`;

beforeAll(async () => {
  const file = join(dir, 'blob');
  digest = await writeRandomBlob(file, SIZE);
  bytes = readFileSync(file);
  await seedBlob(join(dir, 'home'), file, digest);
  s = await startDdnServer(join(dir, 'home'));
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) => s.app.inject({ method: 'GET', url, headers });

describe('/ddn endpoints', () => {
  it('serve the map and the bitmap of a blob held whole', async () => {
    const have = await get(`/ddn/blobs/${digest}/have`);
    expect(have.json()).toEqual({
      digest,
      size: SIZE,
      pieceSize: PIECE_SIZE,
      pieces: 2,
      complete: true,
      count: 2,
      have: Buffer.from([0xc0]).toString('base64'),
    });
    const map = await get(`/ddn/blobs/${digest}/pieces`);
    expect(map.json()).toEqual(await computePieceMap(join(dir, 'blob')));
  });

  it('serve a piece whole or a range within it', async () => {
    const whole = await get(`/ddn/blobs/${digest}/pieces/1`);
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-length']).toBe('1000');
    expect(whole.rawPayload.equals(bytes.subarray(PIECE_SIZE))).toBe(true);
    const part = await get(`/ddn/blobs/${digest}/pieces/0`, { range: 'bytes=10-19' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${PIECE_SIZE}`);
    expect(part.rawPayload.equals(bytes.subarray(10, 20))).toBe(true);
    const tail = await get(`/ddn/blobs/${digest}/pieces/1`, { range: 'bytes=-10' });
    expect(tail.rawPayload.equals(bytes.subarray(SIZE - 10))).toBe(true);
    expect(s.ddn.stats).toMatchObject({ piecesServed: 3, bytesServed: 1000 + 10 + 10, piecesServedFromPartial: 0 });
  });

  it('answer what they cannot serve with a code and a reason', async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      [`/ddn/blobs/${unknown}/have`, {}, 404, 'BLOB_UNKNOWN'],
      [`/ddn/blobs/${unknown}/pieces`, {}, 404, 'BLOB_UNKNOWN'],
      [`/ddn/blobs/${unknown}/pieces/0`, {}, 404, 'PIECE_UNKNOWN'],
      [`/ddn/blobs/${digest}/pieces/2`, {}, 404, 'PIECE_UNKNOWN'],
      [`/ddn/blobs/${digest}/pieces/0`, { range: 'bytes=5000000-' }, 416, 'RANGE_INVALID'],
      [`/ddn/blobs/${digest}/pieces/0`, { range: 'items=1-2' }, 416, 'RANGE_INVALID'],
      ['/ddn/blobs/sha256:../../etc/have', {}, 400, 'INVALID_REQUEST'],
      [`/ddn/blobs/${digest}/pieces/-1`, {}, 400, 'INVALID_REQUEST'],
      [`/ddn/fetches/${unknown}`, {}, 404, 'FETCH_UNKNOWN'],
    ];
    for (const [url, headers, status, code] of cases) {
      const r = await get(url, headers);
      expect([url, r.statusCode, r.json().error.code]).toEqual([url, status, code]);
    }
  });

  it('start fetches only for callers on this machine', async () => {
    const body = { digest: unknown, peers: [] };
    const far = await s.app.inject({ method: 'POST', url: '/ddn/fetches', payload: body, remoteAddress: '10.1.2.3' });
    expect(far.statusCode).toBe(403);
    const near = await s.app.inject({ method: 'POST', url: '/ddn/fetches', payload: body, remoteAddress: '127.0.0.1' });
    expect(near.statusCode).toBe(202);
    await s.ddn.fetches.wait(unknown as Digest);
    const job = (await get(`/ddn/fetches/${unknown}`)).json();
    expect(job).toMatchObject({ state: 'failed', error: { code: 'NO_MAP' } });
    const bad = await s.app.inject({
      method: 'POST',
      url: '/ddn/fetches',
      payload: { digest: 'sha256:x', peers: ['file:///etc'] },
      remoteAddress: '127.0.0.1',
    });
    expect(bad.statusCode).toBe(400);
  });

  it("count a caller at one of the machine's own addresses as on this machine (a worker beside a node bound to its host address)", async () => {
    // A node on a host of a real network binds its API to the host's address; the worker beside it
    // calls from that address, not from 127.0.0.1.
    expect(isLocalCaller('10.7.0.2', '10.7.0.2', [])).toBe(true);
    expect(isLocalCaller('::ffff:10.7.0.2', '10.7.0.2', [])).toBe(true);
    expect(isLocalCaller('10.7.0.2', '0.0.0.0', ['127.0.0.1', '10.7.0.2'])).toBe(true);
    expect(isLocalCaller('::ffff:127.0.0.1', undefined, [])).toBe(true);
    expect(isLocalCaller('10.7.0.3', '10.7.0.2', ['127.0.0.1', '10.7.0.2'])).toBe(false);
    expect(isLocalCaller(undefined, '10.7.0.2', ['10.7.0.2'])).toBe(false);
    const own = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
    const body = { repository: 'alice/x', digest: `sha256:${'2'.repeat(64)}` };
    const far = await s.app.inject({ method: 'POST', url: '/ddn/images', payload: body, remoteAddress: '203.0.113.9' });
    expect(far.statusCode).toBe(403);
    if (own === undefined) return; // a machine with loopback alone has no other address to call from
    const near = await s.app.inject({ method: 'POST', url: '/ddn/images', payload: body, remoteAddress: own });
    expect(near.statusCode, near.body).toBe(202);
  });
});

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';
import { MediaType } from './manifest.ts';
import { DEFAULT_UPLOAD_LIMITS, uploadAllowance } from './quota.ts';
import { DiskBlobStore } from './store.ts';
import type { UploadQuota } from './uploads.ts';

const sha = (b: Uint8Array | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const HOUR = 3_600_000;

async function* chunks(...parts: (Uint8Array | Error)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) {
    if (p instanceof Error) throw p;
    yield p;
  }
}

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error('expected a RegistryError');
}

let dir: string;
let store: DiskBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddn-store-'));
  store = await DiskBlobStore.open(join(dir, 'ddn'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Uploads `content` as a blob of `repo` through a session, in the given chunk sizes. */
async function upload(repo: string, content: Uint8Array, chunkSize = content.length || 1): Promise<Digest> {
  const s = await store.uploads.start(repo);
  for (let at = 0; at < content.length; at += chunkSize) {
    await store.uploads.append(s, chunks(content.subarray(at, at + chunkSize)), { start: at, maxBytes: 1 << 30 });
  }
  const d = sha(content);
  await store.uploads.complete(s, d);
  expect(await store.linkBlob(repo, d)).toBe(true);
  return d;
}

function imageManifest(config: Uint8Array, layers: Uint8Array[], extra: Record<string, unknown> = {}): Uint8Array {
  return bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
      ...extra,
    }),
  );
}

describe('DiskBlobStore blobs', () => {
  it('imports a verified file by rename, refuses one whose digest differs, and is idempotent', async () => {
    const content = bytes('layer bytes');
    const file = join(store.tmpDir, 'incoming');
    await writeFile(file, content);
    const wrong = sha('something else');
    expect((await rejection(store.importFile(wrong, file))).code).toBe('DIGEST_INVALID');
    expect(await store.has(wrong)).toBe(false);
    await store.importFile(sha(content), file);
    expect(existsSync(file)).toBe(false);
    expect(await store.size(sha(content))).toBe(content.length);
    expect(new Uint8Array(await readFile((await store.path(sha(content)))!))).toEqual(content);
    await writeFile(file, content);
    await store.importFile(sha(content), file);
    expect(existsSync(file)).toBe(false);
    expect(await store.has(sha(content))).toBe(true);
  });

  it('assembles chunks in order, refuses a chunk that does not start where the upload stands, and verifies the digest', async () => {
    const content = bytes('0123456789abcdefghij');
    const s = await store.uploads.start('lib/app');
    expect(await store.uploads.append(s, chunks(content.subarray(0, 7)), { start: 0, maxBytes: 100 })).toBe(7);
    const outOfOrder = await rejection(store.uploads.append(s, chunks(content.subarray(12)), { start: 12, maxBytes: 100 }));
    expect([outOfOrder.status, outOfOrder.code]).toEqual([416, 'BLOB_UPLOAD_INVALID']);
    const again = await rejection(store.uploads.append(s, chunks(content.subarray(0, 7)), { start: 0, maxBytes: 100 }));
    expect(again.status).toBe(416);
    expect(await store.uploads.append(s, chunks(content.subarray(7)), { maxBytes: 100 })).toBe(20);
    await store.uploads.complete(s, sha(content));
    expect(await store.has(sha(content))).toBe(true);
    expect((await rejection(store.uploads.size(s))).code).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('discards an upload whose bytes do not hash to the digest the client names', async () => {
    const s = await store.uploads.start('lib/app');
    await store.uploads.append(s, chunks(bytes('truncated')), { maxBytes: 100 });
    const claimed = sha('truncated and more');
    const e = await rejection(store.uploads.complete(s, claimed));
    expect(e.code).toBe('DIGEST_INVALID');
    expect(await store.has(claimed)).toBe(false);
    expect(await store.has(sha('truncated'))).toBe(false);
    expect(await readdir(join(dir, 'ddn', 'uploads'))).toEqual([]);
  });

  it('cuts a chunk that fails midway back off, so the upload resumes where the last good chunk ended', async () => {
    const s = await store.uploads.start('lib/app');
    await store.uploads.append(s, chunks(bytes('good-')), { maxBytes: 100 });
    await expect(store.uploads.append(s, chunks(bytes('partial'), new Error('client went away')), { maxBytes: 100 })).rejects.toThrow('client went away');
    expect(await store.uploads.size(s)).toBe(5);
    const short = await rejection(store.uploads.append(s, chunks(bytes('abc')), { start: 5, length: 10, maxBytes: 100 }));
    expect(short.code).toBe('SIZE_INVALID');
    expect(await store.uploads.size(s)).toBe(5);
    const big = await rejection(store.uploads.append(s, chunks(new Uint8Array(200)), { maxBytes: 100 }));
    expect([big.status, big.code]).toEqual([413, 'SIZE_INVALID']);
    await store.uploads.append(s, chunks(bytes('rest')), { start: 5, length: 4, maxBytes: 100 });
    await store.uploads.complete(s, sha('good-rest'));
    expect(await store.size(sha('good-rest'))).toBe(9);
  });

  it('after a crash: temporary files are dropped, a half upload is never a blob, and the session resumes in a new process', async () => {
    const s = await store.uploads.start('lib/app');
    await store.uploads.append(s, chunks(bytes('first half, ')), { maxBytes: 1000 });
    // What a crash leaves: the temporary file of a write in progress, named like the blob it was to become.
    const half = bytes('half a manifest');
    const leftover = join(store.tmpDir, `${sha(half).slice(7)}.tmp`);
    await writeFile(leftover, half);
    const minuteAgo = new Date(Date.now() - 61_000);
    await utimes(leftover, minuteAgo, minuteAgo);
    // A write of another store instance on the same directory, still in progress.
    await writeFile(join(store.tmpDir, 'in-progress.tmp'), 'x');
    const reopened = await DiskBlobStore.open(join(dir, 'ddn'));
    expect(await readdir(reopened.tmpDir)).toEqual(['in-progress.tmp']);
    expect(await reopened.has(sha(half))).toBe(false);
    expect(await reopened.has(sha('first half, '))).toBe(false);
    const resumed = await reopened.uploads.find(s.uuid, 'lib/app');
    expect(await reopened.uploads.size(resumed)).toBe(12);
    await reopened.uploads.append(resumed, chunks(bytes('second half')), { start: 12, maxBytes: 1000 });
    await reopened.uploads.complete(resumed, sha('first half, second half'));
    expect(await reopened.has(sha('first half, second half'))).toBe(true);
    expect((await rejection(reopened.uploads.find(s.uuid, 'other/repo'))).code).toBe('BLOB_UPLOAD_UNKNOWN');
  });
});

describe('DiskBlobStore manifests', () => {
  it('stores a manifest only when its blobs are stored, and serves it by tag and digest with its media type', async () => {
    const config = bytes('{"architecture":"amd64"}');
    const layer = bytes('layer-1');
    const m = imageManifest(config, [layer]);
    expect((await rejection(store.putManifest('lib/app', m, MediaType.OciManifest, 'v1'))).code).toBe('MANIFEST_BLOB_UNKNOWN');
    await upload('lib/app', config);
    await upload('lib/app', layer);
    const d = await store.putManifest('lib/app', m, MediaType.OciManifest, 'v1');
    expect(d).toBe(sha(m));
    const got = await store.getManifest('lib/app', 'v1');
    expect(got).toEqual({ bytes: m, mediaType: MediaType.OciManifest, digest: d });
    expect((await store.getManifest('lib/app', d))?.digest).toBe(d);
    expect(await store.getManifest('other/app', d)).toBeUndefined();
    expect(await store.tags('lib/app')).toEqual(['v1']);
    expect(await store.tags('nobody/here')).toBeUndefined();
  });

  it('refuses an index listing a manifest the repository does not hold, and lists referrers of a subject', async () => {
    const config = bytes('{}');
    await upload('lib/app', config);
    const image = imageManifest(config, []);
    const index = bytes(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{ mediaType: MediaType.OciManifest, digest: sha(image), size: image.length }],
      }),
    );
    expect((await rejection(store.putManifest('lib/app', index, MediaType.OciIndex))).code).toBe('MANIFEST_BLOB_UNKNOWN');
    const imageDigest = await store.putManifest('lib/app', image, MediaType.OciManifest);
    await store.putManifest('lib/app', index, MediaType.OciIndex, 'multi');
    const signature = imageManifest(config, [], {
      artifactType: 'application/vnd.example.signature',
      subject: { mediaType: MediaType.OciManifest, digest: imageDigest, size: image.length },
      annotations: { who: 'alice' },
    });
    const sigDigest = await store.putManifest('lib/app', signature, MediaType.OciManifest);
    expect(await store.referrers('lib/app', imageDigest)).toEqual([
      {
        mediaType: MediaType.OciManifest,
        digest: sigDigest,
        size: signature.length,
        artifactType: 'application/vnd.example.signature',
        annotations: { who: 'alice' },
      },
    ]);
    expect(await store.deleteManifest('lib/app', sigDigest)).toBe(true);
    expect(await store.referrers('lib/app', imageDigest)).toEqual([]);
  });
});

describe('DiskBlobStore garbage collection', () => {
  it('keeps what manifests need and fresh blobs, removes the rest, dead links and idle uploads', async () => {
    const config = bytes('{"os":"linux"}');
    const layer = bytes('needed layer');
    await upload('lib/app', config);
    await upload('lib/app', layer);
    const m = imageManifest(config, [layer]);
    const md = await store.putManifest('lib/app', m, MediaType.OciManifest, 'v1');
    const old = await upload('lib/app', bytes('pushed long ago, never used'));
    const fresh = await upload('lib/app', bytes('pushed a moment ago: its manifest may be on its way'));
    const longAgo = new Date(Date.now() - 2 * HOUR);
    for (const d of [sha(config), sha(layer), md, old]) await utimes((await store.path(d))!, longAgo, longAgo);
    const idle = await store.uploads.start('lib/app');
    await utimes(join(dir, 'ddn', 'uploads', idle.uuid, 'data'), longAgo, longAgo);
    const busy = await store.uploads.start('lib/app');
    await mkdir(store.tmpDir, { recursive: true });

    const r = await store.gc();
    expect(r).toMatchObject({ blobsRemoved: 1, blobsKept: 4, uploadsRemoved: 1, linksRemoved: 1 });
    expect(await store.has(old)).toBe(false);
    expect(await store.hasBlobIn('lib/app', old)).toBe(false);
    for (const d of [sha(config), sha(layer), md, fresh]) expect(await store.has(d)).toBe(true);
    expect((await rejection(store.uploads.find(idle.uuid, 'lib/app'))).code).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await store.uploads.size(await store.uploads.find(busy.uuid, 'lib/app'))).toBe(0);

    // Once the tag and manifest are gone, nothing needs its blobs any more.
    expect(await store.deleteManifest('lib/app', md)).toBe(true);
    expect(await store.tags('lib/app')).toEqual([]);
    const r2 = await store.gc({ blobGraceMs: 0 });
    expect(r2.blobsRemoved).toBe(4);
    for (const d of [sha(config), sha(layer), md, fresh]) expect(await store.has(d)).toBe(false);
  });

  it('a manifest deleted from one repository but held by another keeps its blobs', async () => {
    const config = bytes('{"shared":true}');
    await upload('a/one', config);
    const image = imageManifest(config, []);
    const d = await store.putManifest('a/one', image, MediaType.OciManifest);
    await store.linkBlob('b/two', sha(config));
    await store.putManifest('b/two', image, MediaType.OciManifest, 'latest');
    await store.deleteManifest('a/one', d);
    await store.gc({ blobGraceMs: 0 });
    expect((await store.getManifest('b/two', 'latest'))?.digest).toBe(d);
    expect(await store.has(sha(config))).toBe(true);
  });
});

describe('upload accounting', () => {
  const quota = (account: string, stakeUnits = 0): UploadQuota => ({
    account,
    allowance: uploadAllowance({ stakeUnits, funded: stakeUnits > 0, stakeUnit: '1,000 ZNC' }, store.uploads.limits),
  });

  it('counts what sessions hold per account, frees it as they end, and counts it again after a restart', async () => {
    const a = await store.uploads.start('x/one', quota('znc1a'));
    const b = await store.uploads.start('x/two', quota('znc1a'));
    await store.uploads.start('x/three', quota('znc1b'));
    await store.uploads.append(a, chunks(bytes('12345'), bytes('678')), { maxBytes: 100, quota: quota('znc1a') });
    await store.uploads.append(b, chunks(bytes('abc')), { maxBytes: 100, quota: quota('znc1a') });
    expect(store.uploads.usage('znc1a')).toEqual({ sessions: 2, bytes: 11 });
    expect(store.uploads.totals()).toEqual({ sessions: 3, bytes: 11 });
    // A chunk that fails midway is cut back, in the counts too.
    await rejection(
      store.uploads.append(b, chunks(bytes('def'), new RegistryError('SIZE_INVALID', 'client went away')), { maxBytes: 100, quota: quota('znc1a') }),
    );
    expect(store.uploads.usage('znc1a')).toEqual({ sessions: 2, bytes: 11 });

    // The node restarts: the sessions on disk are counted as they were.
    const reopened = await DiskBlobStore.open(join(dir, 'ddn'));
    expect(reopened.uploads.usage('znc1a')).toEqual({ sessions: 2, bytes: 11 });
    expect(reopened.uploads.totals()).toEqual({ sessions: 3, bytes: 11 });
    await reopened.uploads.complete(await reopened.uploads.find(a.uuid, 'x/one'), sha('12345678'));
    await reopened.uploads.cancel(await reopened.uploads.find(b.uuid, 'x/two'));
    expect(reopened.uploads.usage('znc1a')).toEqual({ sessions: 0, bytes: 0 });
    expect(reopened.uploads.totals()).toEqual({ sessions: 1, bytes: 0 });
  });

  it("refuses a chunk over the quota before writing it, and a session past the node's bound", async () => {
    store.uploads.limits = { ...DEFAULT_UPLOAD_LIMITS, unfunded: { sessions: 2, bytes: 10 }, node: { sessions: 24, bytes: 1000 } };
    const s = await store.uploads.start('x/one', quota('znc1a'));
    await store.uploads.append(s, chunks(bytes('1234567')), { maxBytes: 100, quota: quota('znc1a') });
    const over = await rejection(store.uploads.append(s, chunks(bytes('89'), bytes('abc')), { maxBytes: 100, quota: quota('znc1a') }));
    expect(over.code).toBe('TOOMANYREQUESTS');
    expect(over.message).toMatch(/may hold 10 bytes in uploads in progress; this request brought it to 9 bytes and has more/);
    expect(await store.uploads.size(s)).toBe(7);
    const declared = await rejection(store.uploads.append(s, chunks(bytes('89abcdef')), { maxBytes: 100, declared: 8, quota: quota('znc1a') }));
    expect(declared.message).toMatch(/holds 7 bytes; 8 bytes more do not fit/);
    // Accounts without ZNC share an eighth of the node (3 sessions); staked ones the whole of it.
    await store.uploads.start('x/two', quota('znc1b'));
    await store.uploads.start('x/three', quota('znc1c'));
    const share = await rejection(store.uploads.start('x/four', quota('znc1d')));
    expect(share.message).toMatch(/all accounts holding no ZNC fill their share of this node \(3 uploads/);
    for (let i = 0; i < 21; i++) await store.uploads.start('x/staked', quota(`znc1s${i}`, 1));
    const full = await rejection(store.uploads.start('x/five', quota('znc1e', 1)));
    expect([full.code, (full.detail as { reason: string }).reason]).toEqual(['TOOMANYREQUESTS', 'NODE_UPLOADS_FULL']);
  });
});

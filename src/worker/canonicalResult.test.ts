import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_UPLOAD_LIMITS, MAX_BLOB_BYTES } from '../ddn/index.ts';
import { DEFAULT_RESULT_MIB, MAX_RESULT_MIB, resultLimitMiB, resultTooLarge } from '../market/index.ts';
import { canonicalDigest, canonicalTarBytes, ResultTooLargeError, scanResult, unpackArchive } from './canonicalResult.ts';
import { DEFAULT_SCRATCH_MIB, scratchMiB } from './scratch.ts';

// The canonical result archive: the same files give the same bytes whatever their times, owners,
// modes or the order the file system lists them in; GNU tar reads it back as written; what a
// result cannot hold is dropped and named.

const root = mkdtempSync(join(tmpdir(), 'zeus-canonical-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const MiB = 1024 * 1024;
let n = 0;
const fresh = (): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};

/** The same tree, written in a different order with different times and modes. */
function writeTree(d: string, variant: number): void {
  const files: [string, string][] = [
    ['result.txt', 'hello\n'],
    ['b/inner.txt', 'x'.repeat(700)],
    ['a-b', ''],
    ['a/z', 'z'],
  ];
  for (const [name, text] of variant ? [...files].reverse() : files) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
    chmodSync(join(d, name), variant ? 0o600 : 0o664);
    const t = variant ? 1_700_000_000 + variant : 1_000_000_000;
    utimesSync(join(d, name), t, t);
  }
  writeFileSync(join(d, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(d, 'run.sh'), variant ? 0o700 : 0o755);
  chmodSync(join(d, 'b'), variant ? 0o700 : 0o775);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the canonical result archive', () => {
  it('gives the same bytes for the same files, whatever their times, modes and creation order', async () => {
    const a = fresh();
    const b = fresh();
    writeTree(a, 0);
    writeTree(b, 7);
    const ta = await canonicalTarBytes(scanResult(a, MiB));
    const tb = await canonicalTarBytes(scanResult(b, MiB));
    expect(sha(ta)).toBe(sha(tb));
    expect(await canonicalDigest(scanResult(a, MiB))).toBe(`sha256:${sha(ta)}`);
    expect(ta.length).toBe(scanResult(a, MiB).tarBytes);
    // Pinned: a change of format changes every digest, so two versions of the worker would
    // disagree on honest results. Change this only with a deliberate format version.
    expect(sha(ta)).toBe(PINNED);
  });

  it('is ustar with times 0, owners 0 and no names, sorted by path, modes normalized', async () => {
    const d = fresh();
    writeTree(d, 3);
    const file = join(root, 'listed.tar');
    writeFileSync(file, await canonicalTarBytes(scanResult(d, MiB)));
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
      .trim()
      .split('\n');
    expect(listing).toEqual([
      'drwxr-xr-x 0/0               0 1970-01-01 00:00:00 out/',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00:00 out/a/',
      '-rw-r--r-- 0/0               1 1970-01-01 00:00:00 out/a/z',
      '-rw-r--r-- 0/0               0 1970-01-01 00:00:00 out/a-b',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00:00 out/b/',
      '-rw-r--r-- 0/0             700 1970-01-01 00:00:00 out/b/inner.txt',
      '-rw-r--r-- 0/0               6 1970-01-01 00:00:00 out/result.txt',
      '-rwxr-xr-x 0/0              10 1970-01-01 00:00:00 out/run.sh',
    ]);
    const bytes = readFileSync(file);
    // No pax or GNU extended header anywhere: every header's type is '0' or '5'.
    for (let at = 0; at + 512 <= bytes.length; ) {
      const block = bytes.subarray(at, at + 512);
      if (block.every((x) => x === 0)) break;
      expect(['0', '5']).toContain(String.fromCharCode(block[156]));
      expect(block.subarray(265, 329).every((x) => x === 0)).toBe(true); // uname, gname
      const size = parseInt(block.subarray(124, 135).toString('ascii'), 8);
      at += 512 + Math.ceil(size / 512) * 512;
    }
  });

  it('keeps long paths (a pax header with the path alone past ustar’s 255 bytes) and GNU tar extracts them', async () => {
    const d = fresh();
    const deep = join(d, 'd'.repeat(120), 'e'.repeat(120));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'f'.repeat(90)), 'deep');
    writeFileSync(join(d, 'g'.repeat(200)), 'long');
    const tree = scanResult(d, MiB);
    const bytes = await canonicalTarBytes(tree);
    expect(bytes.length).toBe(tree.tarBytes);
    const x = fresh();
    writeFileSync(join(root, 'long.tar'), bytes);
    execFileSync('tar', ['-xf', join(root, 'long.tar'), '-C', x]);
    expect(readFileSync(join(x, 'out', 'd'.repeat(120), 'e'.repeat(120), 'f'.repeat(90)), 'utf8')).toBe('deep');
    expect(readFileSync(join(x, 'out', 'g'.repeat(200)), 'utf8')).toBe('long');
    // The one pax header says the path and nothing else (no times, no owners).
    const pax = bytes.indexOf(Buffer.from(' path=out/ggg'));
    expect(pax).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from('mtime='))).toBe(false);
  });

  it('drops symbolic links and FIFOs, names them, and keeps hard links as files', async () => {
    const d = fresh();
    writeFileSync(join(d, 'data'), 'data');
    symlinkSync('/etc/passwd', join(d, 'link'));
    linkSync(join(d, 'data'), join(d, 'hard'));
    execFileSync('mkfifo', [join(d, 'pipe')]);
    const tree = scanResult(d, MiB);
    expect(tree.entries.map((e) => e.name.toString())).toEqual(['out/', 'out/data', 'out/hard']);
    expect(tree.dropped).toEqual([
      { name: 'out/link', type: 'symbolic link' },
      { name: 'out/pipe', type: 'FIFO' },
    ]);
  });

  it('refuses more files than the lease’s disk', () => {
    const d = fresh();
    writeFileSync(join(d, 'a'), Buffer.alloc(600 * 1024));
    writeFileSync(join(d, 'b'), Buffer.alloc(600 * 1024));
    expect(() => scanResult(d, MiB)).toThrow(ResultTooLargeError);
    expect(() => scanResult(d, MiB)).toThrow("/out holds more than the lease's 1 MiB of disk: too large for a result");
    expect(scanResult(d, 2 * MiB).fileBytes).toBe(1200 * 1024);
  });

  it('unpacks an engine’s archive: files, modes and hard links kept; links, devices and escapes dropped', async () => {
    const pack = tar.pack();
    const now = new Date();
    pack.entry({ name: 'out/', type: 'directory', mode: 0o555, mtime: now, uid: 65534, gid: 65534, uname: 'nobody' });
    pack.entry({ name: 'out/x.sh', mode: 0o700, mtime: now, uid: 65534 }, '#!/bin/sh\n');
    pack.entry({ name: 'out/sub/y', mode: 0o600, mtime: now }, 'y');
    pack.entry({ name: 'out/y2', type: 'link', linkname: 'out/sub/y', mtime: now });
    pack.entry({ name: 'out/l', type: 'symlink', linkname: '/etc/shadow', mtime: now });
    pack.entry({ name: 'out/dev', type: 'character-device', devmajor: 1, devminor: 3, mtime: now });
    pack.entry({ name: 'out/../escape', mode: 0o644, mtime: now }, 'no');
    pack.finalize();
    const into = join(root, 'unpacked');
    const dropped = await unpackArchive(pack as unknown as Readable, into, MiB);
    expect(dropped).toEqual([
      { name: 'out/l', type: 'symbolic link' },
      { name: 'out/dev', type: 'character device' },
      { name: 'out/../escape', type: 'entry outside /out' },
    ]);
    const tree = scanResult(into, MiB);
    expect(tree.entries.map((e) => `${e.name.toString()} ${e.mode.toString(8)}`)).toEqual([
      'out/ 755',
      'out/sub/ 755',
      'out/sub/y 644',
      'out/x.sh 755',
      'out/y2 644',
    ]);
    expect(readFileSync(join(into, 'y2'), 'utf8')).toBe('y');
    // The same files written by hand give the same digest: the engine's metadata is gone.
    const d = fresh();
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub', 'y'), 'y');
    writeFileSync(join(d, 'x.sh'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(d, 'y2'), 'y');
    expect(await canonicalDigest(scanResult(d, MiB))).toBe(await canonicalDigest(tree));
  });

  it('stops unpacking past the lease’s disk', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'out/big', mode: 0o644 }, Buffer.alloc(MiB + 1));
    pack.finalize();
    await expect(unpackArchive(pack as unknown as Readable, join(root, 'big'), MiB)).rejects.toThrow(ResultTooLargeError);
  });
});

describe('the limits on a result agree', () => {
  it('a result is the lease’s disk, and the largest fits what a bonded worker may upload and the registry keeps', () => {
    expect(DEFAULT_SCRATCH_MIB).toBe(DEFAULT_RESULT_MIB);
    expect(scratchMiB(0)).toBe(resultLimitMiB(0));
    expect(scratchMiB(200)).toBe(resultLimitMiB(200));
    expect(resultTooLarge(MAX_RESULT_MIB)).toBeUndefined();
    expect(resultTooLarge(MAX_RESULT_MIB + 1)).toMatch(/at most 1024 MiB of disk \(this task asks for 1025 MiB\)/);
    // The archive of a full /out: the files, plus at most 1 KiB of headers per inode of an ext4 of
    // that size (one inode per 16 KiB), plus the end blocks. A worker with a bond is at least
    // "funded" (src/ddn/quota.ts) and uploads one result at a time.
    const worst = MAX_RESULT_MIB * MiB + ((MAX_RESULT_MIB * MiB) / 16_384) * 1024 + 1024;
    expect(worst).toBeLessThanOrEqual(DEFAULT_UPLOAD_LIMITS.funded.bytes);
    expect(worst).toBeLessThanOrEqual(MAX_BLOB_BYTES);
  });
});

const PINNED = '5ee8d26346ebad8b434f75c8425104ea9631fb1f181cc65bcc4822418b50d689';

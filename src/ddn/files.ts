import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Digest } from './contracts.ts';

// Durable file operations for the store. Everything lands by rename from a temporary file in
// the store's own tmp/ directory (same filesystem, so rename is atomic) after an fsync of the
// file, and the directory is fsynced after the rename so the new name survives a power cut.

/** fsync of a file or a directory (Linux syncs either through a read-only descriptor). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Moves a file into place: creates the parent, renames, fsyncs the parent. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
  await fsyncPath(dirname(to));
}

/** Writes bytes to `path` through a synced temporary file in `tmpDir`. */
export async function writeFileAtomic(tmpDir: string, path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(tmpDir, `${randomUUID()}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await renameDurably(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export const digestOf = (h: Hash): Digest => `sha256:${h.digest('hex')}`;

export function sha256Digest(bytes: Uint8Array): Digest {
  return digestOf(createHash('sha256').update(bytes));
}

/** SHA-256 of a file's first `length` bytes (all of it by default), streamed. */
export async function hashFile(path: string, length?: number): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  if (length === 0) return { hash, size };
  for await (const chunk of createReadStream(path, length === undefined ? {} : { end: length - 1 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash, size };
}

/** Errors from a missing file read as "absent", everything else is real. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What `p` resolves to, or `absent` when it failed because a file or directory is missing. */
export async function unlessMissing<T, A>(p: Promise<T>, absent: A): Promise<T | A> {
  try {
    return await p;
  } catch (e) {
    if (isMissing(e)) return absent;
    throw e;
  }
}

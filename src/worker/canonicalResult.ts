import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Digest } from '../ddn/index.ts';

// A batch result is the canonical tar of the lease's /out: the same files give the same bytes, so
// the same digest, whoever ran the app and whenever — which is what lets the chain compare the
// results of redundant leases and of a dispute's verifier. Both runtimes come here: a WASI run's
// /out is a host directory already; a container's /out is read through the engine's archive
// (which carries mtimes, owners and host names) and unpacked into a host directory first.
//
// The rules (those of reproducible builds, https://reproducible-builds.org/docs/archives/):
// - entries sorted by path, bytewise, one directory level at a time (a directory comes right
//   before what it holds), under `out/` as the engine names them;
// - ustar headers only: mtime 0, uid and gid 0, empty user and group names, no device numbers;
// - modes normalized: directories 0755, files 0755 when any execute bit is set, else 0644;
// - no pax or GNU extended headers, but for a path that ustar's 100 + 155 bytes cannot hold: then
//   one pax header holding that path and nothing else;
// - regular files and directories only. A hard link is a regular file like any other (each name
//   with its content). Symbolic links, devices, FIFOs and sockets are dropped — a link's target
//   or a device number is host data, and a symlink would point outside the result — and the lease
//   says which were dropped (its log, the worker's outcome), so a user whose app made one knows.
// - the files' bytes together at most the lease's disk (src/market/results.ts).

const BLOCK = 512;
const CHUNK = 1024 * 1024;
const OUT = Buffer.from('out/');

export interface ResultEntry {
  /** The path inside the archive, `out/…` (a directory's ends with `/`). */
  name: Buffer;
  type: 'file' | 'directory';
  mode: 0o644 | 0o755;
  size: number;
  /** Where its bytes are on this host. */
  path: Buffer;
}

/** What was left out of a result, and why. */
export interface DroppedEntry {
  name: string;
  type: string;
}

export interface ResultTree {
  entries: ResultEntry[];
  dropped: DroppedEntry[];
  /** The files' bytes together. */
  fileBytes: number;
  /** The archive's exact size. */
  tarBytes: number;
}

/** /out holds more than the lease's disk: no result the worker agreed to deliver. */
export class ResultTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`/out holds more than the lease's ${formatMiB(limitBytes)} of disk: too large for a result`);
    this.limitBytes = limitBytes;
  }
}

const formatMiB = (bytes: number): string => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;

function typeName(st: Stats): string {
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

const modeOf = (hostMode: number): 0o644 | 0o755 => ((hostMode & 0o111) !== 0 ? 0o755 : 0o644);

/** The size of `n` bytes rounded up to whole blocks. */
const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** The pax record `"<len> path=<name>\n"`, whose length counts its own digits. */
function paxPathRecord(name: Buffer): Buffer {
  const rest = 6 + name.length + 1; // " path=" + name + "\n"
  let len = rest + 1;
  while (len !== rest + String(len).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} path=`), name, Buffer.from('\n')]);
}

/** ustar's split of a long path into prefix and name, or undefined when it does not fit. */
function ustarSplit(name: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  // The separator is not stored; the name part keeps a directory's trailing slash.
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== 0x2f || i === name.length - 1) continue;
    if (i <= 155 && name.length - i - 1 <= 100) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
  }
  return undefined;
}

function octal(buf: Buffer, at: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'ascii');
}

function header(name: Buffer, prefix: Buffer, type: '0' | '5' | 'x', mode: number, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(100, name.length));
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write('        ', 148, 8, 'ascii'); // the checksum counts itself as spaces
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  // uname and gname stay empty (all zero)
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  prefix.copy(h, 345, 0, Math.min(155, prefix.length));
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The headers of one entry (a pax header first when its path needs one). */
function headersOf(e: ResultEntry): Buffer[] {
  const type = e.type === 'directory' ? '5' : '0';
  const split = ustarSplit(e.name);
  if (split) return [header(split.name, split.prefix, type, e.mode, e.size)];
  const record = paxPathRecord(e.name);
  const pax = header(Buffer.from('PaxHeader'), Buffer.alloc(0), 'x', 0o644, record.length);
  return [
    pax,
    Buffer.concat([record, Buffer.alloc(padded(record.length) - record.length)]),
    header(e.name.subarray(0, 100), Buffer.alloc(0), type, e.mode, e.size),
  ];
}

/**
 * The entries of the result held in `dir` (what /out held), in archive order; what is neither a
 * regular file nor a directory is dropped. Throws ResultTooLargeError past `limitBytes` of files.
 */
export function scanResult(dir: string, limitBytes: number, dropped: DroppedEntry[] = []): ResultTree {
  const entries: ResultEntry[] = [];
  let fileBytes = 0;
  const walk = (path: Buffer, name: Buffer): void => {
    const children = (readdirSync(path, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare);
    for (const child of children) {
      const at = Buffer.concat([path, Buffer.from('/'), child]);
      const st = lstatSync(at);
      if (st.isDirectory()) {
        const n = Buffer.concat([name, child, Buffer.from('/')]);
        entries.push({ name: n, type: 'directory', mode: 0o755, size: 0, path: at });
        walk(at, n);
      } else if (st.isFile()) {
        fileBytes += st.size;
        if (fileBytes > limitBytes) throw new ResultTooLargeError(limitBytes);
        entries.push({ name: Buffer.concat([name, child]), type: 'file', mode: modeOf(st.mode), size: st.size, path: at });
      } else dropped.push({ name: Buffer.concat([name, child]).toString('utf8'), type: typeName(st) });
    }
  };
  entries.push({ name: OUT, type: 'directory', mode: 0o755, size: 0, path: Buffer.from(dir) });
  walk(Buffer.from(dir), OUT);
  let tarBytes = 2 * BLOCK;
  for (const e of entries) tarBytes += headersOf(e).reduce((n, h) => n + h.length, 0) + padded(e.size);
  return { entries, dropped, fileBytes, tarBytes };
}

/** The canonical archive, a chunk at a time (file bytes read as they are sent, never held whole). */
export async function* canonicalTar(tree: ResultTree): AsyncGenerator<Buffer> {
  for (const e of tree.entries) {
    for (const h of headersOf(e)) yield h;
    if (e.type !== 'file' || e.size === 0) continue;
    const f = await open(e.path, 'r');
    try {
      let left = e.size;
      while (left > 0) {
        const buf = Buffer.alloc(Math.min(CHUNK, left));
        const { bytesRead } = await f.read(buf, 0, buf.length, null);
        if (bytesRead === 0) throw new Error(`${e.name.toString('utf8')} shrank while its result was archived`);
        left -= bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
      const more = Buffer.alloc(1);
      if ((await f.read(more, 0, 1, null)).bytesRead !== 0) throw new Error(`${e.name.toString('utf8')} grew while its result was archived`);
    } finally {
      await f.close();
    }
    if (padded(e.size) > e.size) yield Buffer.alloc(padded(e.size) - e.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The sha256 of the canonical archive: what SubmitResult records. */
export async function canonicalDigest(tree: ResultTree): Promise<Digest> {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of canonicalTar(tree)) {
    h.update(c);
    n += c.length;
  }
  if (n !== tree.tarBytes) throw new Error(`the archive came to ${n} bytes, not the ${tree.tarBytes} its entries make`);
  return `sha256:${h.digest('hex')}` as Digest;
}

/** The whole archive in memory (small results, tests). */
export async function canonicalTarBytes(tree: ResultTree): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of canonicalTar(tree)) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Unpacks an engine's archive of /out (entries `out/…`) into `into`, keeping only what a result
 * holds: directories, regular files (their execute bit), and hard links as copies of their
 * target. Nothing else is created on the host; every dropped entry is returned. Names that would
 * leave `into` are dropped too. Throws ResultTooLargeError past `limitBytes` of files.
 */
export async function unpackArchive(archive: Readable, into: string, limitBytes: number): Promise<DroppedEntry[]> {
  const dropped: DroppedEntry[] = [];
  mkdirSync(into, { recursive: true });
  let fileBytes = 0;
  // `out/a/b` → `a/b`; undefined for the root itself or a name that is not under it or climbs out.
  const inside = (raw: string): string | undefined => {
    const parts = raw
      .replace(/^\.?\//, '')
      .split('/')
      .filter((p) => p !== '' && p !== '.');
    if (parts[0] !== 'out' || parts.length < 2 || parts.includes('..')) return undefined;
    return parts.slice(1).join('/');
  };
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const rel = inside(h.name);
      const skip = (): void => {
        stream.on('end', () => next());
        stream.resume();
      };
      try {
        if (rel === undefined) {
          if (inside(`${h.name}/x`) !== 'x') dropped.push({ name: h.name, type: 'entry outside /out' });
          return skip();
        }
        const at = join(into, rel);
        if (h.type === 'directory') {
          mkdirSync(at, { recursive: true, mode: 0o755 });
          return skip();
        }
        if (h.type === 'file' || h.type === 'contiguous-file') {
          fileBytes += h.size ?? 0;
          if (fileBytes > limitBytes) throw new ResultTooLargeError(limitBytes);
          mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
          const fd = openSync(at, 'wx', modeOf(h.mode ?? 0o644));
          stream.on('data', (data: unknown) => {
            const c = data as Buffer;
            try {
              let off = 0;
              while (off < c.length) off += writeSync(fd, c, off, c.length - off);
            } catch (e) {
              stream.destroy(e as Error);
            }
          });
          stream.on('end', () => {
            closeSync(fd);
            next();
          });
          stream.on('error', (e: Error) => {
            closeSync(fd);
            reject(e);
          });
          return;
        }
        if (h.type === 'link') {
          const target = h.linkname ? inside(h.linkname) : undefined;
          if (target === undefined) dropped.push({ name: `out/${rel}`, type: 'hard link out of /out' });
          else {
            const size = lstatSync(join(into, target)).size;
            fileBytes += size;
            if (fileBytes > limitBytes) throw new ResultTooLargeError(limitBytes);
            mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
            copyFileSync(join(into, target), at);
          }
          return skip();
        }
        dropped.push({
          name: `out/${rel}`,
          type:
            h.type === 'symlink'
              ? 'symbolic link'
              : h.type === 'character-device'
                ? 'character device'
                : h.type === 'block-device'
                  ? 'block device'
                  : h.type === 'fifo'
                    ? 'FIFO'
                    : String(h.type),
        });
        return skip();
      } catch (e) {
        stream.resume();
        reject(e as Error);
      }
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    archive.on('error', reject);
  });
  archive.pipe(extract);
  try {
    await done;
  } catch (e) {
    // Stop reading the engine's archive: nothing more of it is wanted.
    archive.destroy();
    extract.destroy();
    throw e;
  }
  return dropped;
}

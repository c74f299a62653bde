// Reading a task's result: the canonical tar of the lease's /out (src/worker/canonicalResult.ts
// writes it: ustar headers, regular files and directories only, a pax header only for a path
// ustar cannot hold). This reader is small and runs in browsers too (no Node streams, no
// tar package); it reads what that writer writes and also what any POSIX tar writes for regular
// files and directories, and refuses what it does not understand rather than guess.

const BLOCK = 512;
const decoder = new TextDecoder('utf-8', { fatal: false });

/** An archive this reader cannot read: truncated, a bad header checksum, an entry type it does not know. */
export class TarError extends Error {
  override name = 'TarError';
}

/** One entry of an archive: a regular file (with its bytes) or a directory. */
export interface TarEntry {
  /** The path as the archive names it (`out/result.txt`; a directory's ends with `/`). */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  /** A file's bytes (empty for a directory): a view into the archive, not a copy. */
  bytes: Uint8Array;
}

const text = (b: Uint8Array): string => {
  const end = b.indexOf(0);
  return decoder.decode(end < 0 ? b : b.subarray(0, end));
};

function octal(b: Uint8Array, what: string): number {
  const s = text(b).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`bad ${what} field "${s}" in a tar header`);
  return Number.parseInt(s, 8);
}

/** The header's checksum: its bytes summed with the checksum field read as spaces. */
function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === octal(h.subarray(148, 156), 'checksum');
}

/** The `path` of pax records `"<len> key=value\n"…` (the only key the result format uses). */
function paxPath(records: Uint8Array): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < records.length) {
    const space = records.indexOf(0x20, at);
    if (space < 0) throw new TarError('bad pax record');
    const len = Number(decoder.decode(records.subarray(at, space)));
    if (!Number.isInteger(len) || len <= 0 || at + len > records.length) throw new TarError('bad pax record length');
    const record = decoder.decode(records.subarray(space + 1, at + len - 1));
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += len;
  }
  return path;
}

/** The entries of a tar archive, in archive order. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longPath: string | undefined;
  while (at + BLOCK <= archive.length) {
    const h = archive.subarray(at, at + BLOCK);
    // Two zero blocks end the archive; one is enough to stop reading.
    if (h.every((b) => b === 0)) return entries;
    if (!checksumOk(h)) throw new TarError(`bad tar header checksum at byte ${at}`);
    const size = octal(h.subarray(124, 136), 'size');
    const type = String.fromCharCode(h[156] || 0x30);
    const body = at + BLOCK;
    if (body + size > archive.length) throw new TarError(`the archive ends inside an entry (at byte ${at}, ${size} bytes)`);
    const bytes = archive.subarray(body, body + size);
    at = body + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longPath = paxPath(bytes);
      continue;
    }
    if (type === 'g') continue; // global pax defaults: nothing the result format uses
    const prefix = text(h.subarray(345, 500));
    const name = longPath ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longPath = undefined;
    const mode = octal(h.subarray(100, 108), 'mode');
    if (type === '0' || type === '7') entries.push({ name, type: 'file', mode, bytes });
    else if (type === '5') entries.push({ name, type: 'directory', mode, bytes: new Uint8Array(0) });
    else throw new TarError(`tar entry "${name}" is of type "${type}": a result holds only regular files and directories`);
  }
  if (at !== archive.length) throw new TarError('the archive is not a whole number of 512-byte blocks');
  return entries;
}

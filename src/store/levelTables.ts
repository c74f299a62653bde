import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import crc32c from 'crc-32/crc32c.js';
import snappy from 'snappyjs';
import { StoreCorruptError } from './kv.ts';

// The block checksums of a LevelDB store's tables, checked before LevelDB opens it. LevelDB checks
// them on reads only when asked (classic-level does not ask), and not at all when it compacts: a
// table damaged so that its keys come out of order is compacted into an assertion that aborts the
// process (table_builder.cc, `Compare(key, last_key) > 0`), and a node restarted on it died without a
// word. Checked here, such a store is refused as StoreCorruptError, which the node turns into its
// "store damaged" message with the remedy. The formats are LevelDB's (doc/table_format.md,
// doc/log_format.md, db/version_edit.cc): the MANIFEST that CURRENT names lists the live tables and
// their sizes; only those are checked, since a table a kill left half-written during a compaction
// is no part of the store (LevelDB deletes it when it opens).

/** Why a store's tables were not checked when it has none yet (LevelDB makes it at its first open). */
export const NEW_STORE = 'no CURRENT file (a new store)';

/** What a check of the tables read. */
export interface TableCheck {
  readonly tables: number;
  readonly bytes: number;
  readonly ms: number;
  /** Set when the MANIFEST could not be read through: the tables were not checked, LevelDB's open judges. */
  readonly skipped?: string;
}

const FOOTER = 48;
const MAGIC = Uint8Array.of(0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb);
const TRAILER = 5;
const LOG_BLOCK = 32 * 1024;
const LOG_HEADER = 7;
/** A block LevelDB writes is a few KiB; a damaged length must not make decompression allocate gigabytes. */
const MAX_BLOCK = 64 * 2 ** 20;

class Cursor {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint of up to 64 bits, as a number (file numbers, sizes and offsets stay far below 2^53). */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('varint past the end');
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new RangeError('bytes past the end');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

const u32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** LevelDB stores CRC-32C masked (a checksum of data holding checksums is no weaker). */
function unmask(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

const crc = (b: Uint8Array): number => crc32c.buf(b) >>> 0;

/** The live tables (file number → size) of the MANIFEST that CURRENT names, or why they are unknown. */
export function liveTables(dir: string): Map<number, number> | string {
  const current = join(dir, 'CURRENT');
  if (!existsSync(current)) return NEW_STORE;
  const name = readFileSync(current, 'utf8').trim();
  if (!/^MANIFEST-\d+$/.test(name) || !existsSync(join(dir, name))) return `CURRENT names no manifest ("${name}")`;
  const log = readFileSync(join(dir, name));
  const live = new Map<number, number>();
  let record: Uint8Array[] = [];
  for (let block = 0; block < log.length; block += LOG_BLOCK) {
    const end = Math.min(block + LOG_BLOCK, log.length);
    let at = block;
    while (end - at >= LOG_HEADER) {
      const length = log[at + 4] | (log[at + 5] << 8);
      const type = log[at + 6];
      if (type === 0 && length === 0) break; // zeroed tail of a block
      // A record cut short by a crash ends the log, as LevelDB reads it.
      if (at + LOG_HEADER + length > end) return live;
      const data = log.subarray(at + LOG_HEADER, at + LOG_HEADER + length);
      if (crc(log.subarray(at + 6, at + LOG_HEADER + length)) !== unmask(u32(log, at))) return `a manifest record at ${at} fails its checksum`;
      at += LOG_HEADER + length;
      if (type === 1 || type === 2) record = [data];
      else if (type === 3 || type === 4) record.push(data);
      else return `a manifest record at ${at} has type ${type}`;
      if (type === 1 || type === 4) {
        const why = applyEdit(Buffer.concat(record), live);
        if (why) return why;
        record = [];
      }
    }
  }
  return live;
}

/** One VersionEdit (db/version_edit.cc) applied to the live tables; a reason if it cannot be read. */
function applyEdit(edit: Uint8Array, live: Map<number, number>): string | undefined {
  const c = new Cursor(edit);
  try {
    while (!c.done) {
      const tag = c.varint();
      if (tag === 1) c.bytes(c.varint());
      else if (tag === 2 || tag === 3 || tag === 4 || tag === 9) c.varint();
      else if (tag === 5) {
        c.varint();
        c.bytes(c.varint());
      } else if (tag === 6) {
        c.varint();
        live.delete(c.varint());
      } else if (tag === 7) {
        c.varint();
        const number = c.varint();
        live.set(number, c.varint());
        c.bytes(c.varint());
        c.bytes(c.varint());
      } else return `a manifest record has tag ${tag}`;
    }
  } catch (e) {
    return `a manifest record does not decode (${(e as Error).message})`;
  }
  return undefined;
}

/** A block's contents after its checksum is checked (and snappy undone), or a reason it is damaged. */
function block(file: Uint8Array, offset: number, size: number): Uint8Array | string {
  if (offset + size + TRAILER > file.length - FOOTER) return `a block at ${offset} runs past the end`;
  const type = file[offset + size];
  if (crc(file.subarray(offset, offset + size + 1)) !== unmask(u32(file, offset + size + 1))) return `the block at ${offset} fails its checksum`;
  const contents = file.subarray(offset, offset + size);
  if (type === 0) return contents;
  if (type === 1) {
    try {
      return snappy.uncompress(contents, MAX_BLOCK);
    } catch (e) {
      return `the block at ${offset} does not decompress (${(e as Error).message})`;
    }
  }
  return `the block at ${offset} has compression type ${type}`;
}

/** The values of a block's entries (for an index block: the handles of its data blocks). */
function blockValues(b: Uint8Array): Uint8Array[] {
  if (b.length < 4) throw new RangeError('a block shorter than its restart count');
  const restarts = u32(b, b.length - 4);
  const end = b.length - 4 - 4 * restarts;
  if (end < 0) throw new RangeError('a block with more restarts than room');
  const c = new Cursor(b, 0, end);
  const out: Uint8Array[] = [];
  while (!c.done) {
    c.varint();
    const unshared = c.varint();
    const valueLength = c.varint();
    c.bytes(unshared);
    out.push(c.bytes(valueLength));
  }
  return out;
}

/** Checks one table file's every block; a reason if it is damaged. */
function checkTable(file: Uint8Array): string | undefined {
  if (file.length < FOOTER) return `it is ${file.length} bytes, shorter than a table's footer`;
  if (!MAGIC.every((m, i) => file[file.length - 8 + i] === m)) return 'its footer has no table magic';
  try {
    const footer = new Cursor(file, file.length - FOOTER, file.length - 8);
    const meta = [footer.varint(), footer.varint()];
    const index = [footer.varint(), footer.varint()];
    for (const [offset, size] of [meta, index]) {
      const b = block(file, offset, size);
      if (typeof b === 'string') return b;
      // The metaindex lists the filter block; the index every data block.
      for (const handle of blockValues(b)) {
        const h = new Cursor(handle);
        const d = block(file, h.varint(), h.varint());
        if (typeof d === 'string') return d;
      }
    }
  } catch (e) {
    return `its index does not decode (${(e as Error).message})`;
  }
  return undefined;
}

/**
 * Checks every block of every live table of the LevelDB store in `dir` against its checksum and the
 * table's size against the MANIFEST; throws StoreCorruptError naming the first damaged table. A store
 * whose MANIFEST cannot be read through is left to LevelDB's own open (`skipped` says why).
 */
export function checkLevelTables(dir: string): TableCheck {
  const t0 = performance.now();
  const live = liveTables(dir);
  const ms = (): number => Math.round(performance.now() - t0);
  if (typeof live === 'string') return { tables: 0, bytes: 0, ms: ms(), skipped: live };
  let bytes = 0;
  for (const [number, size] of [...live].sort(([a], [b]) => a - b)) {
    const base = String(number).padStart(6, '0');
    const path = [`${base}.ldb`, `${base}.sst`].map((f) => join(dir, f)).find((p) => existsSync(p));
    // A live table that is missing: LevelDB's open refuses the store and says so.
    if (!path) continue;
    const actual = statSync(path).size;
    const name = path.slice(dir.length + 1);
    if (actual !== size) throw new StoreCorruptError(`LevelDB table ${name} is ${actual} bytes; the store's manifest says ${size}`);
    const why = checkTable(readFileSync(path));
    if (why) throw new StoreCorruptError(`LevelDB table ${name}: ${why}`);
    bytes += size;
  }
  return { tables: live.size, bytes, ms: ms() };
}

import { constants, mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Bitfield } from './bitfield.ts';
import type { BlobStore, Digest, PieceMap } from './contracts.ts';
import { DdnError, digestHex, fileDigest, pieceCount, pieceMapDigest, pieceRange, sha256Hex, validatePieceMap } from './pieces.ts';

// Partial downloads: per blob a sparse file of its final size (`<hex>.part`), the bitmap of the
// pieces in it that were verified (`<hex>.have`) and the map they were verified against
// (`<hex>.map.json`). A piece's bytes are written and fsynced before its bit is set, and the
// bitmap is replaced by rename, so a crash at any point leaves at worst a verified piece
// unmarked (fetched again), never an unverified piece marked. A piece counts as held (and is
// served) only once its bit is on disk.

export class PartialBlob {
  readonly map: PieceMap;
  readonly have: Bitfield;
  readonly path: string;
  private readonly havePath: string;
  private readonly mapPath: string;
  /** Opened again on demand after `close`, so a fetch that ends leaves the pieces servable. */
  private fh: Promise<FileHandle> | undefined;
  /** Bitmap writes in order: each writes the whole current bitmap, so the last one wins. */
  private persisting: Promise<void> = Promise.resolve();
  private state: 'open' | 'imported' | 'removed' = 'open';
  /** Pieces written and synced whose bits are not yet on disk. */
  private readonly written = new Set<number>();

  constructor(dir: string, map: PieceMap, have: Bitfield, fh: FileHandle) {
    const hex = digestHex(map.digest);
    this.map = map;
    this.have = have;
    this.fh = Promise.resolve(fh);
    this.path = join(dir, `${hex}.part`);
    this.havePath = join(dir, `${hex}.have`);
    this.mapPath = join(dir, `${hex}.map.json`);
  }

  get digest(): Digest {
    return this.map.digest;
  }

  get pieces(): number {
    return this.map.pieces.length;
  }

  /** Bytes of the pieces held. */
  get bytesHeld(): number {
    let n = 0;
    for (let i = 0; i < this.pieces; i++) if (this.have.has(i)) n += pieceRange(this.map, i).length;
    return n;
  }

  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Checks `bytes` against the map and, if they are piece `index`, writes them durably and marks
   * the piece. Returns false (writing nothing) when they are not.
   */
  async writePiece(index: number, bytes: Uint8Array): Promise<boolean> {
    const { start, length } = pieceRange(this.map, index);
    if (bytes.length !== length || sha256Hex(bytes) !== this.map.pieces[index]) return false;
    if (this.have.has(index)) return true;
    const fh = await this.handle();
    await fh.write(bytes, 0, length, start);
    await fh.datasync();
    this.written.add(index);
    await this.persist();
    return true;
  }

  /** A held piece's bytes, or undefined when it is not held (or the blob just left this store). */
  async readPiece(index: number): Promise<Buffer | undefined> {
    if (!this.have.has(index) || !this.open) return undefined;
    const { start, length } = pieceRange(this.map, index);
    const buf = Buffer.allocUnsafe(length);
    try {
      const { bytesRead } = await (await this.handle()).read(buf, 0, length, start);
      return bytesRead === length ? buf : undefined;
    } catch {
      return undefined; // closed under us by completion: the caller looks in the blob store
    }
  }

  /**
   * All pieces held: checks the whole file's digest and hands it to the blob store. If the
   * digest is wrong (a disk fault: every piece was checked on arrival), every piece is checked
   * again, the bad ones are unmarked, and the list of them is returned for fetching again.
   */
  async complete(store: BlobStore): Promise<{ imported: true } | { imported: false; bad: number[] }> {
    if (!this.have.complete) throw new DdnError('INCOMPLETE', `${this.have.length - this.have.count} pieces of ${this.digest} are missing`);
    await this.persisting;
    if ((await fileDigest(this.path)) !== this.digest) {
      const bad: number[] = [];
      for (let i = 0; i < this.pieces; i++) {
        const b = await this.readPiece(i);
        if (!b || sha256Hex(b) !== this.map.pieces[i]) {
          bad.push(i);
          this.have.clear(i);
        }
      }
      await this.persist();
      // Pieces all check but the whole does not: the map itself does not describe the blob.
      if (bad.length === 0) throw new DdnError('MAP_MISMATCH', `the pieces of the map for ${this.digest} do not make up that blob`);
      return { imported: false, bad };
    }
    await this.close();
    await store.importFile(this.digest, this.path);
    this.state = 'imported';
    await rm(this.havePath, { force: true });
    await rm(this.mapPath, { force: true });
    return { imported: true };
  }

  async close(): Promise<void> {
    await this.persisting;
    const fh = this.fh;
    this.fh = undefined;
    await (await fh?.catch(() => undefined))?.close();
  }

  /** Forgets the download and its files. */
  async remove(): Promise<void> {
    await this.close();
    this.state = 'removed';
    await Promise.all([this.path, this.havePath, this.mapPath].map((p) => rm(p, { force: true })));
  }

  private handle(): Promise<FileHandle> {
    if (!this.open) throw new DdnError('PARTIAL_CLOSED', `the download of ${this.digest} is no longer in the piece store`);
    this.fh ??= open(this.path, 'r+');
    return this.fh;
  }

  /**
   * Writes the bitmap of the held pieces plus those written since, then counts those as held:
   * what the node says it holds (and serves) is what it will still hold after a crash.
   */
  private persist(): Promise<void> {
    const next = this.persisting.then(async () => {
      const adding = [...this.written];
      const snapshot = new Bitfield(this.have.length, this.have.bytes);
      for (const i of adding) snapshot.set(i);
      const tmp = `${this.havePath}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(snapshot.bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.havePath);
      for (const i of adding) {
        this.have.set(i);
        this.written.delete(i);
      }
    });
    // A failed write must not wedge later ones; the failing caller sees its own error.
    this.persisting = next.catch(() => undefined);
    return next;
  }
}

/** The node's partial downloads, one directory, one PartialBlob per blob in memory. */
export class PieceStore {
  readonly dir: string;
  private readonly blobs = new Map<string, Promise<PartialBlob | undefined>>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /**
   * The download of the blob `map` describes, created if there is none; one made against a
   * different map of the same blob is discarded (its bits mean other pieces).
   */
  async open(map: PieceMap): Promise<PartialBlob> {
    const hex = digestHex(map.digest);
    const existing = await this.get(map.digest);
    if (existing && pieceMapDigest(existing.map) === pieceMapDigest(map)) return existing;
    const created = (async () => {
      if (existing) await existing.remove();
      const mapPath = join(this.dir, `${hex}.map.json`);
      await writeFile(`${mapPath}.tmp`, JSON.stringify(map));
      await rename(`${mapPath}.tmp`, mapPath);
      await rm(join(this.dir, `${hex}.have`), { force: true });
      return this.load(map);
    })();
    this.blobs.set(hex, created);
    return created;
  }

  /** The download of a blob, if this store has one (in memory or left on disk by a previous run). */
  async get(digest: Digest): Promise<PartialBlob | undefined> {
    const hex = digestHex(digest);
    let p = this.blobs.get(hex);
    if (!p) {
      p = this.loadFromDisk(hex);
      this.blobs.set(hex, p);
    }
    const blob = await p;
    // Forget misses too: anyone may ask about any digest, and the cache must not grow with them.
    if (!blob?.open) {
      if (this.blobs.get(hex) === p) this.blobs.delete(hex);
      return undefined;
    }
    return blob;
  }

  async remove(digest: Digest): Promise<void> {
    await (await this.get(digest))?.remove();
    this.blobs.delete(digestHex(digest));
  }

  private async loadFromDisk(hex: string): Promise<PartialBlob | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, `${hex}.map.json`), 'utf8');
    } catch {
      return undefined;
    }
    const map = validatePieceMap(JSON.parse(text));
    if (digestHex(map.digest) !== hex) throw new DdnError('MAP_MISMATCH', `${hex}.map.json describes ${map.digest}`);
    return this.load(map);
  }

  private async load(map: PieceMap): Promise<PartialBlob> {
    const hex = digestHex(map.digest);
    const part = join(this.dir, `${hex}.part`);
    const n = pieceCount(map);
    let have = new Bitfield(n);
    try {
      have = new Bitfield(n, await readFile(join(this.dir, `${hex}.have`)));
    } catch {
      // no bitmap yet, or one that does not fit this map: nothing is held
    }
    const fh = await open(part, constants.O_RDWR | constants.O_CREAT, 0o644);
    const size = (await stat(part)).size;
    if (size !== map.size) {
      // A file shorter than the blob cannot hold the pieces past its end, whatever the bitmap says.
      for (let i = 0; i < n; i++) {
        const r = pieceRange(map, i);
        if (r.start + r.length > size) have.clear(i);
      }
      await fh.truncate(map.size);
    }
    return new PartialBlob(this.dir, map, have, fh);
  }
}

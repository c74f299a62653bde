import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeManifest, manifestHash, type BuiltSnapshot, type SnapshotManifest } from './snapshots.ts';

// A node's own snapshots on disk: <dir>/<height>/manifest and <dir>/<height>/chunk-<i>. A snapshot
// is written into a temporary directory and renamed into place once complete, so a crash while
// writing leaves no half snapshot that would be offered to peers (leftovers are removed at open).

export interface StoredSnapshot {
  readonly height: number;
  readonly manifest: SnapshotManifest;
  readonly manifestBytes: Uint8Array;
  readonly hash: Uint8Array;
}

const heightDir = (h: number): string => h.toString().padStart(16, '0');

export class SnapshotStore {
  readonly dir: string;
  private readonly byHeight = new Map<number, StoredSnapshot>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  static open(dir: string): SnapshotStore {
    mkdirSync(dir, { recursive: true });
    const s = new SnapshotStore(dir);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name.startsWith('.tmp')) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (!/^\d{16}$/.test(name) || !existsSync(join(path, 'manifest'))) continue;
      const bytes = new Uint8Array(readFileSync(join(path, 'manifest')));
      const manifest = decodeManifest(bytes);
      s.byHeight.set(manifest.height, { height: manifest.height, manifest, manifestBytes: bytes, hash: manifestHash(bytes) });
    }
    return s;
  }

  /** Kept snapshots, newest first. */
  list(): StoredSnapshot[] {
    return [...this.byHeight.values()].sort((a, b) => b.height - a.height);
  }

  get(height: number): StoredSnapshot | undefined {
    return this.byHeight.get(height);
  }

  async chunk(height: number, index: number): Promise<Uint8Array | undefined> {
    const s = this.byHeight.get(height);
    if (!s || !Number.isInteger(index) || index < 0 || index >= s.manifest.chunks.length) return undefined;
    return new Uint8Array(await readFile(join(this.dir, heightDir(height), `chunk-${index}`)));
  }

  /** Writes a snapshot (complete or not at all), then keeps only the newest `keep`. */
  async save(built: BuiltSnapshot, keep: number): Promise<StoredSnapshot> {
    const height = built.manifest.height;
    const tmp = join(this.dir, `.tmp-${heightDir(height)}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    for (const [i, c] of built.chunks.entries()) await writeFile(join(tmp, `chunk-${i}`), c);
    await writeFile(join(tmp, 'manifest'), built.manifestBytes);
    const final = join(this.dir, heightDir(height));
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    const stored: StoredSnapshot = { height, manifest: built.manifest, manifestBytes: built.manifestBytes, hash: manifestHash(built.manifestBytes) };
    this.byHeight.set(height, stored);
    for (const old of this.list().slice(Math.max(1, keep))) {
      this.byHeight.delete(old.height);
      await rm(join(this.dir, heightDir(old.height)), { recursive: true, force: true });
    }
    return stored;
  }
}

import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, Digest, PieceMap } from './contracts.ts';
import { computePieceMap, DdnError, digestHex, validatePieceMap } from './pieces.ts';

// The piece maps a node can hand to fetchers: one per blob, `<dir>/<blob hex>.json`. A map is
// made where the blob is whole (computed from the verified file on first need, i.e. where it is
// published) or taken from a fetch that checked it.

export class MapStore {
  readonly dir: string;
  /** Maps being computed, so that concurrent first requests hash the blob once. */
  private readonly computing = new Map<string, Promise<PieceMap>>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  async get(digest: Digest): Promise<PieceMap | undefined> {
    try {
      return validatePieceMap(JSON.parse(await readFile(this.file(digest), 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async put(map: PieceMap): Promise<void> {
    const m = validatePieceMap(map);
    const f = this.file(m.digest);
    await writeFile(`${f}.tmp`, `${JSON.stringify(m)}\n`);
    await rename(`${f}.tmp`, f);
  }

  /**
   * The map of a blob the store holds whole, computed from its verified file the first time.
   * Undefined when the store does not hold it.
   */
  async ofStoredBlob(digest: Digest, store: BlobStore): Promise<PieceMap | undefined> {
    const known = await this.get(digest);
    if (known) return known;
    const path = await store.path(digest);
    if (!path) return undefined;
    const hex = digestHex(digest);
    let p = this.computing.get(hex);
    if (!p) {
      p = (async () => {
        const map = await computePieceMap(path);
        if (map.digest !== digest) throw new DdnError('STORE_CORRUPT', `the stored file of ${digest} hashes to ${map.digest}`);
        await this.put(map);
        return map;
      })().finally(() => this.computing.delete(hex));
      this.computing.set(hex, p);
    }
    return p;
  }

  private file(digest: Digest): string {
    return join(this.dir, `${digestHex(digest)}.json`);
  }
}

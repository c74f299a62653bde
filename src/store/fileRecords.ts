import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KvOp, KvStore } from './kv.ts';

// A few small records, one file each, outside the chain's LevelDB: the double-sign guard's record
// lives here. A LevelDB store that loses its last synced write (a torn or damaged last log record)
// would lose the guard's record with it, and a restarted bookkeeper could sign a second proposal or
// vote at the height it was at — the 60-minute fault run of seed 2026 saw exactly that
// (docs/RELIABILITY.md). Here every write goes to a new file that is synced, renamed over the old
// one and the directory synced: a crash leaves the old record or the new one, never a torn one,
// and moving the chain's data aside to resync does not make the bookkeeper forget what it signed.

const encodeName = (key: string): string => encodeURIComponent(key);
const decodeName = (name: string): string => decodeURIComponent(name);

export class FileRecordStore implements KvStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(readFileSync(join(this.dir, encodeName(key))));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(ops: readonly KvOp[], sync = true): Promise<void> {
    for (const op of ops) {
      if (op.value === null) throw new Error('a record of the file store is replaced, never deleted');
      const path = join(this.dir, encodeName(op.key));
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, op.value);
        if (sync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    }
    if (sync) {
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    }
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const keys = readdirSync(this.dir)
      .filter((n) => !n.endsWith('.tmp'))
      .map(decodeName)
      .filter((k) => k.startsWith(prefix))
      .sort();
    for (const k of keys) {
      const v = await this.get(k);
      if (v) yield [k, v];
    }
  }

  async close(): Promise<void> {}
}

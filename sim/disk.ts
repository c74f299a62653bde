import type { KvOp, KvStore } from '../src/store/kv.ts';
import type { Rng } from './prng.ts';

/**
 * A node's simulated disk. Like a log-structured store (LevelDB's write-ahead log), writes
 * become durable in order: a synced write makes itself and every earlier write durable; an
 * unsynced one sits in the OS cache. A crash keeps a random prefix of the unsynced writes and
 * loses the rest.
 */
export class SimDisk implements KvStore {
  private durable = new Map<string, Uint8Array>();
  private view = new Map<string, Uint8Array>();
  private unsynced: (readonly KvOp[])[] = [];
  syncedWrites = 0;

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.view.get(key);
  }

  async write(ops: readonly KvOp[], sync = true): Promise<void> {
    apply(this.view, ops);
    if (!sync) {
      this.unsynced.push(ops);
      return;
    }
    for (const batch of this.unsynced) apply(this.durable, batch);
    this.unsynced = [];
    apply(this.durable, ops);
    this.syncedWrites++;
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    for (const [k, v] of this.entriesSync(prefix)) yield [k, v];
  }

  entriesSync(prefix: string): [string, Uint8Array][] {
    return [...this.view].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async close(): Promise<void> {}

  /** The process dies: what survives is the durable state plus a random prefix of the unsynced writes. */
  crash(rng: Rng): { kept: number; lost: number } {
    const keep = rng.int(0, this.unsynced.length);
    for (const batch of this.unsynced.slice(0, keep)) apply(this.durable, batch);
    const lost = this.unsynced.length - keep;
    this.unsynced = [];
    this.view = new Map(this.durable);
    return { kept: keep, lost };
  }
}

function apply(m: Map<string, Uint8Array>, ops: readonly KvOp[]): void {
  for (const op of ops) {
    if (op.value === null) m.delete(op.key);
    else m.set(op.key, op.value);
  }
}

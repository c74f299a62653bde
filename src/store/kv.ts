import { ClassicLevel } from 'classic-level';

/** One write: a value to put, or null to delete. */
export interface KvOp {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** The storage a node needs: point reads, atomic batches, ordered prefix scans. */
export interface KvStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Applies all ops atomically; with `sync` it returns only once they are on disk. */
  write(ops: readonly KvOp[], sync?: boolean): Promise<void>;
  entries(prefix: string): AsyncIterable<[string, Uint8Array]>;
  close(): Promise<void>;
}

/**
 * The store holds bytes that are not what was written, or that contradict each other: a disk or
 * filesystem damaged them. Nothing read from it can be trusted.
 */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
}

/** LevelDB's own finding of damage (a block that fails to decompress or parse) as a StoreCorruptError. */
function levelError(e: unknown): unknown {
  return (e as { code?: string }).code === 'LEVEL_CORRUPTION' ? new StoreCorruptError(`LevelDB: ${(e as Error).message}`, { cause: e }) : e;
}

/** LevelDB through classic-level (prebuilt N-API binaries, no install scripts needed). */
export class LevelKvStore implements KvStore {
  private readonly db: ClassicLevel<string, Uint8Array>;

  private constructor(db: ClassicLevel<string, Uint8Array>) {
    this.db = db;
  }

  static async open(dir: string): Promise<LevelKvStore> {
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new LevelKvStore(db);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return (await this.db.get(key)) ?? undefined;
    } catch (e) {
      throw levelError(e);
    }
  }

  async write(ops: readonly KvOp[], sync = true): Promise<void> {
    const batch = ops.map((op) => (op.value === null ? { type: 'del' as const, key: op.key } : { type: 'put' as const, key: op.key, value: op.value }));
    await this.db.batch(batch, { sync });
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    // '\xff' sorts after every character used in our keys.
    try {
      for await (const [k, v] of this.db.iterator({ gte: prefix, lt: `${prefix}\xff` })) yield [k, v];
    } catch (e) {
      throw levelError(e);
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** In-memory store for tests and simulations. */
export class MemoryKvStore implements KvStore {
  readonly data = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key);
  }

  async write(ops: readonly KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.value === null) this.data.delete(op.key);
      else this.data.set(op.key, op.value);
    }
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const k of keys) yield [k, this.data.get(k)!];
  }

  async close(): Promise<void> {}
}
